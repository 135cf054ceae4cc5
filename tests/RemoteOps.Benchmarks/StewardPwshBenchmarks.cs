using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Text.Json;
using NATS.Client.Core;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Steward;
using RemoteOps.TestSupport;

namespace RemoteOps.Benchmarks;

/// <summary>PwshScript (Invoke-StewardCommand's method) against its baselines in one run: a raw NATS request/reply, the
/// same scriptblock in a warm local runspace, and a new <c>pwsh -c</c> per call (the stand-in for Invoke-Command's own
/// figure: Invoke-Command to another computer needs WinRM or an SSH server, which this machine does not run). Then
/// <c>{ Get-Date }</c> on 100 simulated nodes (agents in this process, each with one warm worker).</summary>
public static class StewardPwshBenchmarks
{
    public static async Task RunAsync(Report report)
    {
        await using var server = await NatsServer.StartAsync();
        await using var raw = new NatsConnection(new NatsOpts { Url = server.Url });
        await raw.ConnectAsync();
        var pwsh = PwshCommand();
        Console.WriteLine($"  pwsh worker: {string.Join(' ', pwsh)}");

        // STEWARD_PWSH_BENCH_ONLY=fleet runs the fleet measure alone; =warm the single-node measures alone.
        var only = Environment.GetEnvironmentVariable("STEWARD_PWSH_BENCH_ONLY");
        if (only != "fleet") await SingleNodeAsync(report, server.Url, raw, pwsh);
        if (only != "warm") await FleetAsync(report, server, pwsh);
    }

    private static async Task SingleNodeAsync(Report report, string url, NatsConnection raw, IReadOnlyList<string> pwsh)
    {
        var request = await RawRequestReply(raw);
        var runspace = LocalRunspace();
        report.Add("raw NATS request/reply, p50 / p95", $"{Samples.Micros(request.Percentile(50))} / {Samples.Micros(request.Percentile(95))}");
        report.Add("`{ 1 }` in a warm local runspace, p50 / p95", $"{Samples.Micros(runspace.Percentile(50))} / {Samples.Micros(runspace.Percentile(95))}");
        var cold = PwshPerCall(pwsh, "1", 10);
        report.Add("a new `pwsh -NoProfile -c 1` per call (Invoke-Command stand-in), p50", Samples.Micros(cold.Percentile(50)));

        await using (var one = await PwshFleet.StartAsync(url, 1, "p1", pwsh, workers: 2))
        {
            await one.ReadyAsync();
            var warm = new Samples();
            // STEWARD_PWSH_BENCH_CALLS: how many warm round trips are timed (after 5 untimed), default 30.
            var calls = int.TryParse(Environment.GetEnvironmentVariable("STEWARD_PWSH_BENCH_CALLS"), out var c) && c > 0 ? c : 30;
            for (int i = 0; i < calls + 5; i++)
            {
                // A warm round trip: a worker waits (the pool refills in the background between calls).
                await one.ReadyAsync();
                long t0 = Stopwatch.GetTimestamp();
                await one.RunAsync("1", [one.Node(0)]);
                if (i >= 5) warm.AddTicks(Stopwatch.GetTimestamp() - t0);
            }
            report.Add("Invoke PwshScript `{ 1 }` warm round trip (sign, queue, agent verifies, runs in a warm worker, streams the object, replies), p50 / p95",
                $"{Samples.Micros(warm.Percentile(50))} / {Samples.Micros(warm.Percentile(95))}",
                Samples.Micros(request.Percentile(50)), warm.Percentile(50) / request.Percentile(50), "≤ 10 ms p50");
            report.Add("the same against the warm local runspace, p50", Samples.Micros(warm.Percentile(50)),
                Samples.Micros(runspace.Percentile(50)), warm.Percentile(50) / runspace.Percentile(50));
            report.Add("the same against a new `pwsh -c` per call, p50", Samples.Micros(warm.Percentile(50)),
                Samples.Micros(cold.Percentile(50)), warm.Percentile(50) / cold.Percentile(50));
            // Back to back, faster than a pwsh starts: the pool empties and later calls wait for a worker's start.
            var burst = new Samples();
            await one.ReadyAsync();
            for (int i = 0; i < 10; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                await one.RunAsync("1", [one.Node(0)]);
                burst.AddTicks(Stopwatch.GetTimestamp() - t0);
            }
            report.Add("`{ 1 }` 10 calls back to back (pool of 2 empties), p50 / max", $"{Samples.Micros(burst.Percentile(50))} / {Samples.Micros(burst.Percentile(100))}");
        }

    }

