using System.Diagnostics;
using RemoteOps.Steward;
using RemoteOps.TestSupport;

namespace RemoteOps.Benchmarks;

/// <summary>The governor's overhead per call: Ping round trips to one agent with and without -Governor, interleaved so
/// that both see the same machine load, and the governor's own work (take a free slot, free it) alone.</summary>
public static class StewardGovernorBenchmarks
{
    public static async Task RunAsync(Report report)
    {
        await using var server = await NatsServer.StartAsync();
        await using var fleet = await StewardBenchmarks.Fleet.StartAsync(server.Url, 1, "gov");
        var key = fleet.Client.SenderKey();
        var governors = await StewardGovernors.OpenAsync(fleet.Client.Store.Connection, fleet.SenderConfig, default);
        await governors.DefineAsync("bench", 4, key, force: true, default);

        var plain = new StewardRequest { Method = StewardMethod.Ping };
        var governed = plain with { Governor = "bench" };
        string[] node = [fleet.Node(0)];
        var without = new Samples();
        var with = new Samples();
        for (int i = 0; i < 310; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            await StewardBenchmarks.OneAsync(fleet, plain, node);
            long t1 = Stopwatch.GetTimestamp();
            await StewardBenchmarks.OneAsync(fleet, governed, node);
            long t2 = Stopwatch.GetTimestamp();
            if (i < 10) continue;
            without.AddTicks(t1 - t0);
            with.AddTicks(t2 - t1);
        }
        report.Add("Ping round trip without -Governor, p50", Samples.Micros(without.Percentile(50)));
        report.Add("Ping round trip with -Governor (capacity 4, free), p50", Samples.Micros(with.Percentile(50)),
            Samples.Micros(without.Percentile(50)), with.Percentile(50) / without.Percentile(50));
        report.Add("the governor's overhead per call (p50 with − p50 without)", Samples.Micros(with.Percentile(50) - without.Percentile(50)));
        report.Add("the same at p90", Samples.Micros(with.Percentile(90) - without.Percentile(90)));

        // The node's part alone: read the definition, create a free slot, delete it (the renewal is a timer, not per call).
        var slot = new Samples();
        for (int i = 0; i < 510; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            var lease = await governors.AcquireAsync("bench", fleet.Node(0), $"bench-{i}", key, TimeSpan.FromSeconds(30), DateTimeOffset.UtcNow.AddSeconds(10), null, default);
            await lease.ReleaseAsync();
            await lease.DisposeAsync();
            if (i >= 10) slot.AddTicks(Stopwatch.GetTimestamp() - t0);
        }
        report.Add("take a free slot and free it (StewardGovernors alone), p50", Samples.Micros(slot.Percentile(50)));
    }
}
