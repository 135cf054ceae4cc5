using NATS.Client.JetStream;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;
using RemoteOps.Remaphore;
using RemoteOps.Seaport;
using RemoteOps.Core.Tests.Steward;
using RemoteOps.Steward;
using RemoteOps.TestSupport;
using Xunit.Abstractions;

namespace RemoteOps.Core.Tests.Cluster;

/// <summary>The three tools on a real 3-server nats-server cluster with <c>replicas: 3</c>, and one server stopped
/// (SIGKILL) mid-run: every stream and bucket is replicated, no registration is lost, no command is lost or run twice,
/// and waiters and watchers carry on once their connection has moved to another server. Every wait is bounded and
/// generous: on a loaded machine a leader election and a reconnect take seconds.</summary>
public class NatsClusterTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    /// <summary>Retries <paramref name="call"/> while the cluster is electing new leaders or the client reconnecting.</summary>
    private static async Task<T> RetryAsync<T>(Func<CancellationToken, Task<T>> call)
    {
        using var limit = new CancellationTokenSource(Patience);
        while (true)
        {
            try
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(limit.Token);
                attempt.CancelAfter(TimeSpan.FromSeconds(15));
                return await call(attempt.Token);
            }
            catch (Exception) when (!limit.IsCancellationRequested)
            {
                await Task.Delay(250);
            }
        }
    }

    [Fact]
    public async Task With_replicas_3_losing_one_server_loses_no_registration_or_command_and_waiters_and_watchers_carry_on()
    {
        await using var cluster = await NatsCluster.StartAsync();
        using var key = SigningKey.Generate();
        using var other = SigningKey.Generate();
        var suffix = Guid.NewGuid().ToString("N")[..8];

        // remaphore: two nodes, peers of each other; the latch bucket replicated.
        RemoteOpsConfig Remaphore(SigningKey self, string destination, SigningKey peer, string peerDestination) => new()
        {
            Servers = cluster.Urls, Replicas = 3, Destination = destination,
            Sections = [new RemaphoreConfig { Subject = "remaphore" + suffix, LatchBucket = "latch_" + suffix }],
            Identities = [new IdentityConfig { Public = self.PublicBase58, Private = self.ExportSeedBase58(), Verbs = ["*"] }],
            Peers = [new PeerConfig { Public = peer.PublicBase58, Destination = peerDestination, Verbs = ["*"] }],
        };
        var ra = Remaphore(key, "com.test.a", other, "com.test.b");
        var rb = Remaphore(other, "com.test.b", key, "com.test.a");

        // seaport: a registry that outlives an outage of a minute (heartbeats resume after it).
        var seaport = new RemoteOpsConfig
        {
            Servers = cluster.Urls, Replicas = 3,
            Identities = [new IdentityConfig { Public = key.PublicBase58, Private = key.ExportSeedBase58(), Verbs = ["*"] }],
            DefaultIdentity = key.PublicBase58,
            Sections = [new SeaportConfig { Bucket = "sp_" + suffix, Heartbeat = TimeSpan.FromSeconds(2), Timeout = TimeSpan.FromMinutes(2) }],
        };

        // steward: a node agent and a sender.
        await using var bed = new StewardTestBed(cluster.Urls[0], configure: c => c with { Servers = cluster.Urls, Replicas = 3 });
        await bed.StartAgentAsync();
        var ledger = Path.Combine(bed.WorkDirectory, "ledger");
        var commands = Enumerable.Range(0, 30).Select(i => bed.Command(StewardMethod.CliCommand, "sh", "-c", $"echo $0 >> '{ledger}'", $"c{i:D2}") with
        {
            AckTimeout = TimeSpan.FromMinutes(2), Retries = 3,
        }).ToArray();

        // Before the loss: a latched signal, two registrations, and the first commands.
        var latchUuid = "latched_" + suffix;
        await RemaphoreClient.SendAsync(ra, new RemaphoreSendOptions { Uuid = latchUuid, Latch = true, Payload = "before" });
        var web = await SeaportRegistrar.RegisterAsync(seaport, new SeaportRegistration { Role = "web@1.0.0", HostName = "host1" }, default);
        var db = await SeaportRegistrar.RegisterAsync(seaport, new SeaportRegistration { Role = "db@1.0.0", HostName = "host2" }, default);
        foreach (var c in commands[..10]) await RetryAsync(_ => bed.SendAsync(c));

        // Every stream and bucket the tools created has three replicas.
        var connection = await ConnectionPool.GetAsync(bed.SenderConfig);
        var js = new NatsJSContext(connection);
        foreach (var stream in new[] { "KV_latch_" + suffix, "KV_sp_" + suffix, bed.NodeConfig.Steward.Stream, "KV_" + bed.NodeConfig.Steward.ResultsBucket, "KV_" + bed.NodeConfig.Steward.NodesBucket })
        {
            var info = (await js.GetStreamAsync(stream)).Info;
            Assert.True(info.Config.NumReplicas == 3, $"{stream}: {info.Config.NumReplicas} replicas");
        }

        // Waiters and watchers that are running when the server goes: a remaphore waiter, a seaport watcher and get(),
        // and a watcher of the steward records.
        await using var waiter = await RemaphoreWaiter.StartAsync(rb, new RemaphoreWaitOptions { Uuid = "after_" + suffix, Timeout = Patience * 2 });
        using var stop = new CancellationTokenSource(Patience * 3);
        var firstSignal = Task.Run(async () =>
        {
            await foreach (var e in waiter.ReadAllAsync(stop.Token))
                if (e is RemaphoreReceived r) return r.Message;
            throw new TimeoutException("the waiter ended without a signal");
        });
        var watched = Task.Run(async () =>
        {
            await foreach (var e in SeaportQueries.WatchAsync(seaport, "late@1", existing: false, null, null, stop.Token))
                if (e.Action == SeaportAction.Registered) return e.Service.Role;
            return null;
        });
        var got = SeaportQueries.WaitAsync(seaport, "late@1", Patience * 2, null, stop.Token);
        // The steward watcher is the client's wait (what Invoke-StewardMethod and Wait-StewardMessage use), over the
        // commands sent so far.
        var clientLog = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var client = await StewardClient.OpenAsync(bed.SenderConfig, clientLog.Enqueue, default);
        var before = new List<StewardRecord>();
        foreach (var c in commands[..10]) before.Add((await client.GetAsync(c.MessageId, default))!.Value.Record!);
        var waited = Task.Run(async () =>
        {
            var replies = new List<StewardReply>();
            await foreach (var e in client.WaitAsync(before, null, false, Patience * 2, stop.Token))
                if (e.Reply is { } r) replies.Add(r);
            return replies;
        });

        // Stop the server this process is connected to (every config here shares one connection): a crash, SIGKILL.
        var victim = cluster.IndexOf(connection.ServerInfo!.Name);
        Assert.True(victim >= 0, $"connected to {connection.ServerInfo.Name}, not one of {string.Join(", ", cluster.Names)}");
        output.WriteLine($"stopping {cluster.Names[victim]}");
        cluster.Servers[victim].Kill();

        // After the loss: the rest of the commands, a registration, and signals until the waiter has one (a signal is
        // at-most-once core NATS: one published while the waiter's connection is moving is not kept for it).
        foreach (var c in commands[10..]) await RetryAsync(_ => bed.SendAsync(c));
        var late = await RetryAsync(ct => SeaportRegistrar.RegisterAsync(seaport, new SeaportRegistration { Role = "late@1.0.0", HostName = "host3" }, ct));
        var signalled = await RetryAsync(async ct =>
        {
            await RemaphoreClient.SendAsync(ra, new RemaphoreSendOptions { Uuid = "after_" + suffix, Payload = "after" }, ct);
            return await firstSignal.WaitAsync(TimeSpan.FromSeconds(2), ct);
        });
        Assert.Equal("after", signalled.Payload);
        Assert.NotEqual(victim, cluster.IndexOf(connection.ServerInfo!.Name));

        // The waiters and watchers saw what came after the loss.
        Assert.Equal("late@1.0.0", await watched.WaitAsync(Patience));
        Assert.Equal(late.Id, Assert.Single(await got.WaitAsync(Patience)).Id);
        var replies = await waited.WaitAsync(Patience * 3);
        Assert.Equal(commands[..10].Select(c => c.MessageId).Order(), replies.Select(r => r.MessageId).Order());
        Assert.All(replies, r => Assert.Equal(StewardStatus.Succeeded, r.Status));
        var after = new List<StewardRecord>();
        foreach (var c in commands[10..]) after.Add(await RetryAsync(async ct => (await client.GetAsync(c.MessageId, ct))?.Record ?? throw new InvalidOperationException("no record")));
        await foreach (var e in client.WaitAsync(after, null, false, Patience * 2, default))
            if (e.Reply is { } r) Assert.True(r.Status == StewardStatus.Succeeded, $"{r.MessageId}: {r.Status} {r.Error}");
        // Each command ran exactly once: its tag is in the ledger once.
        Assert.Equal(commands.Select((_, i) => $"c{i:D2}").Order(), File.ReadAllLines(ledger).Order());

        // No registration is lost: all three are live, and a latch sent before the loss reaches a new waiter.
        var live = await RetryAsync(async ct =>
        {
            var list = await SeaportQueries.QueryAsync(seaport, null, null, null, ct);
            return list.Count == 3 ? list : throw new InvalidOperationException($"{list.Count} live");
        });
        Assert.Equal(new[] { web.Id, db.Id, late.Id }.Order(), live.Select(s => s.Id).Order());
        await using var latecomer = await RemaphoreWaiter.StartAsync(rb, new RemaphoreWaitOptions { Uuid = latchUuid, Timeout = Patience });
        RemaphoreMessage? latched = null;
        await foreach (var e in latecomer.ReadAllAsync())
            if (e is RemaphoreReceived r) { latched = r.Message; break; }
        Assert.NotNull(latched);
        Assert.True(latched.Latched);
        Assert.Equal("before", latched.Payload);
        output.WriteLine(string.Join("\n", clientLog));
        stop.Cancel();
        foreach (var id in new[] { web.Id, db.Id, late.Id }) await SeaportRegistrar.FreeQuietlyAsync(seaport, id, default);
    }
}
