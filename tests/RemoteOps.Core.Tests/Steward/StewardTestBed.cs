using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;
using RemoteOps.Steward;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>One steward fleet on a real nats-server, its own stream and buckets: a node, a sender allowed what the
/// test configures, a guest allowed Ping only, and a stranger no one knows. Commands are sent with the contract
/// directly (what Invoke-StewardMethod does): a Queued record signed by the sender, then the signed command.</summary>
public sealed class StewardTestBed : IAsyncDisposable
{
    public const string NodeName = "com.test.node1";
    public const string SenderName = "com.test.ops";
    public const string GuestName = "com.test.guest";

    public SigningKey NodeKey { get; } = SigningKey.Generate();
    public SigningKey SenderKey { get; } = SigningKey.Generate();
    public SigningKey GuestKey { get; } = SigningKey.Generate();
    public SigningKey StrangerKey { get; } = SigningKey.Generate();
    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("steward-data-").FullName;
    public string WorkDirectory { get; } = Directory.CreateTempSubdirectory("steward-work-").FullName;
    public RemoteOpsConfig NodeConfig { get; }
    public RemoteOpsConfig SenderConfig { get; }
    public List<StewardLogEntry> Log { get; } = [];
    private readonly List<StewardAgent> _agents = [];
    private StewardStore? _store;

    /// <param name="configure">Changes both configs' shared keys (e.g. a cluster's servers and replicas).</param>
    public StewardTestBed(string serverUrl, Func<StewardConfig, StewardConfig>? change = null, Func<RemoteOpsConfig, RemoteOpsConfig>? configure = null)
    {
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var section = new StewardConfig
        {
            Stream = "st_" + suffix, ResultsBucket = "sr_" + suffix, NodesBucket = "sn_" + suffix, DataDirectory = DataDirectory,
            HelloInterval = TimeSpan.FromSeconds(1),
            Methods = new Dictionary<StewardMethod, IReadOnlyList<string>>
            {
                [StewardMethod.Ping] = ["*"],
                [StewardMethod.Hello] = ["*"],
                [StewardMethod.CliCommand] = [SenderName],
                [StewardMethod.CliCommandCont] = [SenderName],
                [StewardMethod.TailFile] = [SenderName],
                [StewardMethod.HttpGet] = [SenderName],
                [StewardMethod.OpProcessList] = ["*"],
                [StewardMethod.OpProcessStart] = [SenderName],
                [StewardMethod.OpProcessStop] = [SenderName],
            },
        };
        section = change?.Invoke(section) ?? section;
        NodeConfig = new RemoteOpsConfig
        {
            Servers = [serverUrl], Destination = NodeName,
            Identities = [new IdentityConfig { Public = NodeKey.PublicBase58, Private = NodeKey.ExportSeedBase58(), Verbs = ["*"] }],
            DefaultIdentity = NodeKey.PublicBase58,
            Peers =
            [
                new PeerConfig { Destination = SenderName, Public = SenderKey.PublicBase58, Verbs = ["*"] },
                new PeerConfig { Destination = GuestName, Public = GuestKey.PublicBase58, Verbs = ["*"] },
            ],
            Sections = [section],
        };
        if (configure is not null) NodeConfig = configure(NodeConfig);
        SenderConfig = new RemoteOpsConfig
        {
            Servers = [serverUrl], Destination = SenderName,
            Identities = [new IdentityConfig { Public = SenderKey.PublicBase58, Private = SenderKey.ExportSeedBase58(), Verbs = ["*"] }],
            DefaultIdentity = SenderKey.PublicBase58,
            Peers =
            [
                new PeerConfig { Destination = NodeName, Public = NodeKey.PublicBase58, Verbs = ["*"] },
                new PeerConfig { Destination = GuestName, Public = GuestKey.PublicBase58, Verbs = ["*"] },
            ],
            Sections = [section],
        };
        if (configure is not null) SenderConfig = configure(SenderConfig);
    }

