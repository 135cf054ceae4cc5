using System.Diagnostics;
using System.Text;
using RemoteOps.Config;
using RemoteOps.Herder;
using RemoteOps.Processes;
using RemoteOps.TestSupport;

namespace RemoteOps.Benchmarks;

/// <summary>Herder minions against a bare spawn of the same interpreter on the same file, in one run: the overhead
/// is what a minion adds (its directory and files, the sandbox, the memory limit, the clean-up).</summary>
public static class HerderBenchmarks
{
    public static async Task RunAsync(Report report)
    {
        using var dir = new TempDir();
        foreach (var (environment, file, text) in new[] { ("bash", "main.sh", "echo 42"), ("python", "main.py", "print(42)") })
        {
            var spec = HerderEnvironments.Find(new HerderConfig(), environment);
            var program = HerderEnvironments.Locate(spec);
            if (program is null) { Console.WriteLine($"  {environment}: not installed, skipped"); continue; }
            File.WriteAllText(Path.Combine(dir.Path, file), text);
            var bare = await Measure(40, () => OneShotRunner.RunAsync(new OneShotOptions([program, file]) { WorkingDirectory = dir.Path }, CancellationToken.None));
            report.Add($"bare spawn of {environment} ({file}), p50", Samples.Micros(bare.Percentile(50)));
            foreach (var sandbox in new[] { "none", "bubblewrap" })
            {
                var config = Config(dir, sandbox);
                var request = new HerderMinionRequest { Environment = environment, Files = new Dictionary<string, byte[]> { [file] = Encoding.UTF8.GetBytes(text) } };
                var minion = await Measure(40, () => HerderMinionRunner.RunAsync(config, request, CancellationToken.None));
                report.Add($"{environment} minion, sandbox {sandbox}, p50 (overhead over bare: {Samples.Micros(minion.Percentile(50) - bare.Percentile(50))})",
                    Samples.Micros(minion.Percentile(50)), Samples.Micros(bare.Percentile(50)), minion.Percentile(50) / bare.Percentile(50), "≤ bare + 20 ms");
            }
        }

        // Minions per second on one node: as many at once as there are cores, for a few seconds.
        var busy = Config(dir, "bubblewrap");
        var one = new HerderMinionRequest { Environment = "bash", Files = new Dictionary<string, byte[]> { ["main.sh"] = "echo 42"u8.ToArray() } };
        var watch = Stopwatch.StartNew();
        var done = 0;
        await Task.WhenAll(Enumerable.Range(0, Environment.ProcessorCount).Select(async _ =>
        {
            while (watch.Elapsed < TimeSpan.FromSeconds(5))
            {
                await HerderMinionRunner.RunAsync(busy, one, CancellationToken.None);
                Interlocked.Increment(ref done);
            }
        }));
        report.Add($"bash minions per second, sandboxed, {Environment.ProcessorCount} at once", $"{done / watch.Elapsed.TotalSeconds:0}/s");

        // Daemons: attach latency.
        await HerderDaemonBenchmarks.RunAsync(report);
    }

    private static RemoteOpsConfig Config(TempDir dir, string sandbox)
    {
        var path = Path.Combine(dir.Path, $"herder-{sandbox}.yaml");
        File.WriteAllText(path, $"destination: bench\nherder:\n  sandbox: {sandbox}\n");
        return ConfigLoader.Load(path);
    }

    private static async Task<Samples> Measure<T>(int n, Func<Task<T>> run)
    {
        for (var i = 0; i < 5; i++) await run();
        var samples = new Samples();
        for (var i = 0; i < n; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await run();
            samples.AddTicks(Stopwatch.GetTimestamp() - start);
        }
        return samples;
    }
}
