using System.Diagnostics;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;
using RemoteOps.Steward;
using RemoteOps.TestSupport;

namespace RemoteOps.Benchmarks;

/// <summary>Steward against raw NATS on the same server, in one run. The baselines: a raw NATS.Client.Core
/// request/reply; the same plus a bare process spawn (what CliCommand must do at least); and the durable floor, the
/// fewest JetStream operations any durable command can cost (publish to a stream, a pull consumer's delivery and ack,
/// one key-value put the sender watches).</summary>
public static partial class StewardBenchmarks
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

        var detached = DetachedPieces(report);
        var cliFloor = floor.Percentile(50) + detached.Percentile(50);
        report.Add("CliCommand floor: the durable floor + a detached `true` (start and end), p50", Samples.Micros(cliFloor),
            Samples.Micros(spawn.Percentile(50)), cliFloor / spawn.Percentile(50));

        await using (var fleet = await Fleet.StartAsync(server.Url, 1, "b1"))
        {
            var ping = await RoundTrips(fleet, StewardMethod.Ping, [], 300);
            report.Add("Invoke Ping round trip (sign, queue, agent verifies, records, runs, replies), p50", Samples.Micros(ping.Percentile(50)),
                Samples.Micros(request.Percentile(50)), ping.Percentile(50) / request.Percentile(50), "≤ 2× raw");
            report.Add("Invoke Ping round trip vs the durable floor, p50", Samples.Micros(ping.Percentile(50)),
                Samples.Micros(floor.Percentile(50)), ping.Percentile(50) / floor.Percentile(50));
            var cli = await RoundTrips(fleet, StewardMethod.CliCommand, ["true"], 100);
            report.Add("Invoke CliCommand `true` round trip, p50", Samples.Micros(cli.Percentile(50)),
                Samples.Micros(spawn.Percentile(50)), cli.Percentile(50) / spawn.Percentile(50), "≤ 2× raw + spawn");
            report.Add("Invoke CliCommand `true` round trip vs its floor, p50", Samples.Micros(cli.Percentile(50)),
                Samples.Micros(cliFloor), cli.Percentile(50) / cliFloor);
            await Throughput(report, fleet, 1000);
        }

        var size = int.TryParse(Environment.GetEnvironmentVariable("STEWARD_BENCH_FLEET"), out var n) ? n : 1000;
        await FleetPing(report, server.Url, size);
    }

    /// <summary>Where a detached CliCommand's time goes: the wrapper's start, its end, the leftovers check, the files.</summary>
    private static Samples DetachedPieces(Report report, int n = 60)
    {
        var whole = new Samples();
        var dir = System.IO.Directory.CreateTempSubdirectory("steward-detached-").FullName;
        var start = new Samples(); var wait = new Samples(); var leftovers = new Samples(); var read = new Samples();
        for (int i = 0; i < n; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            var command = DetachedCommand.Start(Path.Combine(dir, $"r{i}"), "true", [], null);
            long t1 = Stopwatch.GetTimestamp();
            command.WaitAsync(DateTimeOffset.UtcNow.AddSeconds(10), default).GetAwaiter().GetResult();
            long t2 = Stopwatch.GetTimestamp();
            command.KillLeftoversAsync().GetAwaiter().GetResult();
            long t3 = Stopwatch.GetTimestamp();
            _ = command.ExitCode; command.Read("stdout", 1 << 20); command.Read("stderr", 1 << 16);
            long t4 = Stopwatch.GetTimestamp();
            if (i < 10) continue;
            start.AddTicks(t1 - t0); wait.AddTicks(t2 - t1); leftovers.AddTicks(t3 - t2); read.AddTicks(t4 - t3); whole.AddTicks(t4 - t0);
        }
        report.Add("detached `true`: start / wait / leftovers / read, p50",
            $"{Samples.Micros(start.Percentile(50))} / {Samples.Micros(wait.Percentile(50))} / {Samples.Micros(leftovers.Percentile(50))} / {Samples.Micros(read.Percentile(50))}");
        try { System.IO.Directory.Delete(dir, true); } catch (IOException) { }
        return whole;
    }

    /// <summary>A sender and <c>n</c> agents in this process, each with its own name, identity, consumer and local store,
    /// on their own stream and buckets.</summary>
    internal sealed class Fleet : IAsyncDisposable
    {
        public required RemoteOpsConfig SenderConfig { get; init; }
        public required StewardClient Client { get; init; }
        public required List<StewardAgent> Agents { get; init; }
        public required string Directory { get; init; }
        public NatsConnection? AgentConnection { get; init; }
        public string Node(int i) => $"com.bench.n{i}";

        public static async Task<Fleet> StartAsync(string url, int n, string suffix, Func<StewardConfig, StewardConfig>? change = null, Action<StewardLogEntry>? log = null)
        {
            var dir = System.IO.Directory.CreateTempSubdirectory("steward-bench-").FullName;
            using var sender = SigningKey.Generate();
            var nodeKeys = Enumerable.Range(0, n).Select(_ => SigningKey.Generate()).ToArray();
            var section = new StewardConfig
            {
                Stream = "bst_" + suffix, ResultsBucket = "bsr_" + suffix, NodesBucket = "bsn_" + suffix, DataDirectory = dir,
                HelloInterval = TimeSpan.FromSeconds(30), MethodTimeout = TimeSpan.FromSeconds(30),
                Methods = new Dictionary<StewardMethod, IReadOnlyList<string>> { [StewardMethod.Ping] = ["*"], [StewardMethod.CliCommand] = ["*"] },
            };
            section = change?.Invoke(section) ?? section;
            var senderPeer = new PeerConfig { Destination = "com.bench.ops", Public = sender.PublicBase58, Verbs = ["*"] };
            var senderConfig = new RemoteOpsConfig
            {
                Servers = [url], Destination = "com.bench.ops",
                Identities = [new IdentityConfig { Public = sender.PublicBase58, Private = sender.ExportSeedBase58(), Verbs = ["*"] }],
                DefaultIdentity = sender.PublicBase58,
                Peers = nodeKeys.Select((k, i) => new PeerConfig { Destination = $"com.bench.n{i}", Public = k.PublicBase58, Verbs = ["*"] }).ToArray(),
                Sections = [section],
            };
            var client = await StewardClient.OpenAsync(senderConfig, null, default);
            var agents = new List<StewardAgent>();
            // A lone agent has a connection of its own, as an agent on another machine would (on a shared connection the
            // server reads the client's and the agent's requests in one sequence). A simulated fleet shares one
            // connection (one process); each agent still has its own consumer, identity and SQLite store.
            NatsConnection? own = null;
            if (n == 1)
            {
                own = new NatsConnection(new NatsOpts { Url = url });
                await own.ConnectAsync();
            }
            for (int i = 0; i < n; i++)
            {
                var config = new RemoteOpsConfig
                {
                    Servers = [url], Destination = $"com.bench.n{i}",
                    Identities = [new IdentityConfig { Public = nodeKeys[i].PublicBase58, Private = nodeKeys[i].ExportSeedBase58(), Verbs = ["*"] }],
                    DefaultIdentity = nodeKeys[i].PublicBase58,
                    Peers = [senderPeer],
                    Sections = [section],
                };
                agents.Add(await StewardAgent.StartAsync(config, null, log, default, own));
            }
            foreach (var k in nodeKeys) k.Dispose();
            return new Fleet { SenderConfig = senderConfig, Client = client, Agents = agents, Directory = dir, AgentConnection = own };
        }

        public async ValueTask DisposeAsync()
        {
            await Parallel.ForEachAsync(Agents, async (a, _) => await a.DisposeAsync());
            if (AgentConnection is not null) await AgentConnection.DisposeAsync();
            try { System.IO.Directory.Delete(Directory, true); } catch (IOException) { }
        }
    }

    internal static async Task<StewardReply> OneAsync(Fleet fleet, StewardRequest request, IReadOnlyList<string> nodes)
    {
        var sent = await fleet.Client.SendAsync(request, nodes, 32, null, default);
        StewardReply? last = null;
        await foreach (var e in fleet.Client.WaitAsync(sent, null, false, TimeSpan.FromSeconds(60), default))
            if (e.Reply is { } r) last = r;
        if (last is null || last.Status != StewardStatus.Succeeded) throw new InvalidOperationException($"no success: {last?.Status} {last?.Error}");
        return last;
    }

    private static async Task<Samples> RoundTrips(Fleet fleet, StewardMethod method, string[] args, int n)
    {
        var request = new StewardRequest { Method = method, MethodArgs = args };
        var samples = new Samples();
        string[] node = [fleet.Node(0)];
        for (int i = 0; i < n + 10; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            await OneAsync(fleet, request, node);
            if (i >= 10) samples.AddTicks(Stopwatch.GetTimestamp() - t0);
        }
        return samples;
    }

    private static async Task Throughput(Report report, Fleet fleet, int n)
    {
        // 1,000 Pings to one node, sent at once (throttle 32), each timed from the send to its reply.
        var request = new StewardRequest { Method = StewardMethod.Ping };
        var nodes = Enumerable.Repeat(fleet.Node(0), n).ToArray();
        long t0 = Stopwatch.GetTimestamp();
        var sent = await fleet.Client.SendAsync(request, nodes, 32, null, default);
        var samples = new Samples();
        int ok = 0;
        await foreach (var e in fleet.Client.WaitAsync(sent, null, false, TimeSpan.FromSeconds(120), default))
            if (e.Reply is { } r)
            {
                samples.AddTicks(Stopwatch.GetTimestamp() - t0);
                if (r.Status == StewardStatus.Succeeded) ok++;
            }
        var seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        report.Add($"{n} Pings to one node: throughput", $"{ok / seconds:0} msg/s ({ok}/{n} succeeded)");
        report.Add($"{n} Pings to one node: p99 from the first send", Samples.Micros(samples.Percentile(99)));
    }

    private static async Task FleetPing(Report report, string url, int size)
    {
        long t0 = Stopwatch.GetTimestamp();
        await using var fleet = await Fleet.StartAsync(url, size, "fleet");
        report.Add($"simulated fleet: {size} agents started in one process", $"{Stopwatch.GetElapsedTime(t0).TotalSeconds:0.0} s");
        var before = GC.GetTotalMemory(false);
        // One call with a pattern: expand against the registry, send to each, wait for every reply.
        t0 = Stopwatch.GetTimestamp();
        var targets = await fleet.Client.ResolveTargetsAsync(["com.bench.**"], default);
        var sent = await fleet.Client.SendAsync(new StewardRequest { Method = StewardMethod.Ping }, targets.Nodes, 64, null, default);
        int ok = 0;
        await foreach (var e in fleet.Client.WaitAsync(sent, null, false, TimeSpan.FromSeconds(120), default))
            if (e.Reply is { Status: StewardStatus.Succeeded }) ok++;
        var seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        report.Add($"Ping to '**' over {size} live nodes (StewardClient): all answered", $"{seconds:0.00} s ({ok}/{targets.Nodes.Count} answered)", "", null, "≤ 5 s");

        // The same through the cmdlet, as a user types it, in another process (a second call: the first loads the module
        // and connects).
        var config = Path.Combine(fleet.Directory, "sender.yaml");
        File.WriteAllText(config, SenderYaml(fleet.SenderConfig));
        var script = $$"""
            $c = '{{config}}'
            $null = Invoke-StewardMethod -ToNode com.bench.n0 -Method Ping -ConfigPath $c
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $r = @(Invoke-StewardMethod -ToNode 'com.bench.**' -Method Ping -ConfigPath $c -ThrottleLimit 64)
            $s = $sw.Elapsed.TotalSeconds
            "RESULT $($s.ToString([Globalization.CultureInfo]::InvariantCulture)) $(@($r | Where-Object Status -eq 'Succeeded').Count)"
            """;
        var psi = new ProcessStartInfo(PwshHost, ["-Command", script]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        var line = (await stdout).Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
        if (line is null) { report.Add($"Invoke-StewardMethod -ToNode '**' over {size} live nodes", "failed: " + (await stderr).Trim()); return; }
        var parts = line[7..].Trim().Split(' ');
        report.Add($"Invoke-StewardMethod -ToNode '**' -Method Ping over {size} live nodes: all answered",
            $"{double.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture):0.00} s ({parts[1]}/{size} Succeeded)", "", null, "≤ 5 s");
    }

    private static string PwshHost => Path.Combine(Repo.Root, "tests", "RemoteOps.PwshHost", "bin", "Release", "net10.0",
        OperatingSystem.IsWindows() ? "RemoteOps.PwshHost.exe" : "RemoteOps.PwshHost");

    private static string SenderYaml(RemoteOpsConfig c)
    {
        var s = c.Steward;
        var yaml = new System.Text.StringBuilder();
        yaml.AppendLine($"servers: ['{c.Servers[0]}']");
        yaml.AppendLine($"destination: {c.Destination}");
        yaml.AppendLine($"default_identity: {c.DefaultIdentity}");
        yaml.AppendLine("identities:");
        foreach (var i in c.Identities) yaml.AppendLine($"  - {{ public: {i.Public}, private: {i.Private}, verbs: ['*'] }}");
        yaml.AppendLine("peers:");
        foreach (var peer in c.Peers) yaml.AppendLine($"  - {{ destination: {peer.Destination}, public: {peer.Public}, verbs: ['*'] }}");
        yaml.AppendLine("steward:");
        yaml.AppendLine($"  stream: {s.Stream}");
        yaml.AppendLine($"  results_bucket: {s.ResultsBucket}");
        yaml.AppendLine($"  nodes_bucket: {s.NodesBucket}");
        return yaml.ToString();
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
