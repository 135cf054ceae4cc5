using System.Collections;
using System.Management.Automation;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>Daemons of a session (no agent on this machine), in hosted runspaces: the session that started a daemon
/// owns it and stops it when it closes, another session sees it meanwhile, and Tab completes daemon names.</summary>
public class HerderDaemonSessionTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_daemon_ends_with_the_session_that_started_it_and_Tab_completes_its_name()
    {
        using var dir = new TempDir();
        var config = dir.File("config.yaml");
        File.WriteAllText(config, $"destination: com.example.session\nsteward:\n  data_directory: {dir.Path}/data\n");
        var parameters = new Hashtable { ["config"] = config };
        using var other = new Pwsh();
        int pid;
        using (var owner = new Pwsh())
        {
            var started = owner.Run("param($config) Start-HerderDaemon kept-alive -Command sleep, 300 -ConfigPath $config", parameters);
            Assert.False(started.HadErrors, started.ErrorText);
            pid = (int)started.Output[0].Properties["ProcessId"].Value;

            // Another session of this machine sees it, and Tab offers its name.
            var seen = other.Run("param($config) Get-HerderDaemon kept-* -ConfigPath $config", parameters);
            Assert.Equal(["Running"], seen.Output.Select(o => o.Properties["State"].Value.ToString()));
            var completed = other.Run("param($config) $line = \"Stop-HerderDaemon -ConfigPath '$config' -Name kept\"; (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText", parameters);
            Assert.Equal(["kept-alive"], completed.Output.Select(o => o.ToString()));
        }

        // The owning runspace closed: its daemon was stopped with its tree.
        using var limit = new CancellationTokenSource(Patience);
        while (File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal))
            await Task.Delay(20, limit.Token);
        var after = other.Run("param($config) Get-HerderDaemon kept-alive -ConfigPath $config", parameters);
        Assert.False(after.HadErrors, after.ErrorText);
        Assert.Equal(("Stopped", "its session ended"), (after.Output[0].Properties["State"].Value.ToString(), (string)after.Output[0].Properties["StopReason"].Value));
    }

    /// <summary>Ctrl+C on Connect-HerderDaemon detaches: the attached pipeline stops, the daemon runs on and still
    /// writes its lines for the next client.</summary>
    [Fact]
    public async Task Ctrl_C_detaches_an_attached_client_and_the_daemon_runs_on()
    {
        using var dir = new TempDir();
        var config = dir.File("config.yaml");
        File.WriteAllText(config, $"destination: com.example.detach\nsteward:\n  data_directory: {dir.Path}/data\n");
        var parameters = new Hashtable { ["config"] = config };
        using var pwsh = new Pwsh();
        var started = pwsh.Run("param($config) Start-HerderDaemon ticker -Command bash, -c, 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done' -ConfigPath $config", parameters);
        Assert.False(started.HadErrors, started.ErrorText);
        try
        {
            using (var attached = new Streaming(pwsh, "param($config) Connect-HerderDaemon ticker -ConfigPath $config", parameters))
            {
                await attached.Next(o => o.Properties["Line"].Value is string line && line.StartsWith("tick ", StringComparison.Ordinal), 60);
                attached.Stop();
                Assert.Equal(PSInvocationState.Stopped, attached.Shell.InvocationStateInfo.State);
            }
            var after = pwsh.Run("param($config) Get-HerderDaemon ticker -ConfigPath $config", parameters);
            Assert.Equal("Running", after.Output[0].Properties["State"].Value.ToString());
            // A later client still gets its new lines.
            var again = pwsh.Run("param($config) Connect-HerderDaemon ticker -Timeout 3s -ConfigPath $config", parameters);
            Assert.Contains(again.Output, o => ((string)o.Properties["Line"].Value).StartsWith("tick ", StringComparison.Ordinal));
        }
        finally
        {
            pwsh.Run("param($config) Stop-HerderDaemon ticker -ConfigPath $config -Confirm:$false", parameters);
        }
    }
}
