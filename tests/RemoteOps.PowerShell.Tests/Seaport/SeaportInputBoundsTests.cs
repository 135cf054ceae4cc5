using System.Collections;
using System.Management.Automation;
using System.Text;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>What the wire cannot carry is refused up front with one clear error; metadata values are converted by kind;
/// ids asked for and missing are errors; hostile values written into the bucket break no session.</summary>
public class SeaportInputBoundsTests(RemaphoreServerFixture nats) : IClassFixture<RemaphoreServerFixture>
{
    private static Hashtable P(string config, object? x = null) => new() { ["c"] = config, ["x"] = x };

    private static ErrorRecord One(PwshResult r) => Assert.Single(r.Errors);

    private static void InvalidArgument(PwshResult r, string mentions)
    {
        var e = One(r);
        Assert.StartsWith("RemoteOps.SeaportInvalidArgument,", e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, e.CategoryInfo.Category);
        Assert.Contains(mentions, e.ToString());
        Assert.DoesNotContain("   at ", e.ToString());
    }

    [Fact]
    public void Lengths_the_wire_cannot_carry_are_refused_before_anything_is_claimed_and_the_session_goes_on()
    {
        using var space = new SeaportSpace(nats.Server);
        var (config, _) = space.Node("a");
        using var pwsh = new Pwsh();
        InvalidArgument(pwsh.Run("param($c) Register-SeaportService web@1.0.0 -HostName ('h' * 5000) -ConfigPath $c", P(config)), "not a host name");
        InvalidArgument(pwsh.Run("param($c) Register-SeaportService web@1.0.0 -HostName 'a b' -ConfigPath $c", P(config)), "not a host name");
        InvalidArgument(pwsh.Run("param($c) Register-SeaportService web@1.0.0 -Meta @{ big = 'x' * 70000 } -ConfigPath $c", P(config)), "bytes");
        InvalidArgument(pwsh.Run("param($c) Register-SeaportService web@1.0.0 -Meta @{ ('k' * 300) = 1 } -ConfigPath $c", P(config)), "longer than");
        InvalidArgument(pwsh.Run("param($c) Register-SeaportService web@1.0.0 -Id ('i' * 5000) -ConfigPath $c", P(config)), "not a registration id");
        InvalidArgument(pwsh.Run("param($c) Register-SeaportService web@1.0.0 -PortName ('p' * 100) -ConfigPath $c", P(config)), "not a port name");
        InvalidArgument(pwsh.Run("param($c) Start-SeaportService web@1.0.0 -Command pwsh -Meta @{ big = 'x' * 70000 } -ConfigPath $c", P(config)), "bytes");
        Assert.StartsWith("ParameterArgumentValidationError", One(pwsh.Run("param($c) Register-SeaportService ('r' * 300 + '@1.0.0') -ConfigPath $c", P(config))).FullyQualifiedErrorId);

        // Nothing was claimed or written, and the shared connection is as good as before.
        var keys = pwsh.Run("param($c) Get-SeaportService -ConfigPath $c", P(config));
        Assert.False(keys.HadErrors, keys.ErrorText);
        Assert.Empty(keys.Output);
        var ok = pwsh.Run("param($c) Register-SeaportService web@1.0.0 -Id fits -HostName ('h' * 253) -Meta @{ note = 'x' * 1000 } -ConfigPath $c", P(config));
        Assert.False(ok.HadErrors, ok.ErrorText);
        // Set-SeaportService: a merge that would not fit is refused, and the entry is unchanged.
        InvalidArgument(pwsh.Run("param($c) Set-SeaportService fits -Meta @{ big = 'x' * 70000 } -ConfigPath $c", P(config)), "bytes");
        var listed = pwsh.Run("param($c) Get-SeaportService -Id fits -ConfigPath $c", P(config));
        Assert.False(listed.HadErrors, listed.ErrorText);
        var meta = (IDictionary)Assert.Single(listed.Output).Properties["Meta"].Value;
        Assert.Equal(["note"], meta.Keys.Cast<string>());
        pwsh.Run("param($c) Unregister-SeaportService fits -ConfigPath $c", P(config));
    }

