using System.Diagnostics;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;
using RemoteOps.Seaport;
using RemoteOps.TestSupport;

namespace RemoteOps.Benchmarks;

/// <summary>Seaport against the raw NATS.Client.Core key-value operation on the same server, in the same run:
/// register, query (warm, and in a new session among 10,000 live services), watch event latency, and what heartbeats
/// for 10,000 services cost.</summary>
public static class SeaportBenchmarks
{
    public static async Task RunAsync(Report report)
    {
        await using var server = await NatsServer.StartAsync();
        using var key = SigningKey.Generate();
        var config = Config(server.Url, key, "bench_sp", TimeSpan.FromSeconds(15));

        await using var raw = new NatsConnection(new NatsOpts { Url = server.Url });
        await raw.ConnectAsync();
        var kv = new NatsKVContext(new NatsJSContext(raw));
        var rawStore = await kv.CreateStoreAsync(new NatsKVConfig("bench_raw") { History = 1 });

        await RegisterLatency(report, config, rawStore);
        await WatchLatency(report, config, rawStore);
        await QueryAmongTenThousand(report, config, key, rawStore, kv);
        await HeartbeatCost(report, server, key, rawStore);
    }

    private static RemoteOpsConfig Config(string url, SigningKey key, string bucket, TimeSpan heartbeat) => new()
    {
        Servers = [url],
        Identities = [new IdentityConfig { Public = key.PublicBase58, Private = key.ExportSeedBase58(), Verbs = ["*"] }],
        DefaultIdentity = key.PublicBase58,
        Sections = [new SeaportConfig { Bucket = bucket, Heartbeat = heartbeat }],
    };

    private static string Us(double v) => Samples.Micros(v);

    // ---- register ------------------------------------------------------------------------------------------------

    private static async Task RegisterLatency(Report report, RemoteOpsConfig config, INatsKVStore rawStore, int n = 400)
    {
        // ours: validate, pick a bindable port, claim it (KV create), sign, create the entry (KV create), see it in the index.
        // raw:  one KV put of a value of the same size.
        var ours = new Samples();
        var rawSamples = new Samples();
        var value = new byte[400];
        await SeaportRegistrar.RegisterAsync(config, new SeaportRegistration { Role = "warm@1.0.0", Heartbeat = false }, default);
        for (int i = 0; i < n; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            await rawStore.PutAsync($"r.{i}", value);
            rawSamples.AddTicks(Stopwatch.GetTimestamp() - t0);
            t0 = Stopwatch.GetTimestamp();
            await SeaportRegistrar.RegisterAsync(config, new SeaportRegistration { Role = $"reg{i}@1.0.0", Heartbeat = false }, default);
            ours.AddTicks(Stopwatch.GetTimestamp() - t0);
        }
        report.Add("Register-SeaportService p50", Us(ours.Percentile(50)), Us(rawSamples.Percentile(50)), ours.Percentile(50) / rawSamples.Percentile(50), "≤ 5 ms");
        report.Add("Register-SeaportService p99", Us(ours.Percentile(99)), Us(rawSamples.Percentile(99)), ours.Percentile(99) / rawSamples.Percentile(99));
    }

    // ---- watch ---------------------------------------------------------------------------------------------------