    /// <summary>The node's config as a YAML file, for an agent in another process.</summary>
    public string WriteNodeConfig()
    {
        var section = NodeConfig.Steward;
        var path = Path.Combine(WorkDirectory, "node.yaml");
        var methods = string.Join("\n", section.Methods.Select(m => $"    {m.Key}: {{ allowed: [{string.Join(", ", m.Value.Select(a => $"'{a}'"))}] }}"));
        File.WriteAllText(path, $"""
            servers: ['{NodeConfig.Servers[0]}']
            destination: {NodeName}
            identities:
              - public: {NodeKey.PublicBase58}
                private: {NodeKey.ExportSeedBase58()}
                verbs: ['*']
            peers:
              - destination: {SenderName}
                public: {SenderKey.PublicBase58}
                verbs: ['*']
              - destination: {GuestName}
                public: {GuestKey.PublicBase58}
                verbs: ['*']
            steward:
              stream: {section.Stream}
              results_bucket: {section.ResultsBucket}
              nodes_bucket: {section.NodesBucket}
              data_directory: {DataDirectory}
              hello_interval: 1s
              methods:
            {methods}

            """);
        return path;
    }

    /// <summary>The sender's view of the stream and buckets.</summary>
    public async Task<StewardStore> StoreAsync()
    {
        if (_store is not null) return _store;
        var connection = await ConnectionPool.GetAsync(SenderConfig);
        return _store = await StewardStore.OpenAsync(connection, SenderConfig, default);
    }

    public async Task<StewardAgent> StartAgentAsync(RemoteOpsConfig? config = null)
    {
        var agent = await StewardAgent.StartAsync(config ?? NodeConfig, null, e => { lock (Log) Log.Add(e); }, default);
        _agents.Add(agent);
        return agent;
    }

    public string LogText { get { lock (Log) return string.Join('\n', Log); } }

    public StewardCommand Command(StewardMethod method, params string[] args) => new()
    {
        MessageId = StewardSubjects.NewMessageId(), Node = NodeName, Method = method, Args = args,
        AckTimeout = TimeSpan.FromSeconds(5), Retries = 3, MethodTimeout = TimeSpan.FromSeconds(20),
        Time = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100,
    };

    /// <summary>Queues <paramref name="command"/> as a sender does: the Queued record, then the command on the node's
    /// subject. <paramref name="wire"/> replaces the signed bytes (forgeries).</summary>
    public async Task<string> SendAsync(StewardCommand command, SigningKey? signer = null, byte[]? wire = null)
    {
        signer ??= SenderKey;
        var store = await StoreAsync();
        var created = DateTimeOffset.FromUnixTimeMilliseconds(command.Time / 1_000_000);
        var record = new StewardRecord
        {
            MessageId = command.MessageId, Node = command.Node, Method = command.Method, Sender = signer.PublicBase58,
            Status = StewardStatus.Queued, Created = created, Updated = created,
            Expires = created + command.AckTimeout * (command.Retries + 1),
        };
        await store.TryCreateAsync(record, signer, default);
        await store.PublishCommandAsync(command, wire ?? StewardCodec.Encode(command, signer), default);
        return command.MessageId;
    }

    public Task<string> SendAsync(StewardMethod method, params string[] args) => SendAsync(Command(method, args));

    /// <summary>Publishes raw bytes on the node's subject (no record, no de-duplication id).</summary>
    public async Task PublishRawAsync(byte[] bytes)
    {
        var store = await StoreAsync();
        var ack = await store.JetStream.PublishAsync(store.Subjects.Command(NodeName), bytes);
        ack.EnsureSuccess();
    }

    /// <summary>The record of <paramref name="id"/> once it satisfies <paramref name="until"/> (default: final).</summary>
    public async Task<StewardRecord> AwaitAsync(string id, Func<StewardRecord, bool>? until = null, int seconds = 60)
    {
        until ??= r => StewardStatuses.IsFinal(r.Status);
        var store = await StoreAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        try
        {
            await foreach (var r in store.WatchAsync(includeCurrent: true, limit.Token))
                if (r is { Valid: true, Record: { } record } && record.MessageId == id && until(record)) return record;
        }
        catch (OperationCanceledException) { }
        var last = await store.GetAsync(id, default);
        throw new TimeoutException($"{id}: not there within {seconds}s; last {last?.Record?.Status} {last?.Problem}. Agent log:\n{LogText}");
    }

    public async Task<IReadOnlyList<StewardChunk>> ChunksAsync(string id, long count)
    {
        var store = await StoreAsync();
        var list = new List<StewardChunk>();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await foreach (var c in store.ReadChunksAsync(NodeName, id, 0, limit.Token))
        {
            list.Add(c);
            if (list.Count >= count) break;
        }
        return list;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var a in _agents) await a.DisposeAsync();
        try { Directory.Delete(DataDirectory, true); } catch (IOException) { }
        try { Directory.Delete(WorkDirectory, true); } catch (IOException) { }
    }
}
