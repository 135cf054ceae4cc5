using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Remaphore;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Remaphore;

public sealed class NatsFixture : IAsyncLifetime
{
    public NatsServer Server { get; private set; } = null!;
    public async Task InitializeAsync() => Server = await NatsServer.StartAsync();
    public Task DisposeAsync() { Server.Dispose(); return Task.CompletedTask; }
}

/// <summary>The engine against a real nats-server: two nodes, each with its own identity, peers of each other.</summary>
public class EngineTests(NatsFixture nats) : IClassFixture<NatsFixture>, IDisposable
{
    private readonly SigningKey _a = SigningKey.Generate();
    private readonly SigningKey _b = SigningKey.Generate();

    public void Dispose() { }

    private RemoteOpsConfig Node(SigningKey self, string destination, params (SigningKey Key, string Destination)[] peers)
    {
        return new RemoteOpsConfig
        {
            Servers = [nats.Server.Url],
            Destination = destination,
            Sections = [new RemaphoreConfig { Subject = "remaphore" + Guid.NewGuid().ToString("N")[..8] }],
            Identities = [new IdentityConfig { Public = self.PublicBase58, Private = self.ExportSeedBase58(), Verbs = ["*"] }],
            Peers = [.. peers.Select(p => new PeerConfig { Public = p.Key.PublicBase58, Destination = p.Destination, Verbs = ["*"] })],
        };
    }

    private (RemoteOpsConfig A, RemoteOpsConfig B) Pair()
    {
        var a = Node(_a, "com.test.a", (_b, "com.test.b"));
        var b = Node(_b, "com.test.b", (_a, "com.test.a"));
        b = b.WithSection<RemaphoreConfig>(r => r with { Subject = a.Subject });
        return (a, b);
    }


    private static async Task<T> Next<T>(RemaphoreWaiter waiter) where T : RemaphoreEvent
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await foreach (var e in waiter.ReadAllAsync(cts.Token))
            if (e is T t) return t;
        throw new InvalidOperationException("The wait ended without a " + typeof(T).Name);
    }

    [Fact]
    public async Task Send_reaches_a_waiter_with_every_field()
    {
        var (a, b) = Pair();
        await using var waiter = await RemaphoreWaiter.StartAsync(b, new RemaphoreWaitOptions { Uuid = "upload_done", Timeout = TimeSpan.FromSeconds(30) });
        var sent = await RemaphoreClient.SendAsync(a, new RemaphoreSendOptions { Payload = "bigfile", Uuid = "upload_done", Destination = "com.test.*", Verb = "ping" });
        var got = (await Next<RemaphoreReceived>(waiter)).Message;
        Assert.Equal(_a.PublicBase58, got.Sender);
        Assert.Equal("ping", got.Verb);
        Assert.Equal("upload_done", got.Uuid);
        Assert.Equal("bigfile", got.Payload);
        Assert.Equal("com.test.*", got.Destination);
        Assert.Equal("com.test.b", got.DestinationMatch);
        Assert.Equal(sent.Hash, got.Hash);
        Assert.False(got.ReplyRequested);
        Assert.Equal(1, waiter.Accepted);
    }

    [Fact]
    public async Task Request_collects_replies_and_names_who_did_not_answer()
    {
        var c = SigningKey.Generate();
        var a = Node(_a, "com.test.a", (_b, "com.test.b"), (c, "com.test.c"));
        var b = Node(_b, "com.test.b", (_a, "com.test.a"));
        b = b.WithSection<RemaphoreConfig>(r => r with { Subject = a.Subject });
        await using var waiter = await RemaphoreWaiter.StartAsync(b, new RemaphoreWaitOptions { Once = true, Timeout = TimeSpan.FromSeconds(30) });
        var answer = Task.Run(async () =>
        {
            var m = (await Next<RemaphoreReceived>(waiter)).Message;
            Assert.True(m.ReplyRequested);
            await waiter.ReplyAsync(m, 7, "out\nput");
        });
        await using var request = await RemaphoreRequest.StartAsync(a, new RemaphoreSendOptions { Payload = "status", Verb = "status" }, TimeSpan.FromSeconds(10), null);
        Assert.Equal(2, request.Expected.Count);
        var replies = new List<RemaphoreResponse>();
        await foreach (var e in request.Events.ReadAllAsync())
            if (e is RemaphoreReplied r) replies.Add(r.Response);
        await answer;
        var reply = Assert.Single(replies);
        Assert.Equal("com.test.b", reply.Destination);
        Assert.Equal(7, reply.ExitCode);
        Assert.Equal("out\nput", reply.Output);
        Assert.True(request.TimedOut);
        Assert.Equal("com.test.c", Assert.Single(request.Missing).Destination);
    }

    [Fact]
    public async Task A_latched_signal_reaches_a_waiter_that_starts_later()
    {
        var (a, b) = Pair();
        var latchBucket = "latch_" + a.Subject;
        a = a.WithSection<RemaphoreConfig>(r => r with { LatchBucket = latchBucket });
        b = b.WithSection<RemaphoreConfig>(r => r with { LatchBucket = latchBucket });
        var uuid = "late_" + Guid.NewGuid().ToString("N")[..6];
        await RemaphoreClient.SendAsync(a, new RemaphoreSendOptions { Uuid = uuid, Latch = true, Payload = "done" });
        await using var waiter = await RemaphoreWaiter.StartAsync(b, new RemaphoreWaitOptions { Uuid = uuid, Timeout = TimeSpan.FromSeconds(30) });
        var got = (await Next<RemaphoreReceived>(waiter)).Message;
        Assert.True(got.Latched);
        Assert.Equal("done", got.Payload);
    }

    [Fact]
    public async Task An_expired_latch_is_not_taken()
    {
        var (a, b) = Pair();
        var latchBucket = "latch_" + a.Subject;
        a = a.WithSection<RemaphoreConfig>(r => r with { LatchBucket = latchBucket });
        b = b.WithSection<RemaphoreConfig>(r => r with { LatchBucket = latchBucket });
        var uuid = "exp_" + Guid.NewGuid().ToString("N")[..6];
        await RemaphoreClient.SendAsync(a, new RemaphoreSendOptions { Uuid = uuid, Latch = true, LatchTtl = TimeSpan.FromTicks(1) });
        await using var waiter = await RemaphoreWaiter.StartAsync(b, new RemaphoreWaitOptions { Uuid = uuid, Timeout = TimeSpan.FromMilliseconds(300) });
        var notes = new List<string>();
        await foreach (var e in waiter.ReadAllAsync())
        {
            Assert.IsNotType<RemaphoreReceived>(e);
            if (e is RemaphoreNote n) notes.Add(n.Text);
        }
        Assert.True(waiter.TimedOut);
        Assert.Contains(notes, n => n.Contains("expired"));
    }

    [Fact]
    public async Task A_wait_times_out_with_nothing()
    {
        var (_, b) = Pair();
        await using var waiter = await RemaphoreWaiter.StartAsync(b, new RemaphoreWaitOptions { Timeout = TimeSpan.FromMilliseconds(200) });
        await foreach (var e in waiter.ReadAllAsync()) Assert.IsNotType<RemaphoreReceived>(e);
        Assert.True(waiter.TimedOut);
        Assert.Equal(0, waiter.Accepted);
    }
}
