using System.Diagnostics;
using System.Globalization;
using System.Text;
using NATS.Client.JetStream;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;
using RemoteOps.Steward;
using RemoteOps.TestSupport;

namespace RemoteOps.Benchmarks;

/// <summary>Issue 10's fleet figures, over 1,000 simulated node agents in one RemoteOps.StewardNodeHost --fleet process
/// (so that the server's and the fleet's CPU can be read apart from the benchmark's own):
/// <list type="bullet">
/// <item>hello processing at a 10 s interval: the registry side's CPU (nats-server, and a reader listing the registry
/// as Get-StewardNode does every interval) per hello, from /proc/&lt;pid&gt;/stat over a window, less the same fleet's
/// CPU with hellos an hour apart (its idle pull consumers);</item>
/// <item>Ping to the 1,000 nodes through a 3-server cluster with replicas 3, against a single server.</item>
/// </list>
/// <c>STEWARD_BENCH_FLEET</c> sets the fleet's size (default 1,000), <c>STEWARD_BENCH_WINDOW</c> the CPU window in
/// seconds (default 60), <c>STEWARD_BENCH_ONLY</c> (hello or ping) one half.</summary>
public static class StewardFleetBenchmarks
{
    private static readonly string HostDll = Path.Combine(Repo.Root, "tests", "RemoteOps.StewardNodeHost", "bin", "Release", "net10.0", "RemoteOps.StewardNodeHost.dll");

    public static async Task RunAsync(Report report)
    {
        if (!File.Exists(HostDll)) throw new InvalidOperationException($"{HostDll} missing: dotnet build -c Release tests/RemoteOps.StewardNodeHost");
        var size = int.TryParse(Environment.GetEnvironmentVariable("STEWARD_BENCH_FLEET"), out var n) ? n : 1000;
        var window = TimeSpan.FromSeconds(int.TryParse(Environment.GetEnvironmentVariable("STEWARD_BENCH_WINDOW"), out var w) ? w : 60);
        // STEWARD_BENCH_ONLY=hello or ping runs one half.
        var only = Environment.GetEnvironmentVariable("STEWARD_BENCH_ONLY");
        if (only is null or "hello") await HelloCost(report, size, window);
        if (only is null or "ping") await PingClusterVsSingle(report, size);
    }

    // ---- Hello processing ----------------------------------------------------------------------------------------

    private static async Task HelloCost(Report report, int size, TimeSpan window)
    {
        var busy = await HelloWindow(size, TimeSpan.FromSeconds(10), window);
        var idle = await HelloWindow(size, TimeSpan.FromHours(1), window);
        var hellos = Math.Max(1, busy.Hellos - idle.Hellos);
        report.Add($"hellos of {size} nodes at a 10 s interval, over {window.TotalSeconds:0} s", $"{busy.Hellos} hellos ({busy.Hellos / window.TotalSeconds:0.0}/s)");
        report.Add("registry side: nats-server CPU per hello, all of it / less the idle fleet's",
            $"{Samples.Micros(busy.ServerCpu.TotalMicroseconds / Math.Max(1, busy.Hellos))} / {Samples.Micros((busy.ServerCpu - idle.ServerCpu).TotalMicroseconds / hellos)}");
        report.Add("registry side: nats-server CPU, % of one core (with hellos / idle fleet)",
            $"{100 * busy.ServerCpu / window:0.0}% / {100 * idle.ServerCpu / window:0.0}%");
        report.Add($"registry reader: one listing of {size} nodes (Get-StewardNode's core), CPU", Samples.Micros(busy.ReaderCpuPerRead.TotalMicroseconds),
            $"{busy.ReadWall.TotalMilliseconds:0} ms wall");
        report.Add("registry reader (a listing every 10 s) CPU per hello", Samples.Micros(busy.ReaderCpuPerRead.TotalMicroseconds * busy.Reads / Math.Max(1, busy.Hellos)));
        report.Add("agent side: the fleet process's CPU per hello (less the idle fleet's)", Samples.Micros((busy.FleetCpu - idle.FleetCpu).TotalMicroseconds / hellos));
    }

    private sealed record HelloFigures(long Hellos, TimeSpan ServerCpu, TimeSpan FleetCpu, TimeSpan ReaderCpuPerRead, int Reads, TimeSpan ReadWall);

