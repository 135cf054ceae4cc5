using System.Net;
using NATS.Client.Core;
using Prometheus;

namespace RemoteOps.Steward;

/// <summary>The metrics endpoint cannot be served (an address not of this machine, a port in use).</summary>
public sealed class StewardMetricsException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>An agent's Prometheus metrics (steward.metrics): prometheus-net's collectors in the agent's own registry
/// (never prometheus-net's static default, so agents in one process do not mix), served at http://host:port/metrics by
/// a small HttpListener of its own (no ASP.NET Core in the module). Not prometheus-net's MetricServer: it answered each
/// scrape ~45 ms late here (its response goes out in pieces that wait on the client's delayed ack); this one writes the
/// whole text with its length at once (0.3 ms). Every series carries the node's name as the label <c>node</c>.</summary>
internal sealed class StewardMetrics : IStewardAgentObserver
{
    /// <summary>Seconds: from a Ping (milliseconds) to a long command (a day at most).</summary>
    private static readonly double[] DurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 86400];
    private static readonly NatsConnectionState[] States = Enum.GetValues<NatsConnectionState>();

    private readonly HttpListener? _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving = Task.CompletedTask;
    public CollectorRegistry Registry { get; }
    public StewardMetricsEndpoint Endpoint { get; }
    /// <summary>The URL scraped: http://host:port/metrics.</summary>
    public string Url { get; }

    private readonly Counter _received, _run, _denied, _duplicate, _dropped, _noAck, _cancelled;
    private readonly Histogram _duration;
    private readonly Gauge _queueDepth;
    private readonly Counter _redeliveries, _hellos, _errors;
    private readonly Gauge _connection;

    private StewardMetrics(StewardMetricsEndpoint endpoint, string node, bool serve)
    {
        Endpoint = endpoint;
        Url = $"http://{(endpoint.IsWildcard ? "localhost" : endpoint.ListenerHost)}:{endpoint.Port}/metrics";
        Registry = Metrics.NewCustomRegistry();
        var f = Metrics.WithCustomRegistry(Registry).WithLabels(new Dictionary<string, string> { ["node"] = node });
        Counter ByMethod(string name, string help) => f.CreateCounter(name, help, new CounterConfiguration { LabelNames = ["method"] });
        _received = ByMethod("steward_messages_received_total", "Messages received, by method (every verdict; dropped ones as method \"\").");
        _run = ByMethod("steward_messages_run_total", "Messages accepted to run, by method.");
        _denied = ByMethod("steward_messages_denied_total", "Messages refused (sender or method not allowed, clock off), by method.");
        _duplicate = ByMethod("steward_messages_duplicate_total", "Messages whose id was seen before (never run again), by method.");
        _dropped = f.CreateCounter("steward_messages_dropped_total", "Messages not believed (forged, unknown sender, another node's, undecodable).");
        _noAck = ByMethod("steward_messages_noack_total", "Messages whose delivery window passed before they arrived, by method.");
        _cancelled = ByMethod("steward_messages_cancelled_total", "Messages their sender withdrew before this node took them, by method.");
        _duration = f.CreateHistogram("steward_method_duration_seconds", "How long methods ran, by method and final status.",
            new HistogramConfiguration { LabelNames = ["method", "status"], Buckets = DurationBuckets });
        _queueDepth = f.CreateGauge("steward_queue_depth", "Messages waiting for this node in its JetStream consumer (NumPending, sampled at each delivery).");
        _redeliveries = f.CreateCounter("steward_redeliveries_total", "Deliveries of a message JetStream had delivered before (NumDelivered > 1).");
        _hellos = f.CreateCounter("steward_hellos_sent_total", "Hellos (presence) written to the node registry.");
        _errors = f.CreateCounter("steward_errors_sent_total", "Error records sent to steward.central, by kind.", new CounterConfiguration { LabelNames = ["kind"] });
        _connection = f.CreateGauge("steward_connection_state", "The NATS connection's state: 1 for the current state, 0 for the others.",
            new GaugeConfiguration { LabelNames = ["state"] });
        foreach (var s in States) _connection.WithLabels(s.ToString()).Set(0);
        if (!serve) return;
        _listener = new HttpListener();
        try
        {
            _listener.Prefixes.Add($"http://{endpoint.ListenerHost}:{endpoint.Port}/metrics/");
            _listener.Start();
        }
        catch (Exception e) when (e is HttpListenerException or InvalidOperationException or System.Net.Sockets.SocketException or ArgumentException)
        {
            _listener.Close();
            throw new StewardMetricsException($"Steward metrics not served on {endpoint} (steward.metrics): {e.Message}", e);
        }
        _serving = Task.Run(ServeAsync);
    }

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try { context = await _listener!.GetContextAsync().ConfigureAwait(false); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                if (_stop.IsCancellationRequested || !_listener!.IsListening) return;
                continue;
            }
            // One scrape at a time: Prometheus scrapes every few seconds, and collecting is cheap.
            await AnswerAsync(context).ConfigureAwait(false);
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        var response = context.Response;
        try
        {
            var path = context.Request.Url?.AbsolutePath.TrimEnd('/');
            if (path != "/metrics") { response.StatusCode = 404; response.Close(); return; }
            if (context.Request.HttpMethod is not ("GET" or "HEAD")) { response.StatusCode = 405; response.AddHeader("Allow", "GET, HEAD"); response.Close(); return; }
            using var text = new MemoryStream();
            await Registry.CollectAndExportAsTextAsync(text, _stop.Token).ConfigureAwait(false);
            response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            response.ContentLength64 = text.Length;
            if (context.Request.HttpMethod == "GET")
                await response.OutputStream.WriteAsync(text.GetBuffer().AsMemory(0, (int)text.Length), _stop.Token).ConfigureAwait(false);
            response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // The scraper went away, or the agent is stopping.
            try { response.Abort(); } catch (Exception) { }
        }
    }

    /// <summary>Serves the metrics of <paramref name="node"/> on <paramref name="endpoint"/> (as steward.metrics gives it);
    /// warns when that is not loopback, since anyone who reaches it reads the node's method names and counts.</summary>
    /// <exception cref="StewardMetricsException">The endpoint is malformed or cannot be listened on.</exception>
    public static StewardMetrics Serve(string endpoint, string node, Action<StewardLogLevel, string> log)
    {
        if (!StewardMetricsEndpoint.TryParse(endpoint, out var parsed, out var problem))
            throw new StewardMetricsException($"Steward metrics not served: steward.metrics {problem}");
        var metrics = new StewardMetrics(parsed, node, serve: true);
        if (!parsed.IsLoopback)
            log(StewardLogLevel.Warning, $"Steward metrics are served on {parsed}, which is not loopback: whoever reaches it reads this node's methods and counts (no authentication). Bind 127.0.0.1 and scrape through a tunnel or a firewall rule.");
        log(StewardLogLevel.Information, $"Steward metrics at {metrics.Url}.");
        return metrics;
    }

    /// <summary>The collectors alone, served by nobody (tests of the counting).</summary>
    internal static StewardMetrics Unserved(string node) => new(new StewardMetricsEndpoint("127.0.0.1", 1), node, serve: false);

    public void Received(StewardCommand? command, StewardVerdict verdict, string reason)
    {
        var method = command?.Method.ToString() ?? "";
        _received.WithLabels(method).Inc();
        switch (verdict)
        {
            case StewardVerdict.Run: _run.WithLabels(method).Inc(); break;
            case StewardVerdict.Denied: _denied.WithLabels(method).Inc(); break;
            case StewardVerdict.Duplicate: _duplicate.WithLabels(method).Inc(); break;
            case StewardVerdict.Dropped: _dropped.Inc(); break;
            case StewardVerdict.NoAck: _noAck.WithLabels(method).Inc(); break;
            case StewardVerdict.Cancelled: _cancelled.WithLabels(method).Inc(); break;
        }
    }

    public void MethodFinished(StewardCommand command, StewardRecord record)
    {
        if (record.Started is { } started && record.Finished is { } finished)
            _duration.WithLabels(command.Method.ToString(), record.Status.ToString()).Observe(Math.Max(0, (finished - started).TotalSeconds));
    }

    public void HelloSent() => _hellos.Inc();
    public void ErrorSent(StewardErrorReport report) => _errors.WithLabels(report.Kind).Inc();

    public void ConnectionChanged(NatsConnectionState state)
    {
        foreach (var s in States) _connection.WithLabels(s.ToString()).Set(s == state ? 1 : 0);
    }

    public void Delivered(ulong numDelivered, ulong numPending)
    {
        _queueDepth.Set(numPending);
        if (numDelivered > 1) _redeliveries.Inc();
    }

    public void Dispose()
    {
        _stop.Cancel();
        if (_listener is not null)
        {
            try { _listener.Stop(); } catch (Exception) { /* stopping */ }
            _listener.Close();
            try { _serving.Wait(TimeSpan.FromSeconds(5)); } catch (Exception) { }
        }
        _stop.Dispose();
    }
}
