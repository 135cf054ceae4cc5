using RemoteOps.Identity;
using RemoteOps.Messaging;

namespace RemoteOps.Steward;

/// <summary>A node's error reports on their way to <c>steward.central</c>: each is kept in the node's local store
/// (<see cref="StewardLocalStore"/>) first, under the ErrorLog message id it will be sent with, then sent in order, one
/// at a time; a report leaves the store only once the stream has acknowledged it. When NATS is away (or a publish
/// fails) the reports wait, and they are sent, in order, when it is back, also by the next agent after a restart.
/// Central logs each id once: a re-send after a lost ack is de-duplicated by the stream and by central's store.</summary>
public sealed class StewardErrorOutbox
{
    /// <summary>How long a report waits at central's queue: central may be down while NATS is up, and a report is worth
    /// logging late. The window is this × (retries + 1).</summary>
    public static readonly TimeSpan ReportAckTimeout = TimeSpan.FromHours(1);
    /// <summary>Reports kept at most (a node cut off for long under an error storm): beyond this, new ones are logged
    /// locally and not kept.</summary>
    public const int MaxPending = 100_000;
    private static readonly TimeSpan FirstPause = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan LongestPause = TimeSpan.FromSeconds(10);
    /// <summary>The longest one send may take before it is given up and tried again: a publish made across a server
    /// restart was seen (rarely) never to complete nor fail, which held every report behind it.</summary>
    public static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(15);

    private readonly StewardStore _store;
    private readonly StewardLocalStore _local;
    private readonly StewardConfig _section;
    private readonly SigningKey _key;
    private readonly string _central;
    private readonly Action<StewardLogLevel, string> _log;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly SemaphoreSlim _sending = new(1, 1);

    private readonly Action<StewardErrorReport>? _sent;

    /// <param name="sent">Told of each report once the stream has it (the agent's observers count them).</param>
    public StewardErrorOutbox(StewardStore store, StewardLocalStore local, StewardConfig section, SigningKey key, string central, Action<StewardLogLevel, string> log,
        Action<StewardErrorReport>? sent = null)
    {
        _store = store; _local = local; _section = section; _key = key; _central = central; _log = log; _sent = sent;
    }

    /// <summary>Reports waiting to be sent.</summary>
    public int Pending => _local.PendingErrorCount();

    /// <summary>Keeps <paramref name="report"/> and wakes the sender; false when it could not be kept (store full or failing).</summary>
    public bool Enqueue(StewardErrorReport report)
    {
        try
        {
            if (_local.PendingErrorCount() >= MaxPending)
            {
                _log(StewardLogLevel.Warning, $"Error report not kept ({MaxPending} wait for {_central} already): {report.Kind} {report.MessageId} {report.Message}");
                return false;
            }
            _local.AddPendingError(StewardSubjects.NewMessageId(), report.ToJson(), report.Time);
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or ObjectDisposedException or InvalidOperationException)
        {
            _log(StewardLogLevel.Warning, $"Error report not kept ({e.Message}): {report.Kind} {report.MessageId} {report.Message}");
            return false;
        }
        Wake();
        return true;
    }

    private void Wake()
    {
        try { _wake.Release(); } catch (SemaphoreFullException) { /* a wake is pending already */ }
    }

    /// <summary>Sends what waits, then whatever comes, until <paramref name="ct"/>; pauses (growing to
    /// <see cref="LongestPause"/>) while sending fails.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var pause = FirstPause;
        while (!ct.IsCancellationRequested)
        {
            bool done;
            try { done = await FlushAsync(ct).ConfigureAwait(false); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            try
            {
                if (done) { pause = FirstPause; await _wake.WaitAsync(ct).ConfigureAwait(false); }
                else
                {
                    await _wake.WaitAsync(pause, ct).ConfigureAwait(false);
                    if (pause < LongestPause) pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, LongestPause.Ticks));
                }
            }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>Sends the waiting reports in order; true when none is left, false at the first that could not be sent
    /// (it and those after it wait for the next try).</summary>
    public async Task<bool> FlushAsync(CancellationToken ct)
    {
        await _sending.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            while (true)
            {
                IReadOnlyList<PendingErrorReport> batch;
                try { batch = _local.PendingErrors(100); }
                catch (ObjectDisposedException) { return true; }
                if (batch.Count == 0) return true;
                foreach (var pending in batch)
                {
                    try
                    {
                        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
                        bounded.CancelAfter(SendTimeout);
                        await StewardErrorReport.SendAsync(_store, _section, _key, _central, pending.Report, pending.MessageId,
                            ReportAckTimeout, bounded.Token).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                    {
                        _log(StewardLogLevel.Verbose, $"Error report {pending.MessageId} to {_central} not sent yet ({e.Message}); {Pending} waiting.");
                        return false;
                    }
                    _local.RemovePendingError(pending.MessageId);
                    if (_sent is not null && StewardErrorReport.TryParse(pending.Report) is { } sentReport) _sent(sentReport);
                }
            }
        }
        finally { _sending.Release(); }
    }
}
