using System.Diagnostics;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>The systemd unit the README ships (examples/steward/remoteops-steward.service) parses: systemd's own
/// verifier accepts it. CI installs systemd-analyze; the one complaint allowed is that this machine has no
/// /usr/bin/pwsh, which the unit names as a real install would have it.</summary>
public class StewardUnitFileTests
{
    private static readonly string UnitPath = Path.Combine(Repo.Root, "examples", "steward", "remoteops-steward.service");

    [Fact]
    public async Task Systemd_analyze_verify_accepts_the_unit()
    {
        using var dir = new TempDir();
        // verify reads the unit by its file name; a copy keeps the check away from the repository.
        var unit = dir.File("remoteops-steward.service");
        File.Copy(UnitPath, unit);
        var (exitCode, said) = await VerifyAsync(unit);
        var complaints = said.Where(line => !(line.Contains("/usr/bin/pwsh is not executable") && !File.Exists("/usr/bin/pwsh"))).ToList();
        Assert.Empty(complaints);
        if (File.Exists("/usr/bin/pwsh")) Assert.Equal(0, exitCode);
    }

    [Fact]
    public async Task Systemd_analyze_rejects_a_broken_unit_so_the_check_above_can_fail()
    {
        using var dir = new TempDir();
        var unit = dir.File("broken.service");
        File.WriteAllText(unit, File.ReadAllText(UnitPath).Replace("[Service]", "[Service]\nKillMode=sometimes"));
        var (_, said) = await VerifyAsync(unit);
        Assert.Contains(said, line => line.Contains("kill mode") && line.Contains("sometimes"));
    }

    private static async Task<(int ExitCode, List<string> Said)> VerifyAsync(string unit)
    {
        var analyze = new[] { "/usr/bin/systemd-analyze", "/bin/systemd-analyze" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("systemd-analyze is not installed (.ci/run installs the systemd package).");
        var start = new ProcessStartInfo(analyze) { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add("verify");
        start.ArgumentList.Add(unit);
        using var p = Process.Start(start)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        var said = ((await stdout) + (await stderr)).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        return (p.ExitCode, said);
    }
}
