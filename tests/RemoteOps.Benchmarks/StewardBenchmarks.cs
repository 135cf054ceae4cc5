using System.Diagnostics;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using RemoteOps.TestSupport;

namespace RemoteOps.Benchmarks;

/// <summary>Steward against raw NATS on the same server, in one run. The baselines: a raw NATS.Client.Core
/// request/reply; the same plus a bare process spawn (what CliCommand must do at least); and the durable floor, the
/// fewest JetStream operations any durable command can cost (publish to a stream, a pull consumer's delivery and ack,
/// one key-value put the sender watches).</summary>
public static class StewardBenchmarks
{
    public static async Task RunAsync(Report report)
    {
        await using var server = await NatsServer.StartAsync();
        await using var raw = new NatsConnection(new NatsOpts { Url = server.Url });
        await raw.ConnectAsync();

        var request = await RawRequestReply(raw);
        var spawn = await RawRequestAndSpawn(raw);
        var floor = await DurableFloor(raw);
        report.Add("raw request/reply, p50", Samples.Micros(request.Percentile(50)));
        report.Add("raw request + bare spawn of `true`, p50", Samples.Micros(spawn.Percentile(50)));
        report.Add("durable floor (JetStream publish + pull + ack + KV put seen by a watcher), p50",
            Samples.Micros(floor.Percentile(50)), Samples.Micros(request.Percentile(50)), floor.Percentile(50) / request.Percentile(50));
    }

    private static async Task<Samples> RawRequestReply(NatsConnection nats, int n = 2000)
    {
        await using var sub = await nats.SubscribeCoreAsync<byte[]>("bench.raw.ping");
        using var cts = new CancellationTokenSource();
        var responder = Task.Run(async () =>
        {
            await foreach (var m in sub.Msgs.ReadAllAsync(cts.Token)) await m.ReplyAsync(m.Data);
        });
        var samples = new Samples();
        var payload = new byte[200];
        for (int i = 0; i < n; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            await nats.RequestAsync<byte[], byte[]>("bench.raw.ping", payload);
            if (i >= 100) samples.AddTicks(Stopwatch.GetTimestamp() - t0);
        }
        cts.Cancel();
        try { await responder; } catch (OperationCanceledException) { }
        return samples;
    }

    private static async Task<Samples> RawRequestAndSpawn(NatsConnection nats, int n = 200)
    {
        await using var sub = await nats.SubscribeCoreAsync<byte[]>("bench.raw.spawn");
        using var cts = new CancellationTokenSource();
        var responder = Task.Run(async () =>
        {
            await foreach (var m in sub.Msgs.ReadAllAsync(cts.Token))
            {
                using var p = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true })!;
                await p.StandardOutput.ReadToEndAsync();
                await p.WaitForExitAsync();
                await m.ReplyAsync(BitConverter.GetBytes(p.ExitCode));
            }
        });
        var samples = new Samples();
        for (int i = 0; i < n; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            await nats.RequestAsync<byte[], byte[]>("bench.raw.spawn", new byte[200]);
            if (i >= 20) samples.AddTicks(Stopwatch.GetTimestamp() - t0);
        }
        cts.Cancel();
        try { await responder; } catch (OperationCanceledException) { }
        return samples;
    }

    private static async Task<Samples> DurableFloor(NatsConnection nats, int n = 1000)
    {
        var js = new NatsJSContext(nats);
        await js.CreateStreamAsync(new StreamConfig("bench_floor", ["bench_floor.cmd.>"]) { Storage = StreamConfigStorage.File });
        var kv = await new NatsKVContext(js).CreateStoreAsync(new NatsKVConfig("bench_floor_results") { History = 1 });
        var consumer = await js.CreateOrUpdateConsumerAsync("bench_floor", new ConsumerConfig("node1")
        {
            FilterSubject = "bench_floor.cmd.node1", AckPolicy = ConsumerConfigAckPolicy.Explicit,
        });
        using var cts = new CancellationTokenSource();
        var node = Task.Run(async () =>
        {
            await foreach (var m in consumer.ConsumeAsync<byte[]>(cancellationToken: cts.Token))
            {
                await m.AckAsync(cancellationToken: cts.Token);
                await kv.PutAsync(m.Headers!["Nats-Msg-Id"].ToString(), m.Data ?? [], cancellationToken: cts.Token);
            }
        });
        var waiting = new System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource>();
        var watcher = Task.Run(async () =>
        {
            await foreach (var e in kv.WatchAsync<byte[]>(">", opts: new NatsKVWatchOpts { UpdatesOnly = true }, cancellationToken: cts.Token))
                if (waiting.TryRemove(e.Key, out var done)) done.TrySetResult();
        });
        var samples = new Samples();
        var payload = new byte[400];
        for (int i = 0; i < n; i++)
        {
            var id = $"m{i}";
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            waiting[id] = done;
            long t0 = Stopwatch.GetTimestamp();
            var ack = await js.PublishAsync("bench_floor.cmd.node1", payload, headers: new NatsHeaders { ["Nats-Msg-Id"] = id });
            ack.EnsureSuccess();
            await done.Task.WaitAsync(TimeSpan.FromSeconds(10));
            if (i >= 50) samples.AddTicks(Stopwatch.GetTimestamp() - t0);
        }
        cts.Cancel();
        try { await Task.WhenAll(node, watcher); } catch (OperationCanceledException) { }
        return samples;
    }
}
