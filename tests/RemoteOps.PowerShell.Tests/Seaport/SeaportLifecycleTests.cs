using System.Collections;
using System.Management.Automation;
using RemoteOps.TestSupport;
using static RemoteOps.PowerShell.Tests.SeaportEvents;

namespace RemoteOps.PowerShell.Tests;

/// <summary>Watch events, expiry of a killed owner, server restart, concurrency.</summary>
public class SeaportLifecycleTests(RemaphoreServerFixture nats) : IClassFixture<RemaphoreServerFixture>
{
    [Fact]
    public async Task Watch_reports_Registered_Updated_and_Freed_in_order()
    {
        using var space = new SeaportSpace(nats.Server);
        var (config, _) = space.Node("a");
        using var watcherSession = new Pwsh();
        using var actor = new Pwsh();
        var p = new Hashtable { ["c"] = config };
        Assert.False(actor.Run("param($c) Register-SeaportService sentinel@1.0.0 -Id sentinel -ConfigPath $c", p).HadErrors);
        using var watch = new Streaming(watcherSession, "param($c) Watch-SeaportService -Existing -ConfigPath $c", p);
        await watch.Next(e => ServiceId(e) == "sentinel" && Action(e) == "Registered");

        var reg = actor.Run("param($c) Register-SeaportService db@2.0.0 -Id db1 -ConfigPath $c", p);
        Assert.False(reg.HadErrors, reg.ErrorText);
        await watch.Next(e => ServiceId(e) == "db1" && Action(e) == "Registered");
        var set = actor.Run("param($c) Set-SeaportService db1 -Meta @{ role = 'primary' } -PassThru -ConfigPath $c", p);
        Assert.False(set.HadErrors, set.ErrorText);
        Assert.Equal("primary", ((IDictionary)set.Output[0].Properties["Meta"].Value)["role"]);
        var updated = await watch.Next(e => ServiceId(e) == "db1" && Action(e) == "Updated");
        Assert.Equal("primary", ((IDictionary)((PSObject)PSObject.AsPSObject(updated.Properties["Service"].Value)).Properties["Meta"].Value)["role"]);
        Assert.False(actor.Run("param($c) Unregister-SeaportService db1 -ConfigPath $c", p).HadErrors);
        await watch.Next(e => ServiceId(e) == "db1" && Action(e) == "Freed");

        // Heartbeats (many by now at 200 ms) are not events; each change is reported once.
        var db = watch.Seen.Where(e => ServiceId(e) == "db1").Select(Action).ToList();
        Assert.Equal(["Registered", "Updated", "Freed"], db);
        watch.Stop();
        Assert.False(actor.Run("param($c) Unregister-SeaportService sentinel -ConfigPath $c", p).HadErrors);
    }

    [Fact]
    public async Task A_registering_process_killed_with_SIGKILL_expires_and_watchers_see_Expired()
    {
        using var space = new SeaportSpace(nats.Server, heartbeat: "200ms", timeout: "1s");
        var (config, _) = space.Node("a");
        using var session = new Pwsh();
        var p = new Hashtable { ["c"] = config };
        using var owner = new HostProcess($"Register-SeaportService doomed@1.0.0 -Id doomed -ConfigPath '{config}' | ForEach-Object {{ 'registered ' + $_.Port }}; [System.Threading.Thread]::Sleep(600000)");
        await owner.LineContaining("registered ");
        var found = session.Run("param($c) Wait-SeaportService doomed -Timeout 20 -ConfigPath $c", p);
        Assert.False(found.HadErrors, found.ErrorText);
        using var watch = new Streaming(session, "param($c) Watch-SeaportService doomed -Existing -ConfigPath $c", p);
        await watch.Next(e => Action(e) == "Registered");

        owner.KillHard();
        var expired = await watch.Next(e => Action(e) == "Expired");
        Assert.Equal("doomed", ServiceId(expired));
        Assert.DoesNotContain(watch.Seen, e => Action(e) == "Freed");
        using var other = new Pwsh();
        Assert.Empty(other.Run("param($c) Get-SeaportService doomed -ConfigPath $c", p).Output);
        watch.Stop();
        Assert.Single(watch.Seen, e => Action(e) == "Expired");
    }

    [Fact]
    public async Task Closing_the_session_that_registered_frees_its_registrations()
    {
        using var space = new SeaportSpace(nats.Server, heartbeat: "5s");
        var (config, _) = space.Node("a");
        var p = new Hashtable { ["c"] = config };
        using var watcherSession = new Pwsh();
        using var watch = new Streaming(watcherSession, "param($c) Watch-SeaportService session -Existing -ConfigPath $c", p);
        var owner = new Pwsh();
        try
        {
            var r = owner.Run("param($c) Register-SeaportService session@1.0.0 -Id bysession -ConfigPath $c", p);
            Assert.False(r.HadErrors, r.ErrorText);
            await watch.Next(e => ServiceId(e) == "bysession" && Action(e) == "Registered");
        }
        finally { owner.Dispose(); }
        // Freed at once (a 15 s timeout would be needed before Expired).
        await watch.Next(e => ServiceId(e) == "bysession" && Action(e) == "Freed");
        watch.Stop();
        Assert.DoesNotContain(watch.Seen, e => Action(e) == "Expired");
    }

    [Fact]
    public void Fifty_concurrent_registrations_on_one_host_get_fifty_distinct_bindable_ports()
    {
        using var space = new SeaportSpace(nats.Server, heartbeat: "5s");
        var configs = Enumerable.Range(0, 5).Select(i => space.Node("n" + i).ConfigPath).ToList();
        var sessions = configs.Select(_ => new Pwsh()).ToList();
        try
        {
            // Five sessions (each with its own connection and index) register ten each, at the same time, from a
            // deliberately small range so that collisions are likely.
            var results = sessions.AsParallel().WithDegreeOfParallelism(5).Select((s, i) => s.Run(
                "param($c) 1..10 | ForEach-Object { Register-SeaportService \"svc$_@1.0.0\" -Range 24000,24079 -ConfigPath $c }",
                new Hashtable { ["c"] = configs[i] })).ToList();
            foreach (var r in results) Assert.False(r.HadErrors, r.ErrorText);
            var ports = results.SelectMany(r => r.Output).Select(o => (int)o.Properties["Port"].Value).ToList();
            Assert.Equal(50, ports.Count);
            Assert.Equal(50, ports.Distinct().Count());
            foreach (var port in ports)
            {
                using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Any, port);
                listener.Start(); // throws if not bindable
            }
            var all = sessions[0].Run("param($c) Get-SeaportService -ConfigPath $c", new Hashtable { ["c"] = configs[0] });
            Assert.Equal(50, all.Output.Count);
            sessions[0].Run("param($c) Get-SeaportService -ConfigPath $c | Unregister-SeaportService -ConfigPath $c", new Hashtable { ["c"] = configs[0] });
        }
        finally { foreach (var s in sessions) s.Dispose(); }
    }
}
