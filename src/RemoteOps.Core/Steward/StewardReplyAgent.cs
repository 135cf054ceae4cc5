using System.Text;
using NATS.Client.Core;

namespace RemoteOps.Steward;

/// <summary>Runs the reply methods of the -NoWait messages this node sent, as the seed's node does with the replies it
/// receives: no session waits for them. A node that ends such a message announces it on
/// <see cref="StewardSubjects.ReplyNotice"/> (core NATS); this agent reads the record from the results bucket (signed by
/// that node, or it is ignored), checks that this node sent it, claims it in the local store (at most once), and runs
/// the reply method relative to this agent's data directory. At start it also looks through the bucket for replies that
/// ended while it was away.</summary>
internal sealed class StewardReplyAgent(StewardStore store, StewardLocalStore local, string name, IReadOnlyCollection<string> ownKeys,
    string dataDirectory, TimeSpan defaultTimeout, Action<StewardLogLevel, string> log)
{
    /// <summary>How long a streaming method's chunks are waited for before its reply method runs without the rest.</summary>
    private static readonly TimeSpan ChunkWait = TimeSpan.FromSeconds(5);

    public async Task RunAsync(CancellationToken ct)
    {
        try
        {
            await using var notices = await store.Connection.SubscribeCoreAsync<byte[]>(store.Subjects.ReplyNotice(name), cancellationToken: ct).ConfigureAwait(false);
            try
            {
                await foreach (var stored in store.ListAsync(ct).ConfigureAwait(false))
                    await HandleAsync(stored, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException) { log(StewardLogLevel.Verbose, $"Replies missed while away not looked for: {e.Message}"); }
            await foreach (var notice in notices.Msgs.ReadAllAsync(ct).ConfigureAwait(false))
            {
                var id = notice.Data is { Length: > 0 and <= StewardCodec.MaxIdLength } raw ? Encoding.ASCII.GetString(raw) : "";
                if (!StewardSubjects.IsMessageId(id)) continue;
                try
                {
                    if (await store.GetAsync(id, ct).ConfigureAwait(false) is { } stored) await HandleAsync(stored, ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException) { log(StewardLogLevel.Warning, $"Reply of {id} not handled: {e.Message}"); }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }

    private async Task HandleAsync(StoredRecord stored, CancellationToken ct)
    {
        // The store checked the signature and that the node (for its statuses) signed it.
        if (!stored.Valid || stored.Record is not { } r) return;
        if (!StewardStatuses.IsFinal(r.Status) || !r.ReplyByAgent || !ownKeys.Contains(r.Sender)) return;
        if (r.ReplyMethod is null or StewardMethod.ToConsole || !StewardReplyMethods.HasResult(r)) return;
        if (!local.TryClaimReply(r.MessageId, DateTimeOffset.UtcNow)) return;
        var data = StewardClient.IsStreaming(r.Method) ? await StreamedAsync(r, ct).ConfigureAwait(false) : r.Output;
        try
        {
            var outcome = await StewardReplyMethods.RunAsync(r, data, dataDirectory, defaultTimeout, appended: false, ct).ConfigureAwait(false);
            if (outcome?.Problem is { } problem)
                log(StewardLogLevel.Warning, $"Reply method {r.ReplyMethod} of {r.MessageId} ({r.Method} on {r.Node}): {problem}");
            else
                log(StewardLogLevel.Verbose, $"Reply method {r.ReplyMethod} of {r.MessageId} ({r.Method} on {r.Node}) ran{(outcome?.Path is { } p ? ": " + p : "")}.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or StewardArgumentException or System.ComponentModel.Win32Exception or ArgumentException)
        {
            log(StewardLogLevel.Warning, $"Reply method {r.ReplyMethod} of {r.MessageId} ({r.Method} on {r.Node}) failed: {e.Message}");
        }
    }

    private async Task<string> StreamedAsync(StewardRecord r, CancellationToken ct)
    {
        var text = new StringBuilder();
        // The last chunk may travel in the record itself; the stream has the ones before it.
        var carried = r.CarriedChunk();
        var fromStream = carried is null ? r.Chunks : r.Chunks - 1;
        if (fromStream > 0)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            wait.CancelAfter(ChunkWait);
            try
            {
                await foreach (var chunk in store.ReadChunksAsync(r.Node, r.MessageId, 0, wait.Token).ConfigureAwait(false))
                {
                    text.Append(chunk.Line).Append('\n');
                    if (chunk.Sequence >= fromStream) break;
                }
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested) { log(StewardLogLevel.Warning, $"Reply of {r.MessageId}: not every output chunk arrived."); }
        }
        if (carried is not null) text.Append(carried.Line).Append('\n');
        return text.ToString();
    }
}