    private static async Task WatchLatency(Report report, RemoteOpsConfig config, INatsKVStore rawStore, int n = 300)
    {
        // ours: Set-SeaportService (sign, CAS update) → a Watch-SeaportService subscriber gets Updated.
        // raw:  KV put → a raw KV watcher receives it.
        var service = await SeaportRegistrar.RegisterAsync(config, new SeaportRegistration { Role = "watched@1.0.0", Heartbeat = false }, default);
        using var stop = new CancellationTokenSource();
        await using var ours = SeaportQueries.WatchAsync(config, "watched", existing: false, timeout: null, verbose: null, stop.Token).GetAsyncEnumerator();
        using var stopRaw = new CancellationTokenSource();
        await using var rawWatch = rawStore.WatchAsync<byte[]>("w.>", opts: new NatsKVWatchOpts { UpdatesOnly = true }, cancellationToken: stopRaw.Token).GetAsyncEnumerator();
        var oursSamples = new Samples();
        var rawSamples = new Samples();
        var value = new byte[400];
        // Start both watches (the first MoveNext subscribes).
        var pendingOurs = ours.MoveNextAsync().AsTask();
        var pendingRaw = rawWatch.MoveNextAsync().AsTask();
        await Task.Delay(200);
        for (int i = 0; i < n; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            await rawStore.PutAsync("w.k", value);
            await pendingRaw;
            rawSamples.AddTicks(Stopwatch.GetTimestamp() - t0);
            pendingRaw = rawWatch.MoveNextAsync().AsTask();

            t0 = Stopwatch.GetTimestamp();
            await SeaportRegistrar.SetMetaAsync(config, service.Id, new Dictionary<string, string?> { ["n"] = i.ToString() }, default);
            await pendingOurs;
            oursSamples.AddTicks(Stopwatch.GetTimestamp() - t0);
            pendingOurs = ours.MoveNextAsync().AsTask();
        }
        stop.Cancel();
        try { await pendingOurs; } catch (OperationCanceledException) { }
        stopRaw.Cancel();
        try { await pendingRaw; } catch (OperationCanceledException) { }
        report.Add("Set → Watch event p50", Us(oursSamples.Percentile(50)), Us(rawSamples.Percentile(50)), oursSamples.Percentile(50) / rawSamples.Percentile(50));
        report.Add("Set → Watch event p99", Us(oursSamples.Percentile(99)), Us(rawSamples.Percentile(99)), oursSamples.Percentile(99) / rawSamples.Percentile(99));
    }

    // ---- query among 10,000 ---------------------------------------------------------------------------------------

    private static async Task QueryAmongTenThousand(Report report, RemoteOpsConfig baseConfig, SigningKey key, INatsKVStore rawStore, NatsKVContext rawKv, int services = 10_000)
    {
        var config = Config(baseConfig.Servers[0], key, "bench_q", TimeSpan.FromMinutes(10));
        // Fill the bucket with 10,000 live, signed entries (written directly: this measures queries, not registering).
        var index = await SeaportIndex.GetAsync(config, default);
        var store = index.Store;
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await Parallel.ForEachAsync(Enumerable.Range(0, services), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, ct) =>
        {
            var entry = new SeaportEntry
            {
                Id = $"q{i}", Name = $"svc{i % 1000}", Version = $"1.{i / 1000}.0", Host = $"host{i % 50}", Port = 20000 + i,
                Ports = new Dictionary<string, int> { ["port"] = 20000 + i }, Registered = now, Time = now, TimeoutMs = 600_000,
            };
            await store.PutAsync(entry.Key, SeaportEntryCodec.Encode(entry, key), cancellationToken: ct);
        });

        // A new session: a fresh connection (so a fresh index) answering its first query.
        var fresh = new Samples();
        for (int i = 0; i < 5; i++)
        {
            await RemoteOps.Messaging.ConnectionPool.DisconnectAsync(config);
            long t0 = Stopwatch.GetTimestamp();
            var found = await SeaportQueries.QueryAsync(config, "svc42@1.x", null, null, default);
            fresh.AddTicks(Stopwatch.GetTimestamp() - t0);
            if (found.Count != 10) throw new InvalidOperationException($"expected 10 matches, got {found.Count}");
        }

