using System.Globalization;
using System.Text;
using RemoteOps.Config;
using RemoteOps.Herder;
using RemoteOps.Steward;
using RemoteOps.TestSupport;

namespace RemoteOps.Benchmarks;

/// <summary>Attach latency: from the moment a daemon writes a line (its own clock, bash's $EPOCHREALTIME) to the moment
/// the attached client has it, for a daemon of this session (the log file followed here) and for one on a node agent
/// over NATS (the client's long-polled HerderDaemon reads).</summary>
public static class HerderDaemonBenchmarks
{
    private const int Warmup = 5, Runs = 40;
    private const string Script = "while read l; do echo \"$EPOCHREALTIME\"; done";

    public static async Task RunAsync(Report report)
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "daemons.yaml");
        File.WriteAllText(path, $"destination: bench\nsteward:\n  data_directory: {dir.Path}/data\n");
        var config = ConfigLoader.Load(path);
        await using (var host = await HerderDaemonHost.OpenAsync(config, Path.Combine(dir.Path, "daemons"), "bench", adopts: false))
        {
            await host.StartAsync(Request(), "bench", CancellationToken.None);
            var local = await MeasureAsync(config, new HerderDaemonTarget(null, host, "bench"));
            report.Add("daemon line to the attached console, this session (log files followed through inotify), p50", Samples.Micros(local.Percentile(50)));
            report.Add("daemon line to the attached console, this session, p99", Samples.Micros(local.Percentile(99)));
        }

        await using var server = await NatsServer.StartAsync();
        await using var fleet = await StewardBenchmarks.Fleet.StartAsync(server.Url, 1, "hd" + Guid.NewGuid().ToString("N")[..6], s => s with
        {
            Methods = new Dictionary<StewardMethod, IReadOnlyList<string>> { [StewardMethod.Ping] = ["*"], [StewardMethod.HerderDaemon] = ["*"] },
        });
        var node = new HerderDaemonTarget(fleet.Node(0), null, "");
        await HerderDaemons.StartAsync(fleet.SenderConfig, node, Request(), CancellationToken.None);
        var remote = await MeasureAsync(fleet.SenderConfig, node);
        report.Add("daemon line to the attached console, on a node agent over NATS (long poll), p50", Samples.Micros(remote.Percentile(50)));
        report.Add("daemon line to the attached console, on a node agent over NATS, p99", Samples.Micros(remote.Percentile(99)));
        await HerderDaemons.StopAsync(fleet.SenderConfig, node, "clock", CancellationToken.None);
    }

    private static HerderDaemonRequest Request() => new()
    {
        Name = "clock", Environment = "bash", Files = new Dictionary<string, byte[]> { ["main.sh"] = Encoding.UTF8.GetBytes(Script) },
    };

    /// <summary>Attaches, then asks for one line at a time (a line to its stdin) and takes the time from the daemon's
    /// write to its arrival here.</summary>
    private static async Task<Samples> MeasureAsync(RemoteOpsConfig config, HerderDaemonTarget target)
    {
        var (_, position) = await HerderDaemons.ReadLogAsync(config, target, "clock", 0, CancellationToken.None);
        using var stop = new CancellationTokenSource();
        var arrived = System.Threading.Channels.Channel.CreateUnbounded<(string Line, DateTimeOffset At)>();
        var follow = Task.Run(async () =>
        {
            await foreach (var line in HerderDaemons.FollowAsync(config, target, "clock", position, stop.Token))
                arrived.Writer.TryWrite((line.Line, DateTimeOffset.UtcNow));
        });
        var samples = new Samples();
        for (var i = 0; i < Warmup + Runs; i++)
        {
            await HerderDaemons.WriteInputAsync(config, target, "clock", ["tick"], CancellationToken.None);
            var (line, at) = await arrived.Reader.ReadAsync();
            var written = DateTimeOffset.UnixEpoch.AddTicks((long)(double.Parse(line, CultureInfo.InvariantCulture) * TimeSpan.TicksPerSecond));
            if (i >= Warmup) samples.Add(at - written);
        }
        await stop.CancelAsync();
        try { await follow; } catch (OperationCanceledException) { }
        return samples;
    }
}