    private static async Task<HelloFigures> HelloWindow(int size, TimeSpan interval, TimeSpan window)
    {
        await using var server = await NatsServer.StartAsync();
        using var fleet = await FleetSetup.StartAsync([server.Url], 1, size, interval, "h" + (int)interval.TotalSeconds);
        var client = await StewardClient.OpenAsync(fleet.Sender, null, default);
        var js = new NatsJSContext(await ConnectionPool.GetAsync(fleet.Sender));
        var bucket = "KV_" + fleet.Sender.Steward.NodesBucket;
        // Settle: every agent's first hello is in, and the start's burst is over; one listing warms the reader up.
        await Task.Delay(TimeSpan.FromSeconds(15));
        await StewardInventory.GetNodesAsync(client.Store, null, false, DateTimeOffset.UtcNow, default);
        var serverPid = server.ProcessId!.Value;
        long seq0 = (long)(await js.GetStreamAsync(bucket)).Info.State.LastSeq;
        var server0 = CpuTime(serverPid);
        var fleet0 = CpuTime(fleet.Process.Id);
        var reader = TimeSpan.Zero;
        var readWall = TimeSpan.Zero;
        int reads = 0;
        var me = Process.GetCurrentProcess();
        var end = Stopwatch.StartNew();
        // The reader lists the registry every 10 s, as a dashboard polling Get-StewardNode would.
        while (end.Elapsed < window)
        {
            me.Refresh();
            var cpu0 = me.TotalProcessorTime;
            var t0 = Stopwatch.GetTimestamp();
            var nodes = await StewardInventory.GetNodesAsync(client.Store, null, false, DateTimeOffset.UtcNow, default);
            readWall += Stopwatch.GetElapsedTime(t0);
            me.Refresh();
            reader += me.TotalProcessorTime - cpu0;
            reads++;
            if (nodes.Count != size) Console.WriteLine($"  (the registry lists {nodes.Count} of {size})");
            var left = window - end.Elapsed;
            if (left > TimeSpan.Zero) await Task.Delay(left < TimeSpan.FromSeconds(10) ? left : TimeSpan.FromSeconds(10));
        }
        var serverCpu = CpuTime(serverPid) - server0;
        var fleetCpu = CpuTime(fleet.Process.Id) - fleet0;
        long hellos = (long)(await js.GetStreamAsync(bucket)).Info.State.LastSeq - seq0;
        Console.WriteLine($"  interval {interval.TotalSeconds:0} s: {hellos} hellos, server {serverCpu.TotalSeconds:0.00} s CPU, fleet {fleetCpu.TotalSeconds:0.00} s CPU, {reads} reads");
        return new HelloFigures(hellos, serverCpu, fleetCpu, reader / reads, reads, readWall / reads);
    }

    /// <summary>utime + stime of a process, from /proc/&lt;pid&gt;/stat (fields 14 and 15, in clock ticks).</summary>
    private static TimeSpan CpuTime(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        const double TicksPerSecond = 100; // USER_HZ on Linux
        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }

    // ---- Ping through a cluster --------------------------------------------------------------------------------

    private static async Task PingClusterVsSingle(Report report, int size)
    {
        Samples single, clustered;
        {
            await using var server = await NatsServer.StartAsync();
            single = await PingRounds([server.Url], 1, size, "ps");
        }
        {
            await using var cluster = await NatsCluster.StartAsync();
            clustered = await PingRounds(cluster.Urls, 3, size, "pc");
        }
        report.Add($"Ping to '**' over {size} live nodes, single server (replicas 1), median of rounds", Samples.Micros(single.Percentile(50)));
        report.Add($"Ping to '**' over {size} live nodes, 3-server cluster (replicas 3), median of rounds", Samples.Micros(clustered.Percentile(50)),
            Samples.Micros(single.Percentile(50)), clustered.Percentile(50) / single.Percentile(50));
    }

    private static async Task<Samples> PingRounds(IReadOnlyList<string> servers, int replicas, int size, string suffix, int rounds = 3)
    {
        using var fleet = await FleetSetup.StartAsync(servers, replicas, size, TimeSpan.FromSeconds(30), suffix);
        var client = await StewardClient.OpenAsync(fleet.Sender, null, default);
        // Every node is in the registry before the first round.
        using (var limit = new CancellationTokenSource(TimeSpan.FromMinutes(3)))
            while ((await client.ResolveTargetsAsync(["com.bench.**"], limit.Token)).Nodes.Count < size) await Task.Delay(500, limit.Token);
        var samples = new Samples();
        // A window long enough that a loaded machine's slow delivery is counted as time, not as NoAck.
        var request = new StewardRequest { Method = StewardMethod.Ping, AckTimeout = TimeSpan.FromMinutes(2), Retries = 0 };
        for (int round = 0; round <= rounds; round++)
        {
            long t0 = Stopwatch.GetTimestamp();
            var targets = await client.ResolveTargetsAsync(["com.bench.**"], default);
            var sent = await client.SendAsync(request, targets.Nodes, 64, null, default);
            var statuses = new Dictionary<StewardStatus, int>();
            await foreach (var e in client.WaitAsync(sent, null, false, TimeSpan.FromMinutes(5), default))
                if (e.Reply is { } r) statuses[r.Status] = statuses.GetValueOrDefault(r.Status) + 1;
            var took = Stopwatch.GetElapsedTime(t0);
            Console.WriteLine($"  {(replicas == 1 ? "single" : "cluster")} round {round}: {took.TotalSeconds:0.00} s, {targets.Nodes.Count} sent, " +
                string.Join(", ", statuses.Select(x => $"{x.Value} {x.Key}")));
            if (round > 0) samples.Add(took); // the first round warms the client and the agents up
        }
        return samples;
    }