        // Warm: the session has queried before.
        var warm = new Samples();
        var rawGet = new Samples();
        for (int i = 0; i < 500; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            await rawStore.GetEntryAsync<byte[]>($"r.{i % 400}");
            rawGet.AddTicks(Stopwatch.GetTimestamp() - t0);
            t0 = Stopwatch.GetTimestamp();
            var found = await SeaportQueries.QueryAsync(config, $"svc{i % 1000}@^1.2", null, null, default);
            warm.AddTicks(Stopwatch.GetTimestamp() - t0);
            if (found.Count != 8) throw new InvalidOperationException($"expected 8 matches, got {found.Count}");
        }
        var all = new Samples();
        for (int i = 0; i < 20; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            var found = await SeaportQueries.QueryAsync(config, null, null, null, default);
            all.AddTicks(Stopwatch.GetTimestamp() - t0);
            if (found.Count != services) throw new InvalidOperationException($"expected {services}, got {found.Count}");
        }
        report.Add($"Get-SeaportService among {services:N0}, warm p50", Us(warm.Percentile(50)), Us(rawGet.Percentile(50)) + " (one KV get)", warm.Percentile(50) / rawGet.Percentile(50), "≤ 20 ms");
        report.Add($"Get-SeaportService among {services:N0}, warm p99", Us(warm.Percentile(99)), Us(rawGet.Percentile(99)), warm.Percentile(99) / rawGet.Percentile(99));
        report.Add($"Get-SeaportService (all {services:N0}) p50", Us(all.Percentile(50)));
        // raw: what listing the keys alone takes (a list-then-get query would also get each one).
        var list = new Samples();
        var rawQuery = await rawKv.GetStoreAsync("bench_q");
        for (int i = 0; i < 3; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            var keys = 0;
            await foreach (var _ in rawQuery.GetKeysAsync(["s.>"])) keys++;
            list.AddTicks(Stopwatch.GetTimestamp() - t0);
            if (keys != services) throw new InvalidOperationException($"listed {keys} keys");
        }
        report.Add($"Get-SeaportService among {services:N0}, new session p50", Us(fresh.Percentile(50)), Us(list.Percentile(50)) + $" (listing the {services:N0} keys alone)", fresh.Percentile(50) / list.Percentile(50), "≤ 1 s");
    }

    // ---- heartbeats ----------------------------------------------------------------------------------------------

    private static async Task HeartbeatCost(Report report, NatsServer server, SigningKey key, INatsKVStore rawStore, int services = 10_000)
    {
        var heartbeat = TimeSpan.FromSeconds(15);
        var config = Config(server.Url, key, "bench_hb", heartbeat);
        // 200 hosts × 50 services (remote host names: no bind checks), registered 32 at a time.
        await Parallel.ForEachAsync(Enumerable.Range(0, services), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
            await SeaportRegistrar.RegisterAsync(config, new SeaportRegistration { Role = $"hb{i}@1.0.0", HostName = $"hb-host-{i % 200}" }, ct));

        // One heartbeat period to settle (the runtime's background JIT is still re-compiling what just got hot), then two
        // measured: CPU of the whole process, so everything it does counts.
        await Task.Delay(heartbeat);
        var process = Process.GetCurrentProcess();
        process.Refresh();
        var cpu0 = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        await Task.Delay(heartbeat * 2);
        process.Refresh();
        var ours = (process.TotalProcessorTime - cpu0) / wall.Elapsed;

        // raw: the same number of KV puts per heartbeat period, 64 in flight, timed for CPU the same way.
        var value = new byte[400];
        process.Refresh();
        cpu0 = process.TotalProcessorTime;
        await Parallel.ForEachAsync(Enumerable.Range(0, services), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, ct) =>
            await rawStore.PutAsync($"hb.{i}", value, cancellationToken: ct));
        process.Refresh();
        var rawShare = (process.TotalProcessorTime - cpu0) / heartbeat;
        report.Add($"heartbeats for {services:N0} services, CPU (share of one core, whole process, steady state)", $"{ours:P1}",
            $"{rawShare:P1} ({services:N0} KV puts per {heartbeat.TotalSeconds:0} s)", ours / rawShare, "≤ 10 %");
        report.Add($"heartbeat KV operations for {services:N0} services", $"{services / heartbeat.TotalSeconds:0}/s");
    }
}
