using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Steward;
using RemoteOps.TestSupport;

namespace RemoteOps.Benchmarks;

/// <summary>The seed's input API: a document on the unix socket (and over HTTP) until its Queued line, against the
/// same message queued by StewardClient.SendAsync directly (the path the listener takes); a 1,000-message document;
/// the error outbox's cost per report (one SQLite insert and delete).</summary>
public static class StewardInputBenchmarks
{
    public static async Task RunAsync(Report report)
    {
        await using var server = await NatsServer.StartAsync();
        var dir = Directory.CreateTempSubdirectory("steward-input-bench-").FullName;
        using var key = SigningKey.Generate();
        var section = new StewardConfig
        {
            Stream = "ist", ResultsBucket = "isr", NodesBucket = "isn", DataDirectory = dir, Socket = true,
            HttpListener = $"127.0.0.1:{NatsServer.FreePort()}", AckTimeout = TimeSpan.FromMinutes(5),
        };
        var config = new RemoteOpsConfig
        {
            Servers = [server.Url], Destination = "com.bench.in",
            Identities = [new IdentityConfig { Public = key.PublicBase58, Private = key.ExportSeedBase58(), Verbs = ["*"] }],
            DefaultIdentity = key.PublicBase58, Sections = [section],
        };
        // The messages go to a node with no agent: what is measured is the input side, up to the Queued line.
        await using var agent = await StewardAgent.StartAsync(config, null, null, default);
        var input = agent.Input!;
        var ping = Encoding.UTF8.GetBytes("""{"toNode":"com.bench.n0","method":"Ping"}""");

        var direct = new Samples();
        var client = await StewardClient.OpenAsync(config, null, default);
        var request = new StewardRequest { ToNode = "com.bench.n0", Method = StewardMethod.Ping };
        for (int i = 0; i < 320; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            await client.SendAsync(request, ["com.bench.n0"], 1, null, default);
            if (i >= 20) direct.AddTicks(Stopwatch.GetTimestamp() - t0);
        }
        var socket = new Samples();
        for (int i = 0; i < 320; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            await SocketAsync(input.SocketPath!, ping);
            if (i >= 20) socket.AddTicks(Stopwatch.GetTimestamp() - t0);
        }
        report.Add("input API: one Ping on the unix socket until its Queued line, p50", Samples.Micros(socket.Percentile(50)));
        report.Add("  vs StewardClient.SendAsync of the same Ping (sign, Queued record, publish), p50", Samples.Micros(socket.Percentile(50)),
            Samples.Micros(direct.Percentile(50)), socket.Percentile(50) / direct.Percentile(50));

        using var http = new HttpClient();
        var posts = new Samples();
        for (int i = 0; i < 220; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            using var response = await http.PostAsync(input.HttpPrefix, new ByteArrayContent(ping));
            response.EnsureSuccessStatusCode();
            await response.Content.ReadAsStringAsync();
            if (i >= 20) posts.AddTicks(Stopwatch.GetTimestamp() - t0);
        }
        report.Add("input API: one Ping POSTed over HTTP until its Queued line, p50", Samples.Micros(posts.Percentile(50)));

        var batch = Encoding.UTF8.GetBytes("[" + string.Join(",", Enumerable.Range(0, 1000).Select(i => $$"""{"toNode":"com.bench.n{{i % 10}}","method":"Ping"}""")) + "]");
        var whole = Stopwatch.StartNew();
        var lines = await SocketAsync(input.SocketPath!, batch);
        whole.Stop();
        if (lines.Count(l => l.Contains("\"Queued\"")) != 1000) throw new InvalidOperationException("not all queued: " + lines.FirstOrDefault());
        report.Add("input API: a 1,000-message document on the socket until its last Queued line",
            $"{whole.Elapsed.TotalMilliseconds:0} ms ({1000 / whole.Elapsed.TotalSeconds:0} messages/s; {batch.Length / 1024} KiB)");

        // The outbox's own cost: the report kept and removed again (the publish is the ErrorLog message's own).
        using var local = StewardLocalStore.Open(Path.Combine(dir, "outbox-bench"));
        var keep = new Samples();
        var report1 = new StewardErrorReport { Time = DateTimeOffset.UtcNow, Node = "com.bench.n0", MessageId = "m", Method = "CliCommand", Kind = "Failed", Message = "exit code 1" }.ToJson();
        for (int i = 0; i < 1100; i++)
        {
            var id = StewardSubjects.NewMessageId();
            long t0 = Stopwatch.GetTimestamp();
            local.AddPendingError(id, report1, DateTimeOffset.UtcNow);
            local.RemovePendingError(id);
            if (i >= 100) keep.AddTicks(Stopwatch.GetTimestamp() - t0);
        }
        report.Add("error outbox: a report kept and removed (SQLite insert + delete), p50", Samples.Micros(keep.Percentile(50)));
        try { Directory.Delete(dir, true); } catch (IOException) { }
    }

    private static async Task<string[]> SocketAsync(string path, byte[] body)
    {
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await s.ConnectAsync(new UnixDomainSocketEndPoint(path));
        await using var stream = new NetworkStream(s, ownsSocket: false);
        await stream.WriteAsync(body);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return (await reader.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
