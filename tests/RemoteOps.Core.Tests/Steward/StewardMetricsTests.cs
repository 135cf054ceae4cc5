using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using RemoteOps.Core.Tests.Remaphore;
using RemoteOps.Steward;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>steward.metrics: a real agent serves Prometheus text at http://host:port/metrics, scraped here with real
/// HTTP GETs; the counters move with real messages, each agent has its own registry, and a port that cannot be bound
/// is a warning, never a node that does not serve.</summary>
public class StewardMetricsTests(NatsFixture nats) : IClassFixture<NatsFixture>
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private static StewardTestBed Bed(string server, string endpoint) => new(server, s => s with { Metrics = endpoint });

    /// <summary>A bed from <paramref name="make"/> (given a free port) whose agent serves its metrics on that port, and
    /// the port. A port found free can be taken by another process before the agent binds it (the agent then only warns,
    /// by design): then the bed is dropped and another port is tried. <paramref name="beforeStart"/> runs before each
    /// agent starts.</summary>
    private static async Task<(StewardTestBed Bed, int Port)> StartServedAsync(Func<int, StewardTestBed> make, Func<StewardTestBed, Task>? beforeStart = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort();
            var bed = make(port);
            if (beforeStart is not null) await beforeStart(bed);
            await bed.StartAgentAsync();
            if (!bed.LogText.Contains("metrics not served", StringComparison.Ordinal)) return (bed, port);
            var log = bed.LogText;
            await bed.DisposeAsync();
            if (attempt == 5) throw new InvalidOperationException("No free port could be bound in 5 attempts:\n" + log);
        }
    }

    private static Task<string> ScrapeAsync(int port) => Http.GetStringAsync($"http://127.0.0.1:{port}/metrics");

    /// <summary>The value of one series (name and labels as Prometheus writes them, node label first); 0 when absent.</summary>
    private static double Value(string text, string series)
    {
        var m = Regex.Match(text, "^" + Regex.Escape(series) + @" (\S+)$", RegexOptions.Multiline);
        return m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>A series as prometheus-net writes it: the metric's own labels, then the node's static one.</summary>
    private static string S(string name, string labels = "") =>
        $"{name}{{{(labels.Length > 0 ? labels + "," : "")}node=\"{StewardTestBed.NodeName}\"}}";

    private static async Task<string> AwaitScrapeAsync(int port, Func<string, bool> done)
    {
        var until = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var text = await ScrapeAsync(port);
            if (done(text)) return text;
            if (DateTimeOffset.UtcNow > until) throw new TimeoutException("The metrics did not get there:\n" + text);
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task An_agent_serves_its_metrics_and_the_counters_move_with_real_messages()
    {
        var (bed, port) = await StartServedAsync(p => Bed(nats.Server.Url, $"127.0.0.1:{p}"));
        await using var _ = bed;
        var before = await AwaitScrapeAsync(port, t => Value(t, S("steward_hellos_sent_total")) >= 1);
        Assert.Equal(1, Value(before, S("steward_connection_state", "state=\"Open\"")));
        Assert.Equal(0, Value(before, S("steward_connection_state", "state=\"Closed\"")));
        Assert.Equal(0, Value(before, S("steward_messages_received_total", "method=\"Ping\"")));
        Assert.DoesNotContain("not loopback", bed.LogText);

        for (var i = 0; i < 3; i++)
            Assert.Equal(StewardStatus.Succeeded, (await bed.AwaitAsync(await bed.SendAsync(StewardMethod.Ping))).Status);
        var denied = await bed.SendAsync(bed.Command(StewardMethod.CliCommand, "true"), bed.GuestKey);
        Assert.Equal(StewardStatus.Denied, (await bed.AwaitAsync(denied)).Status);
        var once = bed.Command(StewardMethod.Ping);
        await bed.AwaitAsync(await bed.SendAsync(once));
        await bed.PublishRawAsync(RemoteOps.Steward.StewardCodec.Encode(once, bed.SenderKey));

        var after = await AwaitScrapeAsync(port, t => Value(t, S("steward_messages_duplicate_total", "method=\"Ping\"")) >= 1);
        Assert.Equal(5, Value(after, S("steward_messages_received_total", "method=\"Ping\"")));
        Assert.Equal(4, Value(after, S("steward_messages_run_total", "method=\"Ping\"")));
        Assert.Equal(1, Value(after, S("steward_messages_duplicate_total", "method=\"Ping\"")));
        Assert.Equal(1, Value(after, S("steward_messages_received_total", "method=\"CliCommand\"")));
        Assert.Equal(1, Value(after, S("steward_messages_denied_total", "method=\"CliCommand\"")));
        Assert.Equal(4, Value(after, S("steward_method_duration_seconds_count", "method=\"Ping\",status=\"Succeeded\"")));
        Assert.Equal(4, Value(after, S("steward_method_duration_seconds_bucket", "method=\"Ping\",status=\"Succeeded\"")[..^1] + ",le=\"+Inf\"}"));
        Assert.Contains("# TYPE steward_queue_depth gauge", after);
        Assert.Contains("# TYPE steward_redeliveries_total counter", after);
        Assert.Contains("# TYPE steward_errors_sent_total counter", after);
        Assert.True(Value(after, S("steward_hellos_sent_total")) >= Value(before, S("steward_hellos_sent_total")));
        // Only GET (or HEAD) of /metrics is served.
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync($"http://127.0.0.1:{port}/metrics/other")).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await Http.PostAsync($"http://127.0.0.1:{port}/metrics", new StringContent("x"))).StatusCode);
        var head = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"http://127.0.0.1:{port}/metrics"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.StartsWith("text/plain", head.Content.Headers.ContentType?.ToString());
    }

    [Fact]
    public async Task Queue_depth_redeliveries_and_errors_sent_to_central_are_counted()
    {
        // The node is its own central: its refusals are errors "sent to central". Messages queued before the agent
        // starts: it finds them pending.
        var ids = new List<string>();
        var (bed, port) = await StartServedAsync(p => new StewardTestBed(nats.Server.Url, s => s with { Metrics = $"127.0.0.1:{p}", Central = StewardTestBed.NodeName }),
            async b => { ids.Clear(); for (var i = 0; i < 5; i++) ids.Add(await b.SendAsync(StewardMethod.Ping)); });
        await using var _ = bed;
        foreach (var id in ids) await bed.AwaitAsync(id);
        var denied = await bed.SendAsync(bed.Command(StewardMethod.CliCommand, "true"), bed.GuestKey);
        await bed.AwaitAsync(denied);
        var text = await AwaitScrapeAsync(port, t => Value(t, S("steward_errors_sent_total", "kind=\"Denied\"")) >= 1);
        Assert.Equal(0, Value(text, S("steward_queue_depth")));
        Assert.Equal(0, Value(text, S("steward_redeliveries_total")));
        Assert.Equal(1, Value(text, S("steward_errors_sent_total", "kind=\"Denied\"")));
    }

    [Fact]
    public async Task Redeliveries_queue_depth_and_connection_state_follow_what_the_seam_reports()
    {
        // JetStream redelivers only after the consumer's 30 s ack wait: the seam's calls stand in for it here.
        using var metrics = StewardMetrics.Unserved("com.test.unit");
        metrics.Delivered(1, 7);
        metrics.Delivered(3, 2);
        metrics.Delivered(2, 0);
        metrics.Delivered(1, 5);
        metrics.ConnectionChanged(NATS.Client.Core.NatsConnectionState.Reconnecting);
        using var stream = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(stream);
        var text = System.Text.Encoding.UTF8.GetString(stream.ToArray());
        Assert.Equal(2, Value(text, "steward_redeliveries_total{node=\"com.test.unit\"}"));
        Assert.Equal(5, Value(text, "steward_queue_depth{node=\"com.test.unit\"}"));
        Assert.Equal(1, Value(text, "steward_connection_state{state=\"Reconnecting\",node=\"com.test.unit\"}"));
        Assert.Equal(0, Value(text, "steward_connection_state{state=\"Open\",node=\"com.test.unit\"}"));
    }

    [Fact]
    public async Task Each_agent_has_its_own_registry_a_busy_port_is_a_warning_and_a_non_loopback_bind_warns()
    {
        var (bed, port) = await StartServedAsync(p => Bed(nats.Server.Url, $"127.0.0.1:{p}"));
        await using var _ = bed;
        await bed.AwaitAsync(await bed.SendAsync(StewardMethod.Ping));

        // A second agent on the same port: a warning; it serves its node all the same.
        await using var other = Bed(nats.Server.Url, $"127.0.0.1:{port}");
        await other.StartAgentAsync();
        Assert.Contains("metrics not served", other.LogText);
        Assert.Equal(StewardStatus.Succeeded, (await other.AwaitAsync(await other.SendAsync(StewardMethod.Ping))).Status);
        Assert.Equal(1, Value(await ScrapeAsync(port), S("steward_messages_received_total", "method=\"Ping\"")));

        // Every interface: served (scraped on loopback), with a warning.
        var (third, wide) = await StartServedAsync(p => Bed(nats.Server.Url, $"0.0.0.0:{p}"));
        await using var __ = third;
        Assert.Contains("not loopback", third.LogText);
        Assert.Contains("# TYPE steward_messages_received_total counter", await ScrapeAsync(wide));
        // Its registry is its own: the first agent's Ping is not in it.
        Assert.Equal(0, Value(await ScrapeAsync(wide), S("steward_messages_received_total", "method=\"Ping\"")));

        // Stopped: the port is free again.
        await third.DisposeAsync();
        using var probe = new TcpListener(IPAddress.Any, wide);
        probe.Start();
        probe.Stop();
    }
}
