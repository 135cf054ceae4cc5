using System.Globalization;
using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using RemoteOps.Config;
using RemoteOps.Messaging;
using RemoteOps.Identity;

namespace RemoteOps.Remaphore;

/// <summary>Latched signals (beyond the seed, which loses a signal sent before the waiter listens):
/// Send-Remaphore -Latch also stores the signed message in a JetStream key-value bucket under its subject and uuid,
/// and Wait-Remaphore -Uuid looks there first.
/// <para>Value: <c>hex(expiry unix-nanos),base58(latch signature)\n&lt;wire message&gt;</c>. The latch signature is by the
/// message's own sender over <c>remaphore-latch\n&lt;subject&gt;\n&lt;expiry&gt;\n&lt;wire&gt;</c>, so neither the
/// expiry nor the subject can be changed by anyone who can write to the bucket. nats-server 2.9 has no per-key TTL;
/// the expiry is checked on read (and an expired entry is deleted by the reader).</para></summary>
public static class RemaphoreLatch
{
    public static string KeyFor(string subject, ReadOnlySpan<byte> uuid)
    {
        return KvBuckets.KeyToken(subject, KvBuckets.IsKey) + "." + Convert.ToHexStringLower(uuid);
    }

    /// <summary>The longest subject a latch travels on: the key-value direct get of its key,
    /// <c>$JS.API.DIRECT.GET.KV_&lt;bucket&gt;.$KV.&lt;bucket&gt;.&lt;key&gt;</c> (storing it uses the shorter <c>$KV.&lt;bucket&gt;.&lt;key&gt;</c>).</summary>
    public static string LookupSubject(string bucket, string subject, ReadOnlySpan<byte> uuid) =>
        $"$JS.API.DIRECT.GET.KV_{bucket}.$KV.{bucket}.{KeyFor(subject, uuid)}";

    /// <summary>The stored value's length for a wire message of <paramref name="wireLength"/> bytes: the expiry (at most
    /// 16 hex digits), a comma, the base58 signature (at most 88 characters), a newline, the message.</summary>
    public static int ValueLength(int wireLength) => 16 + 1 + 88 + 1 + wireLength;

    /// <summary>Latch signatures are made for this purpose only.</summary>
    public static readonly SignatureDomain Domain = new("remaphore-latch");

    /// <summary>What the latch signature covers after its domain: subject, expiry and the wire message.</summary>
    private static byte[] LatchSignedBytes(string subject, string expiryHex, ReadOnlySpan<byte> wire)
    {
        var head = Encoding.UTF8.GetBytes($"{subject}\n{expiryHex}\n");
        return [.. head, .. wire];
    }

    public static async Task PutAsync(NatsConnection connection, RemoteOpsConfig config, PreparedMessage prepared, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var store = await GetStoreAsync(connection, config.LatchBucket, create: true, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("unreachable");
        var expiry = RemaphoreWire.NowNanos() + (long)Math.Min(ttl.TotalNanoseconds, long.MaxValue / 2);
        var expiryHex = expiry.ToString("x", CultureInfo.InvariantCulture);
        var signature = Base58.Encode(prepared.Key.Sign(Domain, LatchSignedBytes(prepared.Subject, expiryHex, prepared.Wire)));
        byte[] value = [.. Encoding.ASCII.GetBytes($"{expiryHex},{signature}\n"), .. prepared.Wire];
        try
        {
            await store.PutAsync(KeyFor(prepared.Subject, prepared.Uuid), value, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (NatsException e)
        {
            throw new RemaphoreLatchException($"Cannot store the latch in bucket '{config.LatchBucket}': {e.Message}", e);
        }
    }

    /// <summary>Reads the latched message for (subject, uuid): its wire bytes when present, well-signed and not expired;
    /// otherwise null, with what happened told through <paramref name="note"/>. The caller still verifies the message.</summary>
    public static async Task<byte[]?> TryGetAsync(NatsConnection connection, RemoteOpsConfig config, string subject, byte[] uuid,
        TrustStore peers, Action<string> note, CancellationToken cancellationToken)
    {
        INatsKVStore? store;
        try
        {
            store = await GetStoreAsync(connection, config.LatchBucket, create: false, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsJSException or NatsException)
        {
            note($"Latch not checked (bucket '{config.LatchBucket}' unavailable: {e.Message}).");
            return null;
        }
        if (store is null)
        {
            note($"No latch bucket '{config.LatchBucket}'; nothing latched.");
            return null;
        }
        var key = KeyFor(subject, uuid);
        NatsResult<NatsKVEntry<byte[]>> result;
        try
        {
            result = await store.TryGetEntryAsync<byte[]>(key, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsJSException or NatsException)
        {
            note($"Latch not checked ({e.Message}).");
            return null;
        }
        if (!result.Success || result.Value.Value is not { Length: > 0 } value)
        {
            note($"Nothing latched for {key}.");
            return null;
        }
        int nl = Array.IndexOf(value, (byte)'\n');
        int comma = nl < 0 ? -1 : Array.IndexOf(value, (byte)',', 0, nl);
        if (comma < 0)
        {
            note($"Dropped latched message {key}: bad encoding.");
            return null;
        }
        var expiryHex = Encoding.ASCII.GetString(value, 0, comma);
        var signatureText = Encoding.ASCII.GetString(value, comma + 1, nl - comma - 1);
        var wire = value[(nl + 1)..];
        if (!long.TryParse(expiryHex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var expiry)
            || !RemaphoreWire.TryDecode(wire, out var message, out _))
        {
            note($"Dropped latched message {key}: bad encoding.");
            return null;
        }
        if (!Base58.TryDecode(signatureText.AsSpan(), out var signature)) signature = [];
        // The latch signature must be the message sender's; an unknown sender is reported by the message verification.
        var peerKey = peers.Find(message.SenderBase58)?.Key;
        if (peerKey is not null && !VerificationKey.Verify(peerKey, Domain, LatchSignedBytes(subject, expiryHex, wire), signature))
        {
            note($"Dropped latched message {key}: bad latch signature.");
            return null;
        }
        if (expiry < RemaphoreWire.NowNanos())
        {
            note($"Latched message {key} expired at {RemaphoreWire.FromNanos(expiry):O}.");
            try { await store.DeleteAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false); }
            catch (Exception e) when (e is NatsJSException or NatsException) { }
            return null;
        }
        return wire;
    }

    private static async Task<INatsKVStore?> GetStoreAsync(NatsConnection connection, string bucket, bool create, CancellationToken cancellationToken)
    {
        try
        {
            return await KvBuckets.GetAsync(connection, bucket,
                create ? () => new NatsKVConfig(bucket) { History = 1, Description = "RemoteOps remaphore latched signals" } : null,
                cancellationToken).ConfigureAwait(false);
        }
        catch (NatsException e) when (create)
        {
            throw new RemaphoreLatchException($"Cannot open the latch bucket '{bucket}' (is JetStream enabled?): {e.Message}", e);
        }
    }
}

/// <summary>The latch bucket could not be used (e.g. JetStream is not enabled on the server).</summary>
public sealed class RemaphoreLatchException(string message, Exception? inner = null) : Exception(message, inner);