    [Fact]
    public void Meta_values_are_strings_numbers_booleans_or_dates_in_the_invariant_culture_and_anything_else_is_refused()
    {
        using var space = new SeaportSpace(nats.Server);
        var (config, _) = space.Node("a");
        using var pwsh = new Pwsh();
        var r = pwsh.Run("""
            param($c)
            [System.Globalization.CultureInfo]::CurrentCulture = 'de-DE'
            $meta = @{ s = 'text'; n = 42; f = 1.5; b = $true; d = [datetime]::SpecifyKind([datetime]::new(2024, 1, 2, 3, 4, 5), 'Utc'); o = [datetimeoffset]::new(2024, 1, 2, 3, 4, 5, [timespan]::FromHours(2)) }
            (Register-SeaportService web@1.0.0 -Id kinds -Meta $meta -ConfigPath $c).Meta
            """, P(config));
        Assert.False(r.HadErrors, r.ErrorText);
        var meta = (IDictionary)Assert.Single(r.Output).BaseObject;
        Assert.Equal("text", meta["s"]);
        Assert.Equal("42", meta["n"]);
        Assert.Equal("1.5", meta["f"]);
        Assert.Equal("True", meta["b"]);
        Assert.Equal("2024-01-02T03:04:05.0000000Z", meta["d"]);
        Assert.Equal("2024-01-02T03:04:05.0000000+02:00", meta["o"]);

        foreach (var bad in new[] { "@{ a = 1 }", "@(1, 2)", "{ 'x' }", "[pscustomobject]@{ a = 1 }", "[guid]::NewGuid()" })
        {
            InvalidArgument(pwsh.Run($"param($c) Register-SeaportService web@1.0.0 -Meta @{{ bad = {bad} }} -ConfigPath $c", P(config)), "'bad'");
            InvalidArgument(pwsh.Run($"param($c) Set-SeaportService kinds -Meta @{{ bad = {bad} }} -ConfigPath $c", P(config)), "'bad'");
        }
        // Set converts the same way; $null still removes a key.
        var set = pwsh.Run("param($c) [System.Globalization.CultureInfo]::CurrentCulture = 'de-DE'; (Set-SeaportService kinds -Meta @{ f = 2.25; s = $null } -PassThru -ConfigPath $c).Meta", P(config));
        Assert.False(set.HadErrors, set.ErrorText);
        var updated = (IDictionary)Assert.Single(set.Output).BaseObject;
        Assert.Equal("2.25", updated["f"]);
        Assert.False(updated.Contains("s"));
        pwsh.Run("param($c) Unregister-SeaportService kinds -ConfigPath $c", P(config));
    }

    [Fact]
    public void An_id_asked_for_and_missing_is_an_ObjectNotFound_error_per_id_and_a_pattern_matching_nothing_is_silent()
    {
        using var space = new SeaportSpace(nats.Server);
        var (config, _) = space.Node("a");
        using var pwsh = new Pwsh();
        var ok = pwsh.Run("param($c) Register-SeaportService web@1.0.0 -Id here -ConfigPath $c", P(config));
        Assert.False(ok.HadErrors, ok.ErrorText);
        var r = pwsh.Run("param($c) Get-SeaportService -Id nosuch, here, other -ConfigPath $c", P(config));
        Assert.Equal("here", Assert.Single(r.Output).Properties["Id"].Value);
        Assert.Equal(2, r.Errors.Count);
        Assert.All(r.Errors, e =>
        {
            Assert.StartsWith("RemoteOps.SeaportNotFound,", e.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ObjectNotFound, e.CategoryInfo.Category);
        });
        Assert.Equal(["nosuch", "other"], r.Errors.Select(e => (string)e.TargetObject));
        // Non-terminating: the script goes on.
        var goesOn = pwsh.Run("param($c) Get-SeaportService -Id nosuch -ConfigPath $c -ErrorAction SilentlyContinue; 'after'", P(config));
        Assert.Equal("after", Assert.Single(goesOn.Output).ToString());
        var silent = pwsh.Run("param($c) Get-SeaportService 'nothing*' -ConfigPath $c; Get-SeaportService api -ConfigPath $c", P(config));
        Assert.False(silent.HadErrors, silent.ErrorText);
        Assert.Empty(silent.Output);
        pwsh.Run("param($c) Unregister-SeaportService here -ConfigPath $c", P(config));
    }

