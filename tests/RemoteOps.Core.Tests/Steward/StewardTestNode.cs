using RemoteOps.Config;
using RemoteOps.Core.Tests.Remaphore;
using RemoteOps.Identity;
using RemoteOps.Steward;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>A steward fleet of configs on one nats-server: a sender (central) and nodes, each with its own identity,
/// each a peer of the other, with their own stream and buckets so tests never meet.</summary>
public sealed class StewardFleet(NatsFixture nats)
{
    public SigningKey CentralKey { get; } = SigningKey.Generate();
    public const string Central = "com.acme.central";
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..10];
    private readonly Dictionary<string, SigningKey> _nodes = new(StringComparer.Ordinal);

    public StewardConfig Section(TimeSpan? ack = null, int retries = 3) => new()
    {
        Stream = "st_" + _suffix, ResultsBucket = "sr_" + _suffix, NodesBucket = "sn_" + _suffix,
        AckTimeout = ack ?? TimeSpan.FromSeconds(5), Retries = retries, DataDirectory = null,
    };

    public SigningKey NodeKey(string node)
    {
        if (!_nodes.TryGetValue(node, out var key)) _nodes[node] = key = SigningKey.Generate();
        return key;
    }

    /// <summary>The sender's config: its identity, every node (so far) a peer.</summary>
    public RemoteOpsConfig SenderConfig(TimeSpan? ack = null, int retries = 3) => new RemoteOpsConfig
    {
        Servers = [nats.Server.Url],
        Destination = Central,
        Identities = [new IdentityConfig { Public = CentralKey.PublicBase58, Private = CentralKey.ExportSeedBase58(), Verbs = ["*"] }],
        DefaultIdentity = CentralKey.PublicBase58,
        Peers = _nodes.Select(n => new PeerConfig { Destination = n.Key, Public = n.Value.PublicBase58 }).ToArray(),
    }.WithSection(Section(ack, retries));

    /// <summary>A node's config: its identity, the sender a peer.</summary>
    public RemoteOpsConfig NodeConfig(string node) => new RemoteOpsConfig
    {
        Servers = [nats.Server.Url],
        Destination = node,
        Identities = [new IdentityConfig { Public = NodeKey(node).PublicBase58, Private = NodeKey(node).ExportSeedBase58(), Verbs = ["*"] }],
        DefaultIdentity = NodeKey(node).PublicBase58,
        Peers = [new PeerConfig { Destination = Central, Public = CentralKey.PublicBase58 }],
    }.WithSection(Section());

    public async Task<StewardTestNode> NodeAsync(string node)
    {
        var config = NodeConfig(node);
        var connection = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts { Url = nats.Server.Url });
        var store = await StewardStore.OpenAsync(connection, config, default);
        return new StewardTestNode(store, NodeKey(node), node, connection);
    }
}

/// <summary>Plays a node agent's part in the results bucket and the stream: takes a record Queued → Delivered → Running
/// → final (compare-and-set, signed by the node) and publishes output chunks. The real agent is tested on its own.</summary>
public sealed class StewardTestNode(StewardStore store, SigningKey key, string name, NATS.Client.Core.NatsConnection connection) : IAsyncDisposable
{
    public string Name => name;
    public SigningKey Key => key;
    public StewardStore Store => store;

    /// <summary>Moves the record to <paramref name="change"/>(record); null when someone else moved it first.</summary>
    public async Task<StewardRecord?> MoveAsync(string id, Func<StewardRecord, StewardRecord> change)
    {
        var stored = await store.GetAsync(id, default) ?? throw new InvalidOperationException($"no record {id}");
        Assert.True(stored.Valid, stored.Problem);
        var next = change(stored.Record!) with { Updated = DateTimeOffset.UtcNow };
        return await store.TryMoveAsync(stored.Record!, stored.Revision, next, key, default) is null ? null : next;
    }

    public async Task DeliverAsync(string id)
    {
        Assert.NotNull(await MoveAsync(id, r => r with { Status = StewardStatus.Delivered, Attempts = r.Attempts + 1 }));
        Assert.NotNull(await MoveAsync(id, r => r with { Status = StewardStatus.Running, Started = DateTimeOffset.UtcNow }));
    }

    public async Task FinishAsync(string id, StewardStatus status, string output = "", int? exitCode = 0, string error = "", long chunks = 0) =>
        Assert.NotNull(await MoveAsync(id, r => r with
        {
            Status = status, Output = output, ExitCode = exitCode, Error = error, Finished = DateTimeOffset.UtcNow, Chunks = chunks,
        }));

    public Task ChunkAsync(string id, long sequence, string line) =>
        store.PublishChunkAsync(new StewardChunk { MessageId = id, Node = name, Sequence = sequence, Line = line, Time = DateTimeOffset.UtcNow }, key, default);

    public Task RegisterAsync(DateTimeOffset lastSeen) => RegisterAsync(name, key, lastSeen);

    public Task RegisterAsync(string nodeName, SigningKey nodeKey, DateTimeOffset lastSeen) =>
        store.PutNodeAsync(new StewardNodeRecord
        {
            Name = nodeName, PublicKey = nodeKey.PublicBase58, Started = lastSeen, LastSeen = lastSeen, Interval = TimeSpan.FromSeconds(30),
        }, nodeKey, default);

    public ValueTask DisposeAsync() => connection.DisposeAsync();
}
