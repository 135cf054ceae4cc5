using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using RemoteOps.Steward;
using RemoteOps.TestSupport;

namespace RemoteOps.Benchmarks;

/// <summary>What the audit log and the metrics cost an agent: one audit line alone, and the Ping round trip with the
/// audit log off, on (the default), and on with metrics, measured in turns so that the machine's load falls on each alike.</summary>
public static partial class StewardBenchmarks
{
    public static async Task RunObservabilityAsync(Report report)
    {
        var dir = Directory.CreateTempSubdirectory("steward-bench-audit-").FullName;
        try
        {
            var log = StewardAuditLog.At(Path.Combine(dir, "audit.jsonl"), 10L * 1024 * 1024, 5);
            var line = new StewardAuditRecord
            {
                MessageId = "01JH3C0XK4T6ABCDEFGH", Time = DateTimeOffset.UtcNow, Side = "Agent", Sender = new string('K', 44), SenderName = "com.bench.ops",
                Node = "com.bench.n0", Method = "CliCommand", MethodArgs = ["sh", "-c", "uptime"], AckTimeout = TimeSpan.FromSeconds(5), Retries = 3,
                MethodTimeout = TimeSpan.FromSeconds(10), Verdict = "run", Status = "Succeeded", ExitCode = 0, Duration = TimeSpan.FromMilliseconds(3),
                OutputBytes = 64, OutputSha256 = new string('a', 64),
            };
            var append = new Samples();
            for (var i = 0; i < 20_000; i++)
            {
                var t0 = Stopwatch.GetTimestamp();
                log.Append(line);
                if (i >= 1000) append.AddTicks(Stopwatch.GetTimestamp() - t0);
            }
            report.Add("one audit line (serialize, stat, append, close; rotating at 10 MiB), p50 / p99",
                $"{Samples.Micros(append.Percentile(50))} / {Samples.Micros(append.Percentile(99))}");
        }
        finally { Directory.Delete(dir, true); }

        await using var server = await NatsServer.StartAsync();
        var port = FreeLoopbackPort();
        await using var off = await Fleet.StartAsync(server.Url, 1, "ao", s => s with { AuditLog = false });
        await using var on = await Fleet.StartAsync(server.Url, 1, "an");
        await using var both = await Fleet.StartAsync(server.Url, 1, "am", s => s with { Metrics = $"127.0.0.1:{port}" });
        Samples a = new(), b = new(), c = new();
        // Ten turns of 50 round trips each, so that a burst of load elsewhere falls on all three.
        for (var turn = 0; turn < 10; turn++)
        {
            a.Merge(await RoundTrips(off, StewardMethod.Ping, [], 50));
            b.Merge(await RoundTrips(on, StewardMethod.Ping, [], 50));
            c.Merge(await RoundTrips(both, StewardMethod.Ping, [], 50));
        }
        report.Add("Ping round trip, audit log off, p50", Samples.Micros(a.Percentile(50)));
        report.Add("Ping round trip, audit log on (the default), p50", Samples.Micros(b.Percentile(50)), Samples.Micros(a.Percentile(50)), b.Percentile(50) / a.Percentile(50));
        report.Add("Ping round trip, audit log and metrics on, p50", Samples.Micros(c.Percentile(50)), Samples.Micros(a.Percentile(50)), c.Percentile(50) / a.Percentile(50));
        using var http = new HttpClient();
        var scrape = new Samples();
        for (var i = 0; i < 210; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
            if (i >= 10) scrape.AddTicks(Stopwatch.GetTimestamp() - t0);
        }
        report.Add("a /metrics scrape (HTTP GET on loopback), p50", Samples.Micros(scrape.Percentile(50)));
    }

    private static int FreeLoopbackPort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
