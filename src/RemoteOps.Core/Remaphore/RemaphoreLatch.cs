using System.Globalization;
using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using RemoteOps.Config;
using RemoteOps.Messaging;
using RemoteOps.Identity;

namespace RemoteOps.Remaphore;

/// <summary>The latch bucket. Latched signals (beyond the seed, which loses a signal sent before the waiter listens):
/// Send-Remaphore -Latch also stores the signed message in a JetStream key-value bucket under its subject and uuid,
/// and Wait-Remaphore -Uuid looks there first.
/// <para>Value: <c>hex(expiry unix-nanos),base58(latch signature)\n&lt;wire message&gt;</c>. The latch signature is by the
/// message's own sender over <c>remaphore-latch\n&lt;subject&gt;\n&lt;expiry&gt;\n&lt;wire&gt;</c>, so neither the
/// expiry nor the subject can be changed by anyone who can write to the bucket. nats-server 2.9 has no per-key TTL;
/// the expiry is checked on read (and an expired entry is deleted by the reader).</para></summary>
public static class RemaphoreLatchStore
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

    /// <summary>The full subject a -Subject suffix names, refused as Send-Remaphore refuses it (bad tokens, longer than
    /// NATS carries): a filter that could never match is an error, not an empty answer.</summary>
    public static string FilterSubject(RemoteOpsConfig config, string suffix)
    {
        var subject = RemaphoreWire.MessageSubject(config.Subject, RemaphoreClient.ValidateSubject(suffix));
        if (NatsLimits.SubjectProblem(subject) is { } problem) throw new RemaphoreArgumentException($"-Subject is too long: {problem}.");
        return subject;
    }

    /// <summary>Latch signatures are made for this purpose only.</summary>
    public static readonly SignatureDomain Domain = new("remaphore-latch");

    /// <summary>What the latch signature covers after its domain: subject, expiry and the wire message.</summary>
    private static byte[] LatchSignedBytes(string subject, string expiryHex, ReadOnlySpan<byte> wire)
    {
        var head = Encoding.UTF8.GetBytes($"{subject}\n{expiryHex}\n");
        return [.. head, .. wire];
    }

    /// <summary>Finds or makes the latch bucket (cached on the connection), so that a later put is one round trip.</summary>
    public static async Task OpenAsync(NatsConnection connection, RemoteOpsConfig config, CancellationToken cancellationToken) =>
        await GetStoreAsync(connection, config.LatchBucket, create: true, cancellationToken, config.Replicas).ConfigureAwait(false);

    public static async Task PutAsync(NatsConnection connection, RemoteOpsConfig config, PreparedMessage prepared, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var store = await GetStoreAsync(connection, config.LatchBucket, create: true, cancellationToken, config.Replicas).ConfigureAwait(false)
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
        if (!TryParse(value, out var expiryHex, out var expiry, out var signature, out var wire, out var message))
        {
            note($"Dropped latched message {key}: bad encoding.");
            return null;
        }
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

    /// <summary>Splits a latch value: <c>hex(expiry),base58(latch signature)\n&lt;wire message&gt;</c>. False when it is
    /// not one (a missing separator, a bad expiry or an undecodable message); the signature may be empty when not base58.</summary>
    private static bool TryParse(byte[] value, out string expiryHex, out long expiry, out byte[] signature, out byte[] wire, out WireMessage message)
    {
        expiryHex = ""; expiry = 0; signature = []; wire = []; message = default!;
        int nl = Array.IndexOf(value, (byte)'\n');
        int comma = nl < 0 ? -1 : Array.IndexOf(value, (byte)',', 0, nl);
        if (comma < 0) return false;
        expiryHex = Encoding.ASCII.GetString(value, 0, comma);
        var signatureText = Encoding.ASCII.GetString(value, comma + 1, nl - comma - 1);
        wire = value[(nl + 1)..];
        if (!long.TryParse(expiryHex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out expiry)
            || !RemaphoreWire.TryDecode(wire, out message, out _))
            return false;
        if (!Base58.TryDecode(signatureText.AsSpan(), out signature)) signature = [];
        return true;
    }

    /// <summary>The subjects a key's subject token may stand for: the token itself, and, when it has the form
    /// <see cref="KvBuckets.KeyToken"/> gives a subject that is not a key as it is ("x" and hex), that subject.</summary>
    private static IEnumerable<string> SubjectsOf(string token)
    {
        yield return token;
        if (token.Length > 1 && token[0] == 'x' && token.Length % 2 == 1)
        {
            string? decoded = null;
            try { decoded = Encoding.UTF8.GetString(Convert.FromHexString(token.AsSpan(1))); }
            catch (FormatException) { }
            if (decoded is not null && !KvBuckets.IsKey(decoded)) yield return decoded;
        }
    }

    /// <summary>The latches in the bucket, each verified as Wait-Remaphore verifies a latched message (the latch
    /// signature by the message's sender over subject and expiry, then the message itself: signature, known peer, the
    /// verb allowed, not from the future). <paramref name="subject"/>: only this full subject; <paramref name="uuid"/>:
    /// only this uuid. With <paramref name="verified"/> false, every entry is returned with <see cref="RemaphoreLatchEntry.Problem"/>
    /// saying what did not verify (Clear-RemaphoreLatch removes forged latches too). What cannot be shown goes to
    /// <paramref name="note"/>. No bucket: nothing latched.</summary>
    /// <exception cref="RemaphoreLatchException">The bucket could not be read.</exception>
    public static async Task<IReadOnlyList<RemaphoreLatchEntry>> ListAsync(NatsConnection connection, RemoteOpsConfig config, string? subject,
        byte[]? uuid, bool verified, Action<string> note, CancellationToken cancellationToken)
    {
        INatsKVStore? store;
        try
        {
            store = await GetStoreAsync(connection, config.LatchBucket, create: false, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsJSException or NatsException)
        {
            throw new RemaphoreLatchException($"Cannot open the latch bucket '{config.LatchBucket}': {e.Message}", e);
        }
        if (store is null)
        {
            note($"No latch bucket '{config.LatchBucket}'; nothing latched.");
            return [];
        }
        var peers = TrustStore.For(config);
        var verifier = new RemaphoreVerifier(config, replay: null);
        var uuidHex = uuid is null ? null : Convert.ToHexStringLower(uuid);
        var found = new List<RemaphoreLatchEntry>();
        try
        {
            var keys = new List<string>();
            await foreach (var key in store.GetKeysAsync(cancellationToken: cancellationToken).ConfigureAwait(false)) keys.Add(key);
            foreach (var key in keys)
            {
                int dot = key.LastIndexOf('.');
                if (dot <= 0) { note($"Latch key {key} is not <subject>.<uuid hex>; ignored."); continue; }
                var keyUuidHex = key[(dot + 1)..];
                var candidates = SubjectsOf(key[..dot]).ToList();
                if (uuidHex is not null && keyUuidHex != uuidHex) continue;
                if (subject is not null && !candidates.Contains(subject)) continue;
                var result = await store.TryGetEntryAsync<byte[]>(key, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (!result.Success || result.Value.Value is not { Length: > 0 } value) continue;
                var entry = Judge(key, keyUuidHex, candidates, value, peers, verifier);
                if (entry.Problem is not null && verified) { note($"Latch {key} not shown: {entry.Problem}."); continue; }
                found.Add(entry);
            }
        }
        catch (Exception e) when (e is NatsJSException or NatsException)
        {
            throw new RemaphoreLatchException($"Cannot read the latch bucket '{config.LatchBucket}': {e.Message}", e);
        }
        return found;
    }

    /// <summary>As <see cref="ListAsync(NatsConnection, RemoteOpsConfig, string?, byte[]?, bool, Action{string}, CancellationToken)"/>
    /// on the config's shared connection (callers outside the core never hold NATS types).</summary>
    public static async Task<IReadOnlyList<RemaphoreLatchEntry>> ListAsync(RemoteOpsConfig config, string? subject, byte[]? uuid, bool verified,
        Action<string> note, CancellationToken cancellationToken) =>
        await ListAsync(await ConnectionPool.GetAsync(config, cancellationToken).ConfigureAwait(false), config, subject, uuid, verified, note, cancellationToken).ConfigureAwait(false);

    /// <summary>Of <paramref name="latches"/> (a listing), those under <paramref name="keys"/>, and the keys none has
    /// (Clear-RemaphoreLatch -Key: the listing is read once for a whole pipeline of keys).</summary>
    public static (IReadOnlyList<RemaphoreLatchEntry> Found, IReadOnlyList<string> Missing) SelectKeys(IReadOnlyList<RemaphoreLatchEntry> latches, IEnumerable<string> keys)
    {
        var wanted = keys.ToHashSet(StringComparer.Ordinal);
        var found = latches.Where(l => wanted.Contains(l.Key)).ToList();
        var present = found.Select(l => l.Key).ToHashSet(StringComparer.Ordinal);
        return (found, wanted.Where(k => !present.Contains(k)).ToList());
    }

    /// <summary>As <see cref="DeleteAsync(NatsConnection, RemoteOpsConfig, string, CancellationToken)"/> on the config's shared connection.</summary>
    public static async Task<bool> DeleteAsync(RemoteOpsConfig config, string key, CancellationToken cancellationToken) =>
        await DeleteAsync(await ConnectionPool.GetAsync(config, cancellationToken).ConfigureAwait(false), config, key, cancellationToken).ConfigureAwait(false);

    /// <summary>One latch value, decoded and judged: <see cref="RemaphoreLatchEntry.Problem"/> null when it verifies.</summary>
    private static RemaphoreLatchEntry Judge(string key, string keyUuidHex, List<string> subjects, byte[] value, TrustStore peers, RemaphoreVerifier verifier)
    {
        if (!TryParse(value, out var expiryHex, out var expiry, out var signature, out var wire, out var message))
            return new RemaphoreLatchEntry(key, subjects[0], keyUuidHex, null, null, expiry, "bad encoding");
        var peer = peers.Find(message.SenderBase58);
        string? problem = null;
        var subject = subjects[0];
        if (peer is null) problem = "from a sender not among the peers";
        else
        {
            var signedFor = subjects.FirstOrDefault(s => VerificationKey.Verify(peer.Key, Domain, LatchSignedBytes(s, expiryHex, wire), signature));
            if (signedFor is null) problem = "bad latch signature";
            else subject = signedFor;
        }
        if (problem is null && !message.Uuid.AsSpan().SequenceEqual(Convert.FromHexString(keyUuidHex)))
            problem = "its uuid is not the one in its key";
        var now = RemaphoreWire.NowNanos();
        if (problem is null && verifier.VerifyLatched(wire, null, now) is { Accepted: false } refused) problem = refused.Reason;
        if (problem is null && expiry < now) problem = $"expired at {RemaphoreWire.FromNanos(expiry):O}";
        return new RemaphoreLatchEntry(key, subject, keyUuidHex, message, peer?.Destination, expiry, problem);
    }

    /// <summary>Deletes a latch (Clear-RemaphoreLatch). False when there was no such key.</summary>
    /// <exception cref="RemaphoreLatchException">The bucket could not be written.</exception>
    public static async Task<bool> DeleteAsync(NatsConnection connection, RemoteOpsConfig config, string key, CancellationToken cancellationToken)
    {
        try
        {
            var store = await GetStoreAsync(connection, config.LatchBucket, create: false, cancellationToken).ConfigureAwait(false);
            if (store is null) return false;
            var result = await store.TryGetEntryAsync<byte[]>(key, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!result.Success) return false;
            await store.DeleteAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is NatsJSException or NatsException)
        {
            throw new RemaphoreLatchException($"Cannot delete latch {key} from bucket '{config.LatchBucket}': {e.Message}", e);
        }
    }

    private static async Task<INatsKVStore?> GetStoreAsync(NatsConnection connection, string bucket, bool create, CancellationToken cancellationToken, int replicas = 1)
    {
        try
        {
            return await KvBuckets.GetAsync(connection, bucket,
                create ? () => new NatsKVConfig(bucket) { History = 1, NumberOfReplicas = replicas, Description = "RemoteOps remaphore latched signals" } : null,
                cancellationToken).ConfigureAwait(false);
        }
        catch (NatsException e) when (create)
        {
            throw new RemaphoreLatchException($"Cannot open the latch bucket '{bucket}' (is JetStream enabled?): {e.Message}", e);
        }
    }
}

/// <summary>A latch as read from the bucket: <see cref="Message"/> null when it could not be decoded, <see cref="Problem"/>
/// null when it verifies, else why not.</summary>
public sealed record RemaphoreLatchEntry(string Key, string Subject, string UuidHex, WireMessage? Message, string? SenderName, long ExpiryNanos, string? Problem)
{
    public RemaphoreLatch ToModel() => new()
    {
        Key = Key,
        Subject = Subject,
        Uuid = Message is { } m ? RemaphoreWire.UuidText(m.Uuid) : UuidHex,
        UuidHex = UuidHex,
        Sender = Message?.SenderBase58 ?? "",
        SenderName = SenderName,
        Verb = Message?.Verb ?? "",
        Payload = Message?.Payload ?? "",
        Time = Message is { } t ? RemaphoreWire.FromNanos(t.TimeNanos) : default,
        Expires = RemaphoreWire.FromNanos(ExpiryNanos),
        Verified = Problem is null,
        Problem = Problem,
    };
}

/// <summary>The latch bucket could not be used (e.g. JetStream is not enabled on the server).</summary>
public sealed class RemaphoreLatchException(string message, Exception? inner = null) : Exception(message, inner);
