using System.Runtime.InteropServices;
using RemoteOps.Core.Tests.Remaphore;
using RemoteOps.Identity;
using RemoteOps.Messaging;
using RemoteOps.Steward;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>Get-StewardNode's core: the registry as the agents' hellos fill it, online and offline nodes, -Stale, a name
/// or a pattern, and hellos nobody may have written dropped.</summary>
public class StewardInventoryTests(NatsFixture nats) : IClassFixture<NatsFixture>
{
    [Fact]
    public async Task A_running_agents_hello_carries_what_the_issue_lists_and_shows_it_online()
    {
        await using var bed = new StewardTestBed(nats.Server.Url);
        var agent = await bed.StartAgentAsync();
        var store = await bed.StoreAsync();

        var node = Assert.Single(await StewardInventory.GetNodesAsync(store, StewardTestBed.NodeName, false, DateTimeOffset.UtcNow, default));
        Assert.Equal(StewardTestBed.NodeName, node.Name);
        Assert.Equal(bed.NodeKey.PublicBase58, node.PublicKey);
        Assert.True(node.Online);
        Assert.Equal(typeof(StewardAgent).Assembly.GetName().Version!.ToString(), node.Version);
        Assert.Equal(RuntimeInformation.OSDescription, node.OS);
        Assert.Equal(RuntimeInformation.OSArchitecture.ToString(), node.Architecture);
        Assert.Equal(bed.NodeConfig.Steward.Methods.Keys.Select(m => m.ToString()).Order(StringComparer.Ordinal), node.Methods);
        Assert.Equal([StewardTestBed.SenderName], node.AllowedSenders["CliCommand"]);
        Assert.Equal(["*"], node.AllowedSenders["Ping"]);
        Assert.Equal(TimeSpan.FromSeconds(1), node.Interval);
        Assert.True(node.Started <= node.LastSeen);
        Assert.Null(node.LastCommand);

        // A command received: the next hello carries its time.
        await bed.AwaitAsync(await bed.SendAsync(StewardMethod.Ping));
        var seen = await WaitForAsync(store, n => n.LastCommand is not null);
        Assert.True(seen.LastCommand >= node.Started);
        Assert.Equal(agent.PublicKey, seen.PublicKey);
    }

    [Fact]
    public async Task A_node_whose_hellos_stopped_is_listed_offline_and_Stale_keeps_only_it()
    {
        await using var bed = new StewardTestBed(nats.Server.Url);
        await bed.StartAgentAsync();
        var store = await bed.StoreAsync();
        var now = DateTimeOffset.UtcNow;
        // The guest's node: its last hello is four of its 10 s intervals old (three is the limit).
        await store.PutNodeAsync(Record(StewardTestBed.GuestName, bed.GuestKey, now - TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(10)), bed.GuestKey, default);
        // A node that said hello 25 s ago at a 10 s interval is still online (within three intervals).
        await store.PutNodeAsync(Record(StewardTestBed.SenderName, bed.SenderKey, now - TimeSpan.FromSeconds(25), TimeSpan.FromSeconds(10)), bed.SenderKey, default);

        var all = await StewardInventory.GetNodesAsync(store, null, false, now, default);
        Assert.Equal([StewardTestBed.GuestName, StewardTestBed.NodeName, StewardTestBed.SenderName], all.Select(n => n.Name));
        Assert.False(all.Single(n => n.Name == StewardTestBed.GuestName).Online);
        Assert.True(all.Single(n => n.Name == StewardTestBed.SenderName).Online);

        var stale = await StewardInventory.GetNodesAsync(store, null, true, now, default);
        Assert.Equal([StewardTestBed.GuestName], stale.Select(n => n.Name));
        Assert.Equal(["com.test.guest", "com.test.node1", "com.test.ops"], (await StewardInventory.GetNodesAsync(store, "com.test.*", false, now, default)).Select(n => n.Name));
        Assert.Empty(await StewardInventory.GetNodesAsync(store, "com.other.**", false, now, default));
    }

    [Fact]
    public async Task A_hello_signed_by_a_stranger_or_by_another_peer_is_dropped()
    {
        await using var bed = new StewardTestBed(nats.Server.Url);
        var store = await bed.StoreAsync();
        var now = DateTimeOffset.UtcNow;
        await store.PutNodeAsync(Record("com.test.stranger", bed.StrangerKey, now, TimeSpan.FromSeconds(10)), bed.StrangerKey, default);
        // The guest writes a hello in the node's name (its own key in the record): not the node's key, dropped.
        await store.PutNodeAsync(Record(StewardTestBed.NodeName, bed.GuestKey, now, TimeSpan.FromSeconds(10)), bed.GuestKey, default);
        Assert.Empty(await StewardInventory.GetNodesAsync(store, null, false, now, default));
        await Assert.ThrowsAsync<StewardNodeNotFoundException>(() => StewardInventory.GetNodesAsync(store, "com.test.stranger", false, now, default));
    }

    [Fact]
    public async Task A_bad_name_or_pattern_throws_the_documented_exceptions()
    {
        await using var bed = new StewardTestBed(nats.Server.Url);
        var store = await bed.StoreAsync();
        await Assert.ThrowsAsync<StewardArgumentException>(() => StewardInventory.GetNodesAsync(store, "com.a.>", false, DateTimeOffset.UtcNow, default));
        await Assert.ThrowsAsync<DestinationPatternException>(() => StewardInventory.GetNodesAsync(store, "com.**.a", false, DateTimeOffset.UtcNow, default));
        await Assert.ThrowsAsync<StewardNodeNotFoundException>(() => StewardInventory.GetNodesAsync(store, "com.test.nobody", false, DateTimeOffset.UtcNow, default));
    }

    private static StewardNodeRecord Record(string name, SigningKey key, DateTimeOffset lastSeen, TimeSpan interval) => new()
    {
        Name = name, PublicKey = key.PublicBase58, Started = lastSeen - TimeSpan.FromHours(1), LastSeen = lastSeen, Interval = interval,
        Methods = new Dictionary<string, IReadOnlyList<string>> { ["Ping"] = ["*"] },
    };

    private static async Task<StewardNode> WaitForAsync(StewardStore store, Func<StewardNode, bool> until)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var node = (await StewardInventory.GetNodesAsync(store, StewardTestBed.NodeName, false, DateTimeOffset.UtcNow, timeout.Token)).Single();
            if (until(node)) return node;
            await Task.Delay(100, timeout.Token);
        }
    }
}