    [Fact]
    public async Task Hostile_values_in_the_bucket_break_no_session_and_hide_nothing()
    {
        using var space = new SeaportSpace(nats.Server, heartbeat: "5s");
        var (config, _) = space.Node("a");
        using var pwsh = new Pwsh();
        var first = pwsh.Run("param($c) Register-SeaportService web@1.0.0 -Id victim -ConfigPath $c", P(config));
        Assert.False(first.HadErrors, first.ErrorText);
        var port = (int)first.Output[0].Properties["Port"].Value;

        var subject = $"$KV.{space.Bucket}.s.";
        static byte[] Entry(string id, string numbers, string signer = "zzzz") => Encoding.UTF8.GetBytes(
            "3yZe7d\n{\"id\":\"" + id + "\",\"name\":\"web\",\"version\":\"1.0.0\",\"host\":\"h\",\"ports\":{},\"meta\":{},"
            + numbers + ",\"signer\":\"" + signer + "\",\"live\":true}");
        const string max = "9223372036854775807", min = "-9223372036854775808";
        await RawNats.PublishAsync(space.Url, subject + "t1", Entry("t1", $"\"port\":1,\"registered\":0,\"time\":0,\"timeout\":{max}"));
        await RawNats.PublishAsync(space.Url, subject + "t2", Entry("t2", $"\"port\":1,\"registered\":0,\"time\":{min},\"timeout\":60000"));
        await RawNats.PublishAsync(space.Url, subject + "t3", Entry("t3", $"\"port\":1,\"registered\":{max},\"time\":0,\"timeout\":60000"));
        await RawNats.PublishAsync(space.Url, subject + "t4", Entry("t4", $"\"port\":{max},\"registered\":0,\"time\":0,\"timeout\":60000"));
        await RawNats.PublishAsync(space.Url, subject + "t5", Entry("t5", "\"port\":1,\"registered\":0,\"time\":0,\"timeout\":60000", signer: "éé"));
        // Two tampered copies of the genuine entry in a row, then a third.
        await RawNats.PublishAsync(space.Url, subject + "victim", "forged\n{}"u8.ToArray(), Entry("victim", "\"port\":1,\"registered\":0,\"time\":0,\"timeout\":60000"), "junk"u8.ToArray());

        // Queries answer without an error, with the genuine entry as it was; another session too.
        var second = pwsh.Run("param($c) Register-SeaportService web@1.0.1 -Id after -ConfigPath $c", P(config));
        Assert.False(second.HadErrors, second.ErrorText);
        var all = pwsh.Run("param($c) Get-SeaportService web -ConfigPath $c", P(config), verbose: true);
        Assert.False(all.HadErrors, all.ErrorText);
        Assert.Equal(["after", "victim"], all.Output.Select(o => (string)o.Properties["Id"].Value).Order());
        Assert.Equal(port, all.Output.Single(o => (string)o.Properties["Id"].Value == "victim").Properties["Port"].Value);
        foreach (var id in new[] { "t1", "t2", "t3", "t4", "t5" }) Assert.Contains(all.Verbose, v => v.Contains("s." + id));
        using var fresh = new Pwsh();
        var other = fresh.Run("param($c) Get-SeaportService -ConfigPath $c", P(config));
        Assert.False(other.HadErrors, other.ErrorText);
        Assert.Contains("after", other.Output.Select(o => (string)o.Properties["Id"].Value));
        pwsh.Run("param($c) Unregister-SeaportService victim, after -ConfigPath $c", P(config));
    }
}
