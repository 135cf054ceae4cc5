using System.Diagnostics;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using RemoteOps.Identity;
using RemoteOps.Seaport;
using RemoteOps.TestSupport;

namespace RemoteOps.Benchmarks;

/// <summary>What one heartbeat costs, piece by piece, in CPU time per operation.</summary>
public static class SeaportMicroBenchmarks
{
    public static async Task RunAsync(Report report)
    {
        using var key = SigningKey.Generate();
        var entry = new SeaportEntry
        {
            Id = "0123456789abcdef", Name = "web", Version = "1.2.3", Host = "host-1", Port = 20001,
            Ports = new Dictionary<string, int> { ["port"] = 20001 }, Meta = new Dictionary<string, string> { ["zone"] = "eu" },
            Registered = 1, Time = 2, TimeoutMs = 45_000,
        };
        var value = SeaportEntryCodec.Encode(entry, key);
        var none = new TrustStore([]);
        Cpu(report, "encode + sign one entry", 20_000, () => SeaportEntryCodec.Encode(entry, key));
        Cpu(report, "parse one entry (no verify)", 50_000, () => SeaportEntryCodec.Parse(value, out _));
        Cpu(report, "decode + verify one entry", 20_000, () => SeaportEntryCodec.Decode(entry.Key, value, none, out _));

        await using var server = await NatsServer.StartAsync();
        await using var nats = new NatsConnection(new NatsOpts { Url = server.Url });
        await nats.ConnectAsync();
        var store = await new NatsKVContext(new NatsJSContext(nats)).CreateStoreAsync(new NatsKVConfig("micro") { History = 1 });
        var revisions = new ulong[1000];
        for (int i = 0; i < revisions.Length; i++) revisions[i] = await store.PutAsync($"k.{i}", value);
        await CpuAsync(report, "KV update with compare-and-set, 64 in flight", revisions.Length * 10, async n =>
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, n), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, ct) =>
            {
                var k = i % revisions.Length;
                var r = await store.TryUpdateAsync($"k.{k}", value, Volatile.Read(ref revisions[k]), cancellationToken: ct);
                if (r.Success) Volatile.Write(ref revisions[k], r.Value);
            });
        });
        await CpuAsync(report, "KV put, 64 in flight", revisions.Length * 10, async n =>
            await Parallel.ForEachAsync(Enumerable.Range(0, n), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, ct) =>
                await store.PutAsync($"p.{i % 1000}", value, cancellationToken: ct)));
        await WatchCost(report, store, value, 10_000);
        await IdleCost(report, server, key);
    }

    /// <summary>CPU of a session that holds a watched index of 10,000 entries and does nothing.</summary>
    private static async Task IdleCost(Report report, NatsServer server, SigningKey key)
    {
        var config = new RemoteOps.Config.RemoteOpsConfig
        {
            Servers = [server.Url],
            Identities = [new RemoteOps.Config.IdentityConfig { Public = key.PublicBase58, Private = key.ExportSeedBase58(), Verbs = ["*"] }],
            DefaultIdentity = key.PublicBase58,
            Sections = [new SeaportConfig { Bucket = "idle" }],
        };
        var p = Process.GetCurrentProcess();
        p.Refresh();
        var cpu0 = p.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(5));
        p.Refresh();
        var before = (p.TotalProcessorTime - cpu0) / wall.Elapsed;
        var index = await SeaportIndex.GetAsync(config, default);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await Parallel.ForEachAsync(Enumerable.Range(0, 10_000), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, ct) =>
        {
            var e = new SeaportEntry { Id = $"i{i}", Name = "idle", Host = "h", Port = 1, Registered = now, Time = now, TimeoutMs = 600_000 };
            await index.Store.PutAsync(e.Key, SeaportEntryCodec.Encode(e, key), cancellationToken: ct);
        });
        await Task.Delay(TimeSpan.FromSeconds(2));
        p.Refresh();
        cpu0 = p.TotalProcessorTime;
        wall.Restart();
        await Task.Delay(TimeSpan.FromSeconds(10));
        p.Refresh();
        var holding = (p.TotalProcessorTime - cpu0) / wall.Elapsed;
        report.Add("idle process, CPU", $"{before:P2}");
        report.Add("idle session holding an index of 10,000 entries, CPU", $"{holding:P2}");
    }

    private static async Task WatchCost(Report report, INatsKVStore store, byte[] value, int n)
    {
        // CPU of n puts with a raw KV watcher receiving them, minus n puts alone: what receiving one entry costs.
        var p = Process.GetCurrentProcess();
        using var stop = new CancellationTokenSource();
        var received = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var watching = Task.Run(async () =>
        {
            try
            {
                await foreach (var e in store.WatchAsync<byte[]>("w.>", opts: new NatsKVWatchOpts { UpdatesOnly = true }, cancellationToken: stop.Token))
                    if (Interlocked.Increment(ref received) == n) all.TrySetResult();
            }
            catch (OperationCanceledException) { }
        });
        await Task.Delay(200);
        p.Refresh();
        var cpu0 = p.TotalProcessorTime;
        await Parallel.ForEachAsync(Enumerable.Range(0, n), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, ct) =>
            await store.PutAsync($"w.{i % 1000}", value, cancellationToken: ct));
        await all.Task.WaitAsync(TimeSpan.FromSeconds(60));
        p.Refresh();
        var withWatch = (p.TotalProcessorTime - cpu0).TotalMicroseconds / n;
        stop.Cancel();
        await watching;
        p.Refresh();
        cpu0 = p.TotalProcessorTime;
        await Parallel.ForEachAsync(Enumerable.Range(0, n), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, ct) =>
            await store.PutAsync($"w.{i % 1000}", value, cancellationToken: ct));
        p.Refresh();
        var alone = (p.TotalProcessorTime - cpu0).TotalMicroseconds / n;
        report.Add("raw KV watcher receiving one entry, CPU per op", Samples.Micros(withWatch - alone));
    }

    private static void Cpu(Report report, string name, int n, Action op)
    {
        for (int i = 0; i < n / 10; i++) op();
        var p = Process.GetCurrentProcess();
        p.Refresh();
        var cpu0 = p.TotalProcessorTime;
        for (int i = 0; i < n; i++) op();
        p.Refresh();
        report.Add(name + ", CPU per op", Samples.Micros((p.TotalProcessorTime - cpu0).TotalMicroseconds / n));
    }

    private static async Task CpuAsync(Report report, string name, int n, Func<int, Task> run)
    {
        await run(n / 10);
        var p = Process.GetCurrentProcess();
        p.Refresh();
        var cpu0 = p.TotalProcessorTime;
        await run(n);
        p.Refresh();
        report.Add(name + ", CPU per op", Samples.Micros((p.TotalProcessorTime - cpu0).TotalMicroseconds / n));
    }
}
