using RemoteOps.Herder;
using RemoteOps.Messaging;
using RemoteOps.Processes;
using RemoteOps.Steward;
using RemoteOps.Core.Tests.Steward;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Herder;

/// <summary>Golems on another node: every operation as steward's HerderGolem method to a real agent on a real
/// nats-server; the agent owns the golem.</summary>
[Collection(HerderGolemTests.GolemCollection)]
public sealed class HerderGolemRemoteTests : IAsyncLifetime
{
    private NatsServer _server = null!;
    private StewardTestBed _bed = null!;
    private TestPages _pages = null!;

    public async Task InitializeAsync()
    {
        _pages = new TestPages(new Dictionary<string, string> { ["/page.html"] = TestPages.GolemPage });
        _server = await NatsServer.StartAsync();
        _bed = new StewardTestBed(_server.Url, s => s with
        {
            Methods = new Dictionary<StewardMethod, IReadOnlyList<string>>(s.Methods) { [StewardMethod.HerderGolem] = [StewardTestBed.SenderName] },
        });
        // The node's herder section: generous, the machine is shared and Chromium starts slowly under load.
        await _bed.StartAgentAsync(_bed.NodeConfig with { Sections = [.. _bed.NodeConfig.Sections, new HerderConfig { MaxTimeout = TimeSpan.FromMinutes(2) }] });
    }

    public async Task DisposeAsync()
    {
        foreach (var g in HerderGolemHerd.OfNode(StewardTestBed.NodeName).List()) await HerderGolemHerd.OfNode(StewardTestBed.NodeName).StopAsync(g.Name);
        await _bed.DisposeAsync();
        await ConnectionPool.DisconnectAsync(_bed.SenderConfig);
        await _server.DisposeAsync();
        await _pages.DisposeAsync();
    }

    [Fact]
    public async Task A_golem_on_the_node_starts_evaluates_lists_and_stops()
    {
        var config = _bed.SenderConfig;
        var node = StewardTestBed.NodeName;
        var golem = await HerderGolemRemote.StartAsync(config, node, _pages.Url("/page.html"), "remote", CancellationToken.None);
        Assert.Equal(("remote", node, true), (golem.Name, golem.Node, golem.Bootstrapped));
        Assert.Equal("\"Golem test (golem)\"", await HerderGolemRemote.EvaluateAsync(config, node, "remote", "document.title", TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.Equal("42", await HerderGolemRemote.EvaluateAsync(config, node, "remote", "window.bootstrapped", TimeSpan.FromMinutes(1), CancellationToken.None));
        // The node's refusals come back with their own ids.
        var thrown = await Assert.ThrowsAsync<HerderException>(() => HerderGolemRemote.EvaluateAsync(config, node, "remote", "throw new Error('far boom')", TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.Equal(HerderFailure.ScriptError, thrown.Failure);
        Assert.StartsWith($"Node {node}: Golem remote: Error: far boom", thrown.Message);
        var duplicate = await Assert.ThrowsAsync<HerderException>(() => HerderGolemRemote.StartAsync(config, node, _pages.Url("/page.html"), "remote", CancellationToken.None));
        Assert.Equal(HerderFailure.GolemExists, duplicate.Failure);
        var listed = Assert.Single(await HerderGolemRemote.ListAsync(config, node, CancellationToken.None));
        Assert.Equal(("remote", node, golem.ProcessId), (listed.Name, listed.Node, listed.ProcessId));
        // The agent owns it: it is in the agent's herd, not the session's.
        Assert.DoesNotContain(HerderGolemHerd.Session.List(), g => g.Name == "remote");
        var stopped = await HerderGolemRemote.StopAsync(config, node, "remote", CancellationToken.None);
        Assert.Equal("remote", stopped.Name);
        Assert.Empty(await HerderGolemRemote.ListAsync(config, node, CancellationToken.None));
        Assert.False(ProcTable.Read().IsAlive(golem.ProcessId));
        var gone = await Assert.ThrowsAsync<HerderException>(() => HerderGolemRemote.StopAsync(config, node, "remote", CancellationToken.None));
        Assert.Equal(HerderFailure.GolemNotFound, gone.Failure);
    }

    [Fact]
    public async Task A_sender_not_allowed_HerderGolem_is_denied_and_nothing_starts()
    {
        var guest = _bed.SenderConfig with
        {
            Destination = StewardTestBed.GuestName,
            Identities = [new RemoteOps.Config.IdentityConfig { Public = _bed.GuestKey.PublicBase58, Private = _bed.GuestKey.ExportSeedBase58(), Verbs = ["*"] }],
            DefaultIdentity = _bed.GuestKey.PublicBase58,
        };
        var e = await Assert.ThrowsAsync<HerderException>(() => HerderGolemRemote.StartAsync(guest, StewardTestBed.NodeName, _pages.Url("/page.html"), "guest", CancellationToken.None));
        Assert.Equal(HerderFailure.RemoteFailed, e.Failure);
        Assert.Contains("Denied", e.Message);
        Assert.DoesNotContain(HerderGolemHerd.OfNode(StewardTestBed.NodeName).List(), g => g.Name == "guest");
        // Bad input never leaves the sender.
        Assert.Equal(HerderFailure.InvalidUrl, (await Assert.ThrowsAsync<HerderException>(() => HerderGolemRemote.StartAsync(_bed.SenderConfig, StewardTestBed.NodeName, "nope", null, CancellationToken.None))).Failure);
    }
}