    private static async Task FleetAsync(Report report, NatsServer server, IReadOnlyList<string> pwsh)
    {
        var url = server.Url;
        var size = int.TryParse(Environment.GetEnvironmentVariable("STEWARD_PWSH_BENCH_FLEET"), out var n) ? n : 100;
        // STEWARD_PWSH_BENCH_ROUNDS: how many times the fleet is asked (each round after every worker is warm again).
        var rounds = int.TryParse(Environment.GetEnvironmentVariable("STEWARD_PWSH_BENCH_ROUNDS"), out var r) && r > 0 ? r : 1;
        // STEWARD_PWSH_BENCH_STREAMED=1: every second round waits as Invoke-StewardCommand does, output streamed live.
        var streamedRounds = Environment.GetEnvironmentVariable("STEWARD_PWSH_BENCH_STREAMED") == "1";
        long s0 = Stopwatch.GetTimestamp();
        // What went wrong while the fleet ran, printed after each round: the agents' warnings, the shared connection's
        // events, the server's warnings and errors.
        var events = new System.Collections.Concurrent.ConcurrentQueue<string>();
        void Note(string what) => events.Enqueue($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {what}");
        await using (var fleet = await PwshFleet.StartAsync(url, size, "pf" + Guid.NewGuid().ToString("N")[..6], pwsh, workers: 1,
            log: e => { if (e.Level == StewardLogLevel.Warning) Note("agent: " + e.Text); }))
        {
            var connection = fleet.Client.Store.Connection;
            connection.ConnectionDisconnected += (_, a) => { Note($"connection: disconnected ({a.Message})"); return default; };
            connection.ConnectionOpened += (_, a) => { Note($"connection: opened ({a.Message})"); return default; };
            connection.MessageDropped += (_, a) => { Note($"connection: a message on {a.Subject} dropped ({a.Pending} pending)"); return default; };
            connection.SlowConsumerDetected += (_, a) => { Note($"connection: slow consumer {a.Subscription.Subject}"); return default; };
            var serverLogSeen = server.LogText.Length;
            void PrintEvents()
            {
                var log = server.LogText;
                var lines = log[serverLogSeen..].Split('\n').Where(l => l.Contains("[WRN]") || l.Contains("[ERR]")).Select(l => "server: " + l.Trim()).ToList();
                serverLogSeen = log.Length;
                while (events.TryDequeue(out var e)) lines.Add(e);
                foreach (var l in lines.Take(20)) Console.WriteLine("    ! " + l);
                if (lines.Count > 20) Console.WriteLine($"    ! ... and {lines.Count - 20} more");
            }
            await fleet.ReadyAsync(TimeSpan.FromMinutes(10));
            PrintEvents();
            report.Add($"{size} agents started in one process, each with 1 warm pwsh worker ready", $"{Stopwatch.GetElapsedTime(s0).TotalSeconds:0} s");
            for (int round = 1; round <= rounds; round++)
            {
                if (round > 1) await fleet.ReadyAsync(TimeSpan.FromMinutes(10));
                var streamed = streamedRounds && round % 2 == 0;
                var label = (rounds > 1 ? $" (round {round} of {rounds})" : "") + (streamed ? ", output streamed as Invoke-StewardCommand waits" : "");
                long t0 = Stopwatch.GetTimestamp();
                var sentAtClock = DateTimeOffset.UtcNow;
                var targets = await fleet.Client.ResolveTargetsAsync(["com.bench.**"], default);
                var resolved = Stopwatch.GetElapsedTime(t0);
                // Replies only, unless streamed (each reply carries its object count): the fleet figure is "all answered".
                var answers = new Samples();
                var answered = new List<(StewardRecord Record, DateTimeOffset At)>();
                var sentAt = TimeSpan.Zero;
                var (ok, objects) = await fleet.RunAsync("Get-Date", targets.Nodes, throttle: 64, streamOutput: streamed,
                    answered: rec => { answers.AddTicks(Stopwatch.GetTimestamp() - t0); answered.Add((rec, DateTimeOffset.UtcNow)); },
                    sentAction: () => sentAt = Stopwatch.GetElapsedTime(t0));
                var seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                report.Add($"Invoke PwshScript `{{ Get-Date }}` on '**' over {size} live nodes: all answered{label}", $"{seconds:0.00} s ({ok}/{targets.Nodes.Count} Succeeded, {objects} objects)", "", null, "≤ 3 s");
                report.Add("  targets resolved / all sent, from the start", $"{resolved.TotalMilliseconds:0} ms / {sentAt.TotalMilliseconds:0} ms");
                report.Add("  its answers from the start: first / p50 / p90", $"{Samples.Micros(answers.Percentile(0))} / {Samples.Micros(answers.Percentile(50))} / {Samples.Micros(answers.Percentile(90))}");
                // Where the last answer's time went, from its record's own times (one clock: one process).
                if (answered.OrderByDescending(a => a.At).FirstOrDefault() is { Record: { } last } slowest)
                    report.Add("  the last answer: started / finished / written / answered, from the start",
                        $"{Offset(last.Started)} / {Offset(last.Finished)} / {Offset(last.Updated)} / {Offset(slowest.At)} ({last.Node})");
                string Offset(DateTimeOffset? t) => t is { } v ? $"{(v - sentAtClock).TotalMilliseconds:0} ms" : "-";
                PrintEvents();
            }
        }
        var perCall = PwshPerCall(pwsh, "Get-Date", 5);
        report.Add($"stand-in: {size} × a new `pwsh -c Get-Date` (p50 {Samples.Micros(perCall.Percentile(50))}) on 2 cores, estimated", $"{perCall.Percentile(50) * size / 2 / 1e6:0} s");
    }

    /// <summary>The pwsh the repository's tool manifest restores, as [dotnet, …/pwsh.dll] (as the tests locate it).</summary>
    private static IReadOnlyList<string> PwshCommand()
    {
        var root = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(Repo.Root, ".config", "dotnet-tools.json")));
        var version = manifest.RootElement.GetProperty("tools").GetProperty("powershell").GetProperty("version").GetString();
        var tools = Path.Combine(root, "powershell", version ?? "", "tools");
        var dll = Directory.Exists(tools) ? Directory.EnumerateFiles(tools, "pwsh.dll", SearchOption.AllDirectories)
            .FirstOrDefault(f => f.Contains(OperatingSystem.IsWindows() ? "/win/" : "/unix/", StringComparison.Ordinal)) : null;
        return dll is null ? ["dotnet", "pwsh"] : ["dotnet", dll];
    }

    private static Samples LocalRunspace(int n = 2000)
    {
        using var rs = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
        rs.Open();
        var samples = new Samples();
        for (int i = 0; i < n + 100; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            using var ps = PowerShell.Create(rs);
            ps.AddScript("1").Invoke();
            if (i >= 100) samples.AddTicks(Stopwatch.GetTimestamp() - t0);
        }
        return samples;
    }

    private static Samples PwshPerCall(IReadOnlyList<string> pwsh, string script, int n)
    {
        var samples = new Samples();
        for (int i = 0; i < n; i++)
        {
            var psi = new ProcessStartInfo(pwsh[0]) { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in pwsh.Skip(1).Concat(["-NoLogo", "-NoProfile", "-NonInteractive", "-Command", script])) psi.ArgumentList.Add(a);
            long t0 = Stopwatch.GetTimestamp();
            using var p = Process.Start(psi)!;
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            samples.AddTicks(Stopwatch.GetTimestamp() - t0);
        }
        return samples;
    }

    private static async Task<Samples> RawRequestReply(NatsConnection nats, int n = 1000)
    {
        await using var sub = await nats.SubscribeCoreAsync<byte[]>("bench.pwsh.raw");
        using var cts = new CancellationTokenSource();
        var responder = Task.Run(async () => { await foreach (var m in sub.Msgs.ReadAllAsync(cts.Token)) await m.ReplyAsync(m.Data); });
        var samples = new Samples();
        var payload = new byte[200];
        for (int i = 0; i < n + 100; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            await nats.RequestAsync<byte[], byte[]>("bench.pwsh.raw", payload);
            if (i >= 100) samples.AddTicks(Stopwatch.GetTimestamp() - t0);
        }
        cts.Cancel();
        try { await responder; } catch (OperationCanceledException) { }
        return samples;
    }

    /// <summary>The steward benchmark's fleet (<see cref="StewardBenchmarks.Fleet"/>) serving PwshScript, each agent with
    /// its own warm workers.</summary>
    private sealed class PwshFleet(StewardBenchmarks.Fleet fleet) : IAsyncDisposable
    {
        public StewardClient Client => fleet.Client;
        public List<StewardAgent> Agents => fleet.Agents;
        public string Node(int i) => fleet.Node(i);

        public static async Task<PwshFleet> StartAsync(string url, int n, string suffix, IReadOnlyList<string> pwsh, int workers, Action<StewardLogEntry>? log = null) =>
            new(await StewardBenchmarks.Fleet.StartAsync(url, n, suffix, s => s with
            {
                MethodTimeout = TimeSpan.FromSeconds(60), AckTimeout = TimeSpan.FromSeconds(30), PwshCommand = pwsh, PwshWorkers = workers,
                Methods = new Dictionary<StewardMethod, IReadOnlyList<string>> { [StewardMethod.PwshScript] = ["*"] },
            }, log));

        /// <summary>Until every agent's pool is full of ready workers.</summary>
        public async Task ReadyAsync(TimeSpan? within = null)
        {
            var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromMinutes(2));
            while (Agents.Any(a => a.PwshPool.ReadyCount < a.PwshPool.Size))
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"{Agents.Count(a => a.PwshPool.ReadyCount < a.PwshPool.Size)} agent(s) without ready workers");
                await Task.Delay(20);
            }
        }

        /// <summary>Sends the script, waits for every reply and its streamed objects; (succeeded, objects).</summary>
        public async Task<(int Ok, int Objects)> RunAsync(string script, IReadOnlyList<string> nodes, int throttle = 32, bool streamOutput = true, Action<StewardRecord>? answered = null, Action? sentAction = null)
        {
            var request = StewardPwsh.Request(nodes, script, [], new Dictionary<string, string>(), [], false, null, null, null);
            var sent = await Client.SendAsync(request, nodes, throttle, null, default);
            sentAction?.Invoke();
            int ok = 0, objects = 0;
            await foreach (var e in Client.WaitAsync(sent, null, streamOutput, TimeSpan.FromSeconds(120), default))
            {
                if (e.Output is { Line: ['O', ':', ..] }) objects++;
                if (e.Reply is { } r)
                {
                    answered?.Invoke(e.Record);
                    if (!streamOutput && r.Output.StartsWith("1 object", StringComparison.Ordinal)) objects++;
                    if (r.Status == StewardStatus.Succeeded) ok++;
                    else if (nodes.Count == 1) throw new InvalidOperationException($"{r.Node}: {r.Status} {r.Error}");
                }
            }
            if (nodes.Count == 1 && objects != 1) throw new InvalidOperationException($"{objects} objects");
            return (ok, objects);
        }

        public ValueTask DisposeAsync() => fleet.DisposeAsync();
    }
}
