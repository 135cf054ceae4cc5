using System.Collections;
using System.Management.Automation;
using RemoteOps.TestSupport;
using static RemoteOps.PowerShell.Tests.SeaportEvents;

namespace RemoteOps.PowerShell.Tests;

/// <summary>A NATS server restart (its own server: the restart must not disturb other classes).</summary>
public class SeaportRestartTests(RemaphoreServerFixture nats) : IClassFixture<RemaphoreServerFixture>
{
    [Fact]
    public async Task After_a_server_restart_registrations_are_back_and_a_watcher_resumes_without_losing_or_duplicating_events()
    {
        // A timeout far beyond any restart: on a loaded machine a restart can outlast a few heartbeats, and the watcher
        // then rightly reports Expired and Registered again. This test is about events across the restart, not expiry.
        using var space = new SeaportSpace(nats.Server, heartbeat: "300ms", timeout: "60s");
        var (config, _) = space.Node("a");
        var p = new Hashtable { ["c"] = config };
        using var owner = new Pwsh();
        using var watcherSession = new Pwsh();
        Assert.False(owner.Run("param($c) Register-SeaportService keep@1.0.0 -Id keep -ConfigPath $c", p).HadErrors);
        using var watch = new Streaming(watcherSession, "param($c) Watch-SeaportService -Existing -ConfigPath $c", p);
        await watch.Next(e => ServiceId(e) == "keep" && Action(e) == "Registered");

        await nats.Server.RestartAsync();

        // The owner's heartbeats resume by themselves; a change made after the restart reaches the watcher.
        var set = owner.Run("param($c) Wait-SeaportService keep -Timeout 30 -ConfigPath $c > $null; Set-SeaportService keep -Meta @{ after = 'restart' } -ConfigPath $c", p);
        Assert.False(set.HadErrors, set.ErrorText);
        await watch.Next(e => ServiceId(e) == "keep" && Action(e) == "Updated");
        var found = owner.Run("param($c) Get-SeaportService keep -ConfigPath $c", p);
        Assert.Equal("restart", ((IDictionary)Assert.Single(found.Output).Properties["Meta"].Value)["after"]);
        Assert.False(owner.Run("param($c) Register-SeaportService late@1.0.0 -Id late -ConfigPath $c", p).HadErrors);
        await watch.Next(e => ServiceId(e) == "late" && Action(e) == "Registered");
        watch.Stop();

        Assert.Equal(["Registered", "Updated"], watch.Seen.Where(e => ServiceId(e) == "keep").Select(Action).ToList());
        Assert.Equal(["Registered"], watch.Seen.Where(e => ServiceId(e) == "late").Select(Action).ToList());
    }
}
