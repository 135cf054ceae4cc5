using System.Collections.Concurrent;
using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;
using RemoteOps.Steward;
using RemoteOps.TestSupport;
using Xunit.Abstractions;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>The NATS permissions the README documents (examples/steward/nats-permissions.conf), on a real server: a
/// node pulls from its own consumer, writes results, its own presence and output chunks; it sends no command and
/// pulls from no other node's consumer. The operator sends commands and reads everything.</summary>
public sealed class StewardPermissionTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Web1 = "com.acme.web1", Web2 = "com.acme.web2";
    /// <summary>A bound on waiting for the server's answer; never reached unless something is broken.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private NatsServer _server = null!;
    private readonly TempDir _dir = new();
    private readonly List<NatsConnection> _connections = [];
    private readonly ConcurrentQueue<string> _errors = new();

    public async Task InitializeAsync() =>
        _server = await NatsServer.StartAsync(File.ReadAllText(Path.Combine(Repo.Root, "examples", "steward", "nats-permissions.conf")));

    public async Task DisposeAsync()
    {
        foreach (var c in _connections) await c.DisposeAsync();
        await _server.DisposeAsync();
        _dir.Dispose();
    }

    private sealed record User(RemoteOpsConfig Config, NatsConnection Connection, SigningKey Key, ConcurrentQueue<string> Refusals);

    private async Task<User> ConnectAsync(string user, string destination, string? inboxPrefix = null)
    {
        var key = SigningKey.Generate();
        var config = ConfigLoader.Parse($"""
            servers: [{_server.Url}]
            user: {user}
            password: {user}-secret
            destination: {destination}
            {(inboxPrefix is null ? "" : "inbox_prefix: " + inboxPrefix)}
            default_identity: {key.PublicBase58}
            identities:
              - public: {key.PublicBase58}
                private: {key.ExportSeedBase58()}
                verbs: ["*"]
            """, _dir.File(user + ".yaml"));
        var connection = new NatsConnection(ConnectionPool.BuildOptions(config) with { RequestTimeout = Bound });
        var refusals = new ConcurrentQueue<string>();
        connection.ServerError += (_, e) =>
        {
            refusals.Enqueue(e.Error);
            _errors.Enqueue(user + ": " + e.Error);
            output.WriteLine($"{user}: {e.Error}");
            return default;
        };
        await connection.ConnectAsync();
        _connections.Add(connection);
        return new User(config, connection, key, refusals);
    }

    /// <summary>Publishes <paramref name="subject"/> as <paramref name="user"/> and waits for the server's permissions
    /// violation naming it (it comes after the server has dropped the message).</summary>
    private static async Task AssertRefusedAsync(User user, string subject, byte[]? payload = null, string? replyTo = null)
    {
        var before = user.Refusals.Count;
        await user.Connection.PublishAsync(subject, payload ?? [], replyTo: replyTo);
        // A PING round trip orders us after the server's handling of the publish, and so after its -ERR.
        await user.Connection.PingAsync();
        var deadline = Task.Delay(Bound);
        while (!user.Refusals.Skip(before).Any(e => e.Contains("Permissions Violation", StringComparison.OrdinalIgnoreCase) && e.Contains(subject, StringComparison.Ordinal)))
        {
            if (deadline.IsCompleted) Assert.Fail($"'{subject}' was not refused; server errors: {string.Join(" | ", user.Refusals)}");
            await user.Connection.PingAsync();
        }
    }

    private static async Task<ulong> PendingAsync(NatsJSContext js, string consumer) =>
        (await js.GetConsumerAsync(Names.Stream, consumer)).Info.NumPending;

    private static StewardSubjects Names => new("steward", "steward_results", "steward_nodes");

    private static ConsumerConfig NodeConsumer(string node) => new(StewardSubjects.ConsumerName(node))
    {
        DurableName = StewardSubjects.ConsumerName(node),
        FilterSubject = Names.Command(node),
        AckPolicy = ConsumerConfigAckPolicy.Explicit,
        DeliverPolicy = ConsumerConfigDeliverPolicy.All,
    };

    [Fact]
    public void The_file_names_the_consumers_StewardSubjects_derives()
    {
        var text = File.ReadAllText(Path.Combine(Repo.Root, "examples", "steward", "nats-permissions.conf"));
        foreach (var node in new[] { Web1, Web2 })
        {
            Assert.Contains($"$JS.API.CONSUMER.MSG.NEXT.steward.{StewardSubjects.ConsumerName(node)}\"", text);
            Assert.Contains($"$JS.API.CONSUMER.CREATE.steward.{StewardSubjects.ConsumerName(node)}.{Names.Command(node)}\"", text);
            Assert.Contains($"$KV.steward_nodes.{StewardStore.NodeKey(node)}\"", text);
        }
    }

    [Fact]
    public async Task A_node_serves_its_own_queue_and_nothing_else()
    {
        var op = await ConnectAsync("operator", "com.acme.central");
        var opStore = await StewardStore.OpenAsync(op.Connection, op.Config, default);
        var opJs = opStore.JetStream;

        // The operator queues one command for each node; web2's consumer exists (its agent ran once).
        foreach (var node in new[] { Web1, Web2 })
            (await opJs.PublishAsync(Names.Command(node), Encoding.UTF8.GetBytes("command for " + node))).EnsureSuccess();
        await opJs.CreateOrUpdateConsumerAsync(Names.Stream, NodeConsumer(Web2));

        // ---- web1: what it may do, through the same client calls the agent makes ----
        var web1 = await ConnectAsync("web1", Web1, "_INBOX_web1");
        var store = await StewardStore.OpenAsync(web1.Connection, web1.Config, default);
        var consumer = await store.JetStream.CreateOrUpdateConsumerAsync(Names.Stream, NodeConsumer(Web1));
        consumer = await store.JetStream.GetConsumerAsync(Names.Stream, StewardSubjects.ConsumerName(Web1));
        var pulled = await consumer.NextAsync<byte[]>(opts: new NatsJSNextOpts { Expires = Bound });
        Assert.NotNull(pulled);
        Assert.Equal("command for " + Web1, Encoding.UTF8.GetString(pulled.Data!));
        await pulled.AckAsync(new AckOpts { DoubleAck = true });
        var info = (await opJs.GetConsumerAsync(Names.Stream, StewardSubjects.ConsumerName(Web1))).Info;
        Assert.Equal(0L, (long)info.NumPending);
        Assert.Equal(0L, (long)info.NumAckPending);

        // Reply notices of the -NoWait messages it sent: it hears its own, and may announce to any sender's node.
        await using (var notices = await web1.Connection.SubscribeCoreAsync<byte[]>(Names.ReplyNotice(Web1)))
        {
            await web1.Connection.PingAsync();
            await web1.Connection.PublishAsync(Names.ReplyNotice(Web1), Encoding.ASCII.GetBytes("m1"));
            using var heard = new CancellationTokenSource(Bound);
            Assert.Equal("m1", Encoding.ASCII.GetString((await notices.Msgs.ReadAsync(heard.Token)).Data!));
        }

        // Results: create and compare-and-set, then read back.
        var record = new StewardRecord
        {
            MessageId = StewardSubjects.NewMessageId(), Node = Web1, Method = StewardMethod.Ping, Sender = op.Key.PublicBase58,
            Status = StewardStatus.Queued, Created = DateTimeOffset.UtcNow, Updated = DateTimeOffset.UtcNow, Expires = DateTimeOffset.UtcNow.AddMinutes(1),
        };
        Assert.NotNull(await opStore.TryCreateAsync(record, op.Key, default));
        var queued = await store.Results.GetEntryAsync<byte[]>(record.MessageId);
        var delivered = record with { Status = StewardStatus.Delivered, Attempts = 1 };
        Assert.NotNull(await store.TryMoveAsync(record, queued.Revision, delivered, web1.Key, default));
        Assert.Contains("Delivered", Encoding.UTF8.GetString((await opStore.Results.GetEntryAsync<byte[]>(record.MessageId)).Value!));

        // Its own presence, and output chunks.
        await store.PutNodeAsync(new StewardNodeRecord
        {
            Name = Web1, PublicKey = web1.Key.PublicBase58, Started = DateTimeOffset.UtcNow, LastSeen = DateTimeOffset.UtcNow, Interval = TimeSpan.FromSeconds(30),
        }, web1.Key, default);
        Assert.True((await opStore.Nodes.GetEntryAsync<byte[]>(StewardStore.NodeKey(Web1))).Value!.Length > 0);
        // Reading the registry (a watch: an ordered consumer delivering to its own inbox) and a results record.
        Assert.Contains(await store.ListNodesAsync(default), n => n.Name == Web1);
        var stored = (await store.GetAsync(record.MessageId, default))!.Value;
        Assert.True(stored.Valid, stored.Problem);
        Assert.Equal(StewardStatus.Delivered, stored.Record!.Status);
        // The operator hears the chunk live (the sender's fast path) as well as finding it in the stream.
        await using var live = await op.Connection.SubscribeCoreAsync<byte[]>(Names.Output(record.MessageId));
        await op.Connection.PingAsync();
        await store.PublishChunkAsync(new StewardChunk { MessageId = record.MessageId, Node = Web1, Sequence = 1, Line = "out", Time = DateTimeOffset.UtcNow }, web1.Key, default);
        using (var heard = new CancellationTokenSource(Bound))
        {
            Assert.True(SignedJson.TryOpen<StewardChunk>((await live.Msgs.ReadAsync(heard.Token)).Data!, StewardChunk.Domain, 1 << 20, out var liveChunk, out var signer, out var problem), problem);
            Assert.Equal(("out", web1.Key.PublicBase58), (liveChunk.Line, signer));
        }
        // It hears the record's writes live too (the fast path of waiting for one message).
        await using var status = await op.Connection.SubscribeCoreAsync<byte[]>($"$KV.steward_results.{record.MessageId}");
        await op.Connection.PingAsync();
        Assert.NotNull(await store.TryMoveAsync(stored.Record!, stored.Revision, stored.Record! with { Status = StewardStatus.Running, Started = DateTimeOffset.UtcNow }, web1.Key, default));
        using (var heard = new CancellationTokenSource(Bound))
        {
            Assert.True(SignedJson.TryOpen<StewardRecord>((await status.Msgs.ReadAsync(heard.Token)).Data!, StewardRecord.Domain, StewardStore.MaxRecordBytes, out var write, out var signer, out var problem), problem);
            Assert.Equal((StewardStatus.Running, web1.Key.PublicBase58), (write.Status, signer));
        }
        var outputs = (await opJs.GetStreamAsync(Names.Stream, new StreamInfoRequest { SubjectsFilter = Names.AllOutput })).Info.State.Subjects;
        Assert.Equal([Names.Output(record.MessageId)], outputs!.Keys);
        // web1 is central in the file: it publishes its error log records.
        await StewardErrorLog.PublishAsync(store, web1.Key, Web1,
            new StewardErrorReport { Time = DateTimeOffset.UtcNow, Node = Web2, Kind = "Failed", Message = "boom" }, Web2, default);
        var errors = (await opJs.GetStreamAsync(Names.Stream, new StreamInfoRequest { SubjectsFilter = Names.Errors })).Info.State.Subjects;
        Assert.Equal(1L, errors![Names.Errors]);
        Assert.Empty(web1.Refusals);

        // ---- web1: what it may not do ----
        // Send a command, to another node or to itself.
        await AssertRefusedAsync(web1, Names.Command(Web2), Encoding.UTF8.GetBytes("evil"), replyTo: "_INBOX_web1.evil");
        await AssertRefusedAsync(web1, Names.Command(Web1), Encoding.UTF8.GetBytes("evil"), replyTo: "_INBOX_web1.evil");
        // Pull from web2's consumer, look it up, or ack for it.
        var web2Consumer = StewardSubjects.ConsumerName(Web2);
        await AssertRefusedAsync(web1, $"$JS.API.CONSUMER.MSG.NEXT.steward.{web2Consumer}", Encoding.UTF8.GetBytes("{\"batch\":1}"), replyTo: "_INBOX_web1.steal");
        await AssertRefusedAsync(web1, $"$JS.API.CONSUMER.INFO.steward.{web2Consumer}", replyTo: "_INBOX_web1.steal");
        await AssertRefusedAsync(web1, $"$JS.ACK.steward.{web2Consumer}.1.2.2.0.0");
        // Make its own consumer read web2's subject, or every subject: with another filter, without one, the legacy way.
        var own = StewardSubjects.ConsumerName(Web1);
        await AssertRefusedAsync(web1, $"$JS.API.CONSUMER.CREATE.steward.{own}.{Names.Command(Web2)}", replyTo: "_INBOX_web1.steal");
        await AssertRefusedAsync(web1, $"$JS.API.CONSUMER.CREATE.steward.{own}", replyTo: "_INBOX_web1.steal");
        await AssertRefusedAsync(web1, $"$JS.API.CONSUMER.DURABLE.CREATE.steward.{own}", replyTo: "_INBOX_web1.steal");
        await AssertRefusedAsync(web1, "$JS.API.CONSUMER.CREATE.steward", replyTo: "_INBOX_web1.steal");
        // The one create subject it may use names the filter, and the server holds the request body to it: a body
        // that asks for every command subject (or web2's) under that subject is an API error, and changes nothing.
        foreach (var filter in new[] { Names.AllCommands, Names.Command(Web2) })
        {
            var body = $$$"""{"stream_name":"steward","config":{"durable_name":"{{{own}}}","name":"{{{own}}}","filter_subject":"{{{filter}}}","ack_policy":"explicit","deliver_policy":"all"}}""";
            var reply = await web1.Connection.RequestAsync<byte[], byte[]>($"$JS.API.CONSUMER.CREATE.steward.{own}.{Names.Command(Web1)}", Encoding.UTF8.GetBytes(body));
            Assert.Contains("\"error\"", Encoding.UTF8.GetString(reply.Data!));
        }
        Assert.Equal(Names.Command(Web1), (await opJs.GetConsumerAsync(Names.Stream, own)).Info.Config.FilterSubject);
        // Read the stream's messages by sequence, or change or remove the stream.
        await AssertRefusedAsync(web1, "$JS.API.STREAM.MSG.GET.steward", Encoding.UTF8.GetBytes("{\"seq\":2}"), replyTo: "_INBOX_web1.steal");
        await AssertRefusedAsync(web1, "$JS.API.DIRECT.GET.steward", Encoding.UTF8.GetBytes("{\"seq\":2}"), replyTo: "_INBOX_web1.steal");
        await AssertRefusedAsync(web1, "$JS.API.STREAM.DELETE.steward", replyTo: "_INBOX_web1.steal");
        await AssertRefusedAsync(web1, "$JS.API.STREAM.PURGE.steward", replyTo: "_INBOX_web1.steal");
        await AssertRefusedAsync(web1, $"$JS.API.CONSUMER.DELETE.steward.{web2Consumer}", replyTo: "_INBOX_web1.steal");
        // Write another node's presence.
        await AssertRefusedAsync(web1, $"$KV.steward_nodes.{StewardStore.NodeKey(Web2)}", Encoding.UTF8.GetBytes("forged"), replyTo: "_INBOX_web1.evil");
        // Listen on the command subjects directly, or on the inboxes where other users' pulled messages and replies arrive.
        foreach (var subject in new[] { Names.AllCommands, "_INBOX.>", "_INBOX_web2.>", ">", Names.ReplyNotice(Web2) })
        {
            var before = web1.Refusals.Count;
            await using var sub = await web1.Connection.SubscribeCoreAsync<byte[]>(subject);
            await web1.Connection.PingAsync();
            var deadline = Task.Delay(Bound);
            while (!web1.Refusals.Skip(before).Any(e => e.Contains("Subscription", StringComparison.OrdinalIgnoreCase) && e.Contains($"\"{subject}\"", StringComparison.Ordinal)))
            {
                Assert.False(deadline.IsCompleted, $"the subscription to {subject} was not refused");
                await web1.Connection.PingAsync();
            }
        }

        // Nothing of that reached the stream or web2's queue: web2's one command is still waiting, undelivered.
        var web2Info = (await opJs.GetConsumerAsync(Names.Stream, web2Consumer)).Info;
        Assert.Equal(1L, (long)web2Info.NumPending);
        Assert.Equal(0L, (long)web2Info.NumAckPending);
        Assert.Equal(0L, (long)web2Info.Delivered.StreamSeq);
        var commands = (await opJs.GetStreamAsync(Names.Stream, new StreamInfoRequest { SubjectsFilter = Names.AllCommands })).Info.State;
        Assert.Equal(new Dictionary<string, long> { [Names.Command(Web1)] = 1, [Names.Command(Web2)] = 1 }, commands.Subjects!);
        var presence = await opStore.Nodes.TryGetEntryAsync<byte[]>(StewardStore.NodeKey(Web2));
        Assert.False(presence.Success);
        // The refusals did not disturb web1's connection: it still pulls what the operator sends next.
        (await opJs.PublishAsync(Names.Command(Web1), Encoding.UTF8.GetBytes("second"))).EnsureSuccess();
        var next = await consumer.NextAsync<byte[]>(opts: new NatsJSNextOpts { Expires = Bound });
        Assert.Equal("second", Encoding.UTF8.GetString(next!.Data!));

        // ---- web2 takes its own command; the operator reads every node's results and presence ----
        var web2 = await ConnectAsync("web2", Web2, "_INBOX_web2");
        var store2 = await StewardStore.OpenAsync(web2.Connection, web2.Config, default);
        var c2 = await store2.JetStream.GetConsumerAsync(Names.Stream, web2Consumer);
        var m2 = await c2.NextAsync<byte[]>(opts: new NatsJSNextOpts { Expires = Bound });
        Assert.Equal("command for " + Web2, Encoding.UTF8.GetString(m2!.Data!));
        await m2.AckAsync(new AckOpts { DoubleAck = true });
        Assert.Empty(web2.Refusals);
        Assert.Empty(op.Refusals);
        // web2 is not central: it may not publish error log records.
        await AssertRefusedAsync(web2, Names.Errors, Encoding.UTF8.GetBytes("forged"), replyTo: "_INBOX_web2.evil");
        var keys = new List<string>();
        await foreach (var k in opStore.Nodes.GetKeysAsync()) keys.Add(k);
        Assert.Equal([StewardStore.NodeKey(Web1)], keys);
    }
}
