using NATS.Client.Core;
using NATS.Client.JetStream;
using RemoteOps.Config;

namespace RemoteOps.Steward;

/// <summary>What the agent did with a message it received.</summary>
public enum StewardVerdict
{
    /// <summary>Accepted: it runs (or ran).</summary>
    Run,
    /// <summary>Refused: the sender or method is not allowed here, or its clock is off.</summary>
    Denied,
    /// <summary>An id already seen: never run again (its result is sent again).</summary>
    Duplicate,
    /// <summary>Not believed (forged, unknown sender, another node's, undecodable): dropped unanswered.</summary>
    Dropped,
    /// <summary>Its delivery window passed before it arrived, or its sender gave up on it first.</summary>
    NoAck,
    /// <summary>Its sender withdrew it before this node took it.</summary>
    Cancelled,
}

/// <summary>Something that watches an agent (its audit log, its metrics). Called from the agent's threads; each call
/// is short and never throws into the agent (<see cref="StewardAgentEvents"/> catches what it does).</summary>
internal interface IStewardAgentObserver : IDisposable
{
    /// <summary>A message was judged. <paramref name="command"/> is null when it could not be decoded at all.</summary>
    void Received(StewardCommand? command, StewardVerdict verdict, string reason) { }
    /// <summary>A method ended (or was failed by recovery): its final record, with output, status and times.</summary>
    void MethodFinished(StewardCommand command, StewardRecord record) { }
    /// <summary>A hello (presence) was written to the registry.</summary>
    void HelloSent() { }
    /// <summary>An error record was sent to steward.central (or appended there, on central itself).</summary>
    void ErrorSent(StewardErrorReport report) { }
    /// <summary>The NATS connection's state changed.</summary>
    void ConnectionChanged(NatsConnectionState state) { }
    /// <summary>A message arrived: how often JetStream delivered it and how many wait behind it for this node.</summary>
    void Delivered(ulong numDelivered, ulong numPending) { }
}

/// <summary>The one seam between the agent and what watches it: the agent makes one call per event, and this fans it out
/// to the observers the config asks for (the audit log, the metrics endpoint), so that neither spreads through the
/// agent. A failing observer is logged once per kind of failure and never stops the agent.</summary>
internal sealed class StewardAgentEvents : IDisposable
{
    public static readonly StewardAgentEvents None = new([], null, _ => { });

    private readonly IStewardAgentObserver[] _observers;
    private readonly NatsConnection? _connection;
    private readonly Action<StewardLogEntry> _log;
    private int _warned;

    internal StewardAgentEvents(IStewardAgentObserver[] observers, NatsConnection? connection, Action<StewardLogEntry> log)
    {
        _observers = observers; _connection = connection; _log = log;
        if (_connection is null || observers.Length == 0) return;
        _connection.ConnectionOpened += OnConnection;
        _connection.ConnectionDisconnected += OnConnection;
        _connection.ReconnectFailed += OnConnection;
        Fire(o => o.ConnectionChanged(_connection.ConnectionState));
    }

    public IReadOnlyList<IStewardAgentObserver> Observers => _observers;

    /// <summary>The observers <paramref name="config"/> asks for: the audit log (on by default for an agent, in
    /// <paramref name="dataDirectory"/>) and the metrics endpoint (steward.metrics). One that cannot start (a port in
    /// use) is a warning: the agent serves its node without it.</summary>
    public static StewardAgentEvents Start(RemoteOpsConfig config, string node, string dataDirectory, NatsConnection connection, Action<StewardLogEntry>? log)
    {
        var sink = log ?? (_ => { });
        void Log(StewardLogLevel level, string text) { try { sink(new StewardLogEntry(level, text)); } catch (Exception) { } }
        var observers = new List<IStewardAgentObserver>();
        if (StewardAuditLog.ForAgent(config.Steward, dataDirectory) is { } audit)
            observers.Add(new StewardAuditObserver(audit, node, config));
        if (config.Steward.Metrics is { } endpoint)
        {
            try { observers.Add(StewardMetrics.Serve(endpoint, node, Log)); }
            catch (StewardMetricsException e) { Log(StewardLogLevel.Warning, e.Message); }
        }
        return observers.Count == 0 ? None : new StewardAgentEvents([.. observers], connection, sink);
    }

    public void Received(StewardCommand? command, StewardVerdict verdict, string reason = "") => Fire(o => o.Received(command, verdict, reason));
    public void MethodFinished(StewardCommand command, StewardRecord record) => Fire(o => o.MethodFinished(command, record));
    public void HelloSent() => Fire(o => o.HelloSent());
    public void ErrorSent(StewardErrorReport report) => Fire(o => o.ErrorSent(report));
    public void Delivered(NatsJSMsgMetadata? metadata)
    {
        if (metadata is { } m) Fire(o => o.Delivered(m.NumDelivered, m.NumPending));
    }

    private ValueTask OnConnection(object? sender, NatsEventArgs e)
    {
        if (_connection is { } c) Fire(o => o.ConnectionChanged(c.ConnectionState));
        return ValueTask.CompletedTask;
    }

    private void Fire(Action<IStewardAgentObserver> call)
    {
        foreach (var o in _observers)
        {
            try { call(o); }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Once: an audit disk that is full would otherwise log on every message.
                if (Interlocked.Exchange(ref _warned, 1) == 0)
                    try { _log(new StewardLogEntry(StewardLogLevel.Warning, $"{o.GetType().Name}: {e.GetType().Name}: {e.Message} (further failures are not logged).")); } catch (Exception) { }
            }
        }
    }

    public void Dispose()
    {
        if (_connection is not null && _observers.Length > 0)
        {
            _connection.ConnectionOpened -= OnConnection;
            _connection.ConnectionDisconnected -= OnConnection;
            _connection.ReconnectFailed -= OnConnection;
        }
        foreach (var o in _observers)
            try { o.Dispose(); } catch (Exception) { }
    }
}
