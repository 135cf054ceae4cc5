using System.Diagnostics;
using System.Globalization;

namespace RemoteOps.Benchmarks;

/// <summary>dotnet run -c Release --project tests/RemoteOps.Benchmarks -- [all|remaphore|seaport|import ...]</summary>
public static class Program
{
    /// <summary>Every suite, by name. Each capability adds its own.</summary>
    private static readonly Dictionary<string, Func<Report, Task>> Suites = new(StringComparer.OrdinalIgnoreCase)
    {
        ["remaphore"] = RemaphoreBenchmarks.RunAsync,
        ["remaphore-micro"] = RemaphoreMicroBenchmarks.RunAsync,
        ["seaport"] = SeaportBenchmarks.RunAsync,
        ["seaport-micro"] = SeaportMicroBenchmarks.RunAsync,
        ["steward"] = StewardBenchmarks.RunAsync,
        ["steward-governor"] = StewardGovernorBenchmarks.RunAsync,
        ["steward-observe"] = StewardBenchmarks.RunObservabilityAsync,
        ["steward-input"] = StewardInputBenchmarks.RunAsync,
        ["steward-pwsh"] = StewardPwshBenchmarks.RunAsync,
        ["herder"] = HerderBenchmarks.RunAsync,
        ["herder-proxy"] = HerderProxyBenchmarks.RunAsync,
        ["steward-fleet"] = StewardFleetBenchmarks.RunAsync,
        ["herder-golem"] = HerderGolemBenchmarks.RunAsync,
        // Also part of "herder"; alone for a quick look at attach latency.
        ["herder-daemon"] = HerderDaemonBenchmarks.RunAsync,
    };

    public static async Task<int> Main(string[] args)
    {
        var names = args.Length == 0 || args[0] == "all" ? Suites.Keys.ToList() : args.ToList();
        var report = new Report();
        foreach (var name in names)
        {
            if (!Suites.TryGetValue(name, out var suite))
            {
                Console.Error.WriteLine($"Unknown suite '{name}'. Known: {string.Join(", ", Suites.Keys)}");
                return 2;
            }
            Console.WriteLine($"== {name}");
            await suite(report);
        }
        report.Print();
        return 0;
    }
}

/// <summary>Collects result lines: a measured figure, its raw-NATS baseline when there is one, and the target.</summary>
public sealed class Report
{
    private readonly List<(string Name, string Value, string Baseline, string Ratio, string Target)> _rows = new();

    public void Add(string name, string value, string baseline = "", double? ratio = null, string target = "")
    {
        var r = ratio is { } x ? x.ToString("0.00", CultureInfo.InvariantCulture) + "×" : "";
        _rows.Add((name, value, baseline, r, target));
        Console.WriteLine($"  {name}: {value} {(baseline.Length > 0 ? $"(raw {baseline}, {r})" : "")} {(target.Length > 0 ? $"target {target}" : "")}");
    }

    public void Print()
    {
        Console.WriteLine();
        Console.WriteLine("| measure | RemoteOps | raw NATS | ratio | target |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var r in _rows) Console.WriteLine($"| {r.Name} | {r.Value} | {r.Baseline} | {r.Ratio} | {r.Target} |");
    }
}

/// <summary>Latency samples and their percentiles.</summary>
public sealed class Samples
{
    private readonly List<double> _micros = new();
    public void Add(TimeSpan t) => _micros.Add(t.TotalMicroseconds);
    public void AddTicks(long stopwatchTicks) => _micros.Add(stopwatchTicks * 1_000_000.0 / Stopwatch.Frequency);
    public int Count => _micros.Count;
    public void Merge(Samples other) => _micros.AddRange(other._micros);

    public double Percentile(double p)
    {
        if (_micros.Count == 0) return double.NaN;
        var sorted = _micros.OrderBy(x => x).ToArray();
        var idx = (int)Math.Clamp(Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1);
        return sorted[idx];
    }

    public static string Micros(double us) => us >= 1000 ? $"{us / 1000:0.00} ms" : $"{us:0} µs";
}
