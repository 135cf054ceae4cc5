using RemoteOps.Config;
using RemoteOps.Messaging;

namespace RemoteOps.Steward;

/// <summary>The agent's side of fleet governors (<see cref="StewardGovernors"/>): a message sent with -Governor waits,
/// Delivered, for a slot before it runs, and frees the slot when it ends.</summary>
public sealed partial class StewardAgent
{
    private StewardGovernors? _governors;

    /// <summary>Runs <paramref name="c"/>, under its governor when it has one. The wait takes no thread and no consumer
    /// slot (other messages run meanwhile), ends when the agent stops (the message stays accepted and waits again at the
    /// next start), and lasts at most the message's delivery window, counted from when the wait began: then the message
    /// is TimedOut, never run. An unknown governor makes it Failed. The slot is freed when the method ended; an agent
    /// killed (or leaving a detached command running) frees nothing, and its slot expires after steward.governor_timeout.</summary>
    private async Task ExecuteGovernedAsync(StewardCommand c, LocalMessage? adopt, CancellationToken ct)
    {
        if (c.Governor is not { } governor)
        {
            await ExecuteAsync(c, adopt, ct).ConfigureAwait(false);
            return;
        }
        var lease = await EnterGovernorAsync(c, governor, adopt, ct).ConfigureAwait(false);
        if (lease is null) return;
        var completed = false;
        try
        {
            await ExecuteAsync(c, adopt, ct).ConfigureAwait(false);
            completed = true;
        }
        finally
        {
            if (completed || !_abort.IsCancellationRequested) await lease.ReleaseAsync().ConfigureAwait(false);
            await lease.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>A held slot; null when the message is not to run now (the agent stops, or it was refused: its final
    /// record is written here).</summary>
    private async Task<StewardGovernorLease?> EnterGovernorAsync(StewardCommand c, string governor, LocalMessage? adopt, CancellationToken ct)
    {
        var window = DeliveryWindow(c);
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(ct, _stopTaking.Token);
        void Say(string text) => Log(StewardLogLevel.Verbose, text);
        try
        {
            _governors ??= await StewardGovernors.OpenAsync(_store.Connection, _config, waiting.Token, PublicKey).ConfigureAwait(false);
            if (adopt is not null)
            {
                // The command runs already: take its slot back (or any free one), never wait for one.
                var back = await _governors.ReclaimAsync(governor, Name, c.MessageId, _key, _section.GovernorTimeout, Say, waiting.Token).ConfigureAwait(false);
                if (back is null) Log(StewardLogLevel.Warning, $"{c.MessageId} {c.Method}: adopted without a slot of governor '{governor}' (all held).");
                return back ?? StewardGovernorLease.None(governor);
            }
            var lease = await _governors.AcquireAsync(governor, Name, c.MessageId, _key, _section.GovernorTimeout, DateTimeOffset.UtcNow + window, Say, waiting.Token).ConfigureAwait(false);
            Log(StewardLogLevel.Verbose, $"{c.MessageId} {c.Method}: slot {lease.Slot} of governor '{governor}' taken.");
            return lease;
        }
        catch (OperationCanceledException) when (_stopTaking.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            Log(StewardLogLevel.Information, $"{c.MessageId} {c.Method}: stopped while waiting for governor '{governor}'; it waits again when the agent starts.");
            return null;
        }
        catch (StewardGovernorNotFoundException e)
        {
            await RefuseGovernedAsync(c, StewardStatus.Failed, $"Not run: {e.Message}").ConfigureAwait(false);
            return null;
        }
        catch (TimeoutException e)
        {
            await RefuseGovernedAsync(c, StewardStatus.TimedOut,
                $"Not run: {e.Message.TrimEnd('.')} within its delivery window (ackTimeout × (retries + 1) = {Duration.Format(window)}).").ConfigureAwait(false);
            return null;
        }
        catch (StewardUnavailableException e) when (adopt is not null)
        {
            Log(StewardLogLevel.Warning, $"{c.MessageId} {c.Method}: adopted without its governor slot ({e.Message}).");
            return StewardGovernorLease.None(governor);
        }
        catch (Exception e) when (adopt is not null && NatsFailures.IsNats(e))
        {
            Log(StewardLogLevel.Warning, $"{c.MessageId} {c.Method}: adopted without its governor slot ({e.Message}).");
            return StewardGovernorLease.None(governor);
        }
    }

    /// <summary>A governed message that never ran: final locally first, then in the bucket, reported to central.</summary>
    private async Task RefuseGovernedAsync(StewardCommand c, StewardStatus status, string reason)
    {
        Log(StewardLogLevel.Warning, $"{c.MessageId} {c.Method} from {Who(c)}: {status}. {reason}");
        var record = BaseRecord(c) with
        {
            Status = status, Error = reason, Finished = DateTimeOffset.UtcNow,
            Attempts = Math.Max(1, await TryGetAttempts(c, CancellationToken.None).ConfigureAwait(false)),
        };
        _local.SetFinal(c.MessageId, SignedJson.Encode(record, _key, StewardRecord.Domain));
        ReportError(c.MessageId, c.Method, status.ToString(), reason);
        await WriteFinalAsync(c, record, CancellationToken.None).ConfigureAwait(false);
    }
}