    /// <summary>A simulated fleet in a host process, and a sender's config that trusts it.</summary>
    private sealed class FleetSetup : IDisposable
    {
        public required RemoteOpsConfig Sender { get; init; }
        public required Process Process { get; init; }
        public required string Directory { get; init; }

        public static async Task<FleetSetup> StartAsync(IReadOnlyList<string> servers, int replicas, int size, TimeSpan interval, string suffix)
        {
            var dir = System.IO.Directory.CreateTempSubdirectory("steward-fleet-bench-").FullName;
            var tag = suffix + Guid.NewGuid().ToString("N")[..6];
            using var sender = SigningKey.Generate();
            var keys = Enumerable.Range(0, size).Select(_ => SigningKey.Generate()).ToArray();
            var section = new StewardConfig
            {
                Stream = "fst_" + tag, ResultsBucket = "fsr_" + tag, NodesBucket = "fsn_" + tag, DataDirectory = dir,
                Methods = new Dictionary<StewardMethod, IReadOnlyList<string>> { [StewardMethod.Ping] = ["*"] },
            };
            var serverList = string.Join(", ", servers.Select(s => $"'{s}'"));
            var paths = new List<string>();
            for (int i = 0; i < size; i++)
            {
                var path = Path.Combine(dir, $"n{i}.yaml");
                File.WriteAllText(path, $"""
                    servers: [{serverList}]
                    replicas: {replicas}
                    destination: com.bench.n{i}
                    default_identity: {keys[i].PublicBase58}
                    identities:
                      - {"{"} public: {keys[i].PublicBase58}, private: {keys[i].ExportSeedBase58()}, verbs: ['*'] {"}"}
                    peers:
                      - {"{"} destination: com.bench.ops, public: {sender.PublicBase58}, verbs: ['*'] {"}"}
                    steward:
                      stream: {section.Stream}
                      results_bucket: {section.ResultsBucket}
                      nodes_bucket: {section.NodesBucket}
                      data_directory: {dir}
                      hello_interval: {(int)interval.TotalSeconds}s
                      methods:
                        Ping: {"{"} allowed: ['*'] {"}"}

                    """);
                paths.Add(path);
            }
            var senderConfig = new RemoteOpsConfig
            {
                Servers = servers, Replicas = replicas, Destination = "com.bench.ops",
                Identities = [new IdentityConfig { Public = sender.PublicBase58, Private = sender.ExportSeedBase58(), Verbs = ["*"] }],
                DefaultIdentity = sender.PublicBase58,
                Peers = keys.Select((k, i) => new PeerConfig { Destination = $"com.bench.n{i}", Public = k.PublicBase58, Verbs = ["*"] }).ToArray(),
                Sections = [section],
            };
            foreach (var k in keys) k.Dispose();
            // The sender creates the stream and buckets first (with the replicas asked), as an operator's first cmdlet does.
            await StewardClient.OpenAsync(senderConfig, null, default);
            var list = Path.Combine(dir, "fleet.txt");
            File.WriteAllLines(list, paths);
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var log = new StringBuilder();
            var psi = new ProcessStartInfo("dotnet", [HostDll, "--fleet", list]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
            DataReceivedEventHandler onLine = (_, e) =>
            {
                if (e.Data is null) return;
                lock (log) log.AppendLine(e.Data);
                if (e.Data.StartsWith("READY", StringComparison.Ordinal)) ready.TrySetResult();
            };
            p.OutputDataReceived += onLine;
            p.ErrorDataReceived += onLine;
            p.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("the fleet host exited: " + log));
            long t0 = Stopwatch.GetTimestamp();
            p.Start();
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            await ready.Task.WaitAsync(TimeSpan.FromMinutes(10));
            Console.WriteLine($"  {size} agents started in {Stopwatch.GetElapsedTime(t0).TotalSeconds:0.0} s ({(servers.Count > 1 ? "cluster" : "single server")})");
            return new FleetSetup { Sender = senderConfig, Process = p, Directory = dir };
        }

        public void Dispose()
        {
            if (!Process.HasExited) Process.Kill(entireProcessTree: true);
            Process.WaitForExit();
            Process.Dispose();
            try { System.IO.Directory.Delete(Directory, true); } catch (IOException) { }
        }
    }
}
