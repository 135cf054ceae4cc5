using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace RemoteOps.Messaging;

/// <summary>JetStream key-value helpers every tool uses: find-or-create a bucket once per connection, make any text a
/// key token. Compare-and-set is the client's own TryCreateAsync/TryUpdateAsync on a revision.</summary>
public static class KvBuckets
{
    /// <summary>The bucket on this connection, found or (when <paramref name="create"/> is given) created, cached in the
    /// connection's context. Null when it does not exist and nothing may create it. NATS failures are thrown as they
    /// come; <see cref="NatsFailures"/> turns them into RemoteOps exceptions at the tool's boundary.</summary>
    public static async Task<INatsKVStore?> GetAsync(NatsConnection connection, string bucket, Func<NatsKVConfig>? create, CancellationToken ct)
    {
        var context = ConnectionContext.Of(connection);
        var cached = context?.GetOrAdd(("kv", bucket), _ => new StoreSlot());
        if (cached?.Store is { } store) return store;
        var kv = new NatsKVContext(new NatsJSContext(connection));
        try
        {
            store = await kv.GetStoreAsync(bucket, ct).ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404)
        {
            if (create is null) return null;
            store = await kv.CreateStoreAsync(create(), ct).ConfigureAwait(false);
        }
        if (cached is not null) cached.Store ??= store;
        return cached?.Store ?? store;
    }

    /// <summary>How long a listing of a bucket may go without an entry before it is started again.</summary>
    public static readonly TimeSpan ListingWait = TimeSpan.FromSeconds(10);

    /// <summary>The values (puts) of the keys <paramref name="filter"/> matches, in the bucket's order, read through a
    /// watch up to the entry that says nothing more is pending. Deletes are delivered and skipped here rather than dropped
    /// by the watcher, so that end entry is seen whatever it is. A listing takes milliseconds, but one was seen to wait
    /// forever inside the client's watcher (its consumer never delivered): an attempt that goes
    /// <see cref="ListingWait"/> without an entry is started again (a large bucket may take longer as a whole), and the
    /// third is a <see cref="TimeoutException"/>.</summary>
    public static async Task<IReadOnlyList<NatsKVEntry<byte[]>>> ListAsync(INatsKVStore store, string filter, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
            bound.CancelAfter(ListingWait);
            try
            {
                var list = new List<NatsKVEntry<byte[]>>();
                var opts = new NatsKVWatchOpts { IgnoreDeletes = false, OnNoData = _ => ValueTask.FromResult(true) };
                await foreach (var e in store.WatchAsync<byte[]>(filter, opts: opts, cancellationToken: bound.Token).ConfigureAwait(false))
                {
                    if (e.Operation == NatsKVOperation.Put) list.Add(e);
                    if (e.Delta == 0) break;
                    bound.CancelAfter(ListingWait);
                }
                return list;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                if (attempt == 3) throw new TimeoutException($"Listing the key-value bucket '{store.Bucket}' stalled {attempt} times ({ListingWait.TotalSeconds:0} s without an entry).");
            }
        }
    }

    private sealed class StoreSlot
    {
        public volatile INatsKVStore? Store;
    }

    /// <summary>A key-value key token for any text: the text itself when <paramref name="isToken"/> accepts it as it
    /// is, else "x" and the hex of its UTF-8 bytes (which is always a valid key).</summary>
    public static string KeyToken(string text, Func<string, bool> isToken) =>
        isToken(text) ? text : "x" + Convert.ToHexStringLower(Encoding.UTF8.GetBytes(text));

    /// <summary>Whether NATS takes <paramref name="text"/> as a key as it is: [-/_=.a-zA-Z0-9], not starting or ending with a dot.</summary>
    public static bool IsKey(string text) =>
        text.Length > 0 && text[0] != '.' && text[^1] != '.' && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '/' or '_' or '=' or '.');
}
