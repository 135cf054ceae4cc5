using NATS.Client.Core;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;
using NatsConnectionPool = RemoteOps.Messaging.NatsConnectionPool;

namespace RemoteOps.Remaphore;

/// <summary>What to send: the seed's -s (and -r) options.</summary>
public sealed class RemaphoreSendOptions
{
    public string Payload { get; set; } = "";
    /// <summary>Destination pattern; the seed's default ** reaches every node.</summary>
    public string Destination { get; set; } = DestinationPattern.All;
    public string Verb { get; set; } = "ping";
    public string? Uuid { get; set; }
    /// <summary>Public key of the identity to sign with; default: the identity the verb selects.</summary>
    public string? Identity { get; set; }
    /// <summary>The seed's -S: the subject becomes &lt;config subject&gt;.&lt;this&gt; instead of &lt;config subject&gt;.all.</summary>
    public string? Subject { get; set; }
    /// <summary>Also keep the signed message in the latch bucket, so a waiter that starts later still sees it.</summary>
    public bool Latch { get; set; }
    public TimeSpan LatchTtl { get; set; } = TimeSpan.FromHours(1);
}

/// <summary>A signed message ready to publish.</summary>
public sealed class PreparedMessage
{
    public required byte[] Wire { get; init; }
    public required byte[] Hash { get; init; }
    public required byte[] Uuid { get; init; }
    public required string Subject { get; init; }
    public required RemaphoreMessage Message { get; init; }
    public required SigningKey Key { get; init; }
}

/// <summary>The remaphore engine's entry points. The cmdlets bind parameters and call these.</summary>
public static class RemaphoreClient
{
    /// <summary>Fire and forget (the seed's -s): signs and publishes on the shared connection. The original flushes
    /// (a PING/PONG round trip) after each message because its process exits next. Here the message is handed to the
    /// connection, whose write loop puts it on the socket at once (nothing waits in a buffer for a flush), and the
    /// round trip that confirms it is taken off the message's path: it follows a little later (<see cref="Flusher"/>,
    /// one PING for all the sends of that moment), and the process makes one more on every connection with
    /// unconfirmed sends when it exits, so nothing sent is lost when the process ends. A PING right behind each
    /// message cost 5–8 µs per Send→Wait on a 2-core machine (interleaved A/B; the PING/PONG and its continuation
    /// compete with the message for the cores). <see cref="FlushAsync"/> waits for the server explicitly.</summary>
    public static async Task<RemaphoreMessage> SendAsync(RemoteOpsConfig config, RemaphoreSendOptions options, CancellationToken cancellationToken = default)
    {
        // Validate and sign first (every error is thrown before anything is sent); the hash and the returned object are
        // built once the message is on its way, not in front of it.
        var signed = Sign(config, options, requestReply: false);
        var connection = await NatsConnectionPool.GetAsync(config, cancellationToken).ConfigureAwait(false);
        if (options.Latch)
        {
            var prepared = Complete(config, options, signed);
            await RemaphoreLatch.PutAsync(connection, config, prepared, options.LatchTtl, cancellationToken).ConfigureAwait(false);
            await connection.PublishAsync(prepared.Subject, prepared.Wire, cancellationToken: cancellationToken).ConfigureAwait(false);
            MarkUnflushed(connection);
            return prepared.Message;
        }
        await connection.PublishAsync(signed.Subject, signed.Wire, cancellationToken: cancellationToken).ConfigureAwait(false);
        MarkUnflushed(connection);
        return Complete(config, options, signed).Message;
    }

    /// <summary>Waits until the server has everything sent so far on this config's connection.</summary>
    public static async Task FlushAsync(RemoteOpsConfig config, CancellationToken cancellationToken = default)
    {
        var connection = await NatsConnectionPool.GetAsync(config, cancellationToken).ConfigureAwait(false);
        await connection.PingAsync(cancellationToken).ConfigureAwait(false);
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<NatsConnection, Flusher> Flushers = new();
    private static int _exitHooked;

    private static void MarkUnflushed(NatsConnection connection)
    {
        if (Volatile.Read(ref _exitHooked) == 0 && Interlocked.Exchange(ref _exitHooked, 1) == 0)
            AppDomain.CurrentDomain.ProcessExit += (_, _) => FlushAllOnExit();
        Flushers.GetValue(connection, static c => new Flusher(c)).Kick();
    }

    /// <summary>Confirms a connection's sends off their path: the first send after a quiet moment schedules one PING
    /// <see cref="Delay"/> later, which covers every send until it is written; sends during it schedule one more.
    /// A loop of sends costs one round trip per <see cref="Delay"/>, a single send one round trip, and neither waits for it.</summary>
    private sealed class Flusher(NatsConnection connection)
    {
        public static readonly TimeSpan Delay = TimeSpan.FromMilliseconds(20);
        private int _dirty;     // sent on since the last PING was written
        private int _scheduled; // a background flush is pending or running

        public NatsConnection Connection => connection;
        public bool Unconfirmed => Volatile.Read(ref _dirty) != 0 || Volatile.Read(ref _scheduled) != 0;

        public void Kick()
        {
            Volatile.Write(ref _dirty, 1);
            if (Volatile.Read(ref _scheduled) == 0 && Interlocked.CompareExchange(ref _scheduled, 1, 0) == 0) _ = RunAsync();
        }

        private async Task RunAsync()
        {
            while (true)
            {
                await Task.Delay(Delay).ConfigureAwait(false);
                if (Interlocked.Exchange(ref _dirty, 0) != 0)
                {
                    try { await connection.PingAsync().ConfigureAwait(false); }
                    catch (ObjectDisposedException) { Interlocked.Exchange(ref _scheduled, 0); return; }
                    catch (Exception) { /* failing: the next send reports it; the exit flush tries again */ }
                }
                if (Volatile.Read(ref _dirty) != 0) continue;
                // Stand down, unless a send slipped in (it either sees _scheduled == 0 and starts a flush, or we see it).
                Interlocked.Exchange(ref _scheduled, 0);
                if (Volatile.Read(ref _dirty) == 0 || Interlocked.CompareExchange(ref _scheduled, 1, 0) != 0) return;
            }
        }
    }

    /// <summary>At process exit: one PING round trip (bounded) on every open connection with sends not yet confirmed,
    /// so a script that sends and exits does not lose its signal.</summary>
    private static void FlushAllOnExit()
    {
        var pings = new List<Task>();
        foreach (var flusher in Flushers.Select(e => e.Value).ToList())
        {
            if (!flusher.Unconfirmed || flusher.Connection.ConnectionState == NatsConnectionState.Closed) continue;
            try { pings.Add(flusher.Connection.PingAsync().AsTask()); }
            catch (Exception) { /* disposed or failing: nothing more to do */ }
        }
        try { Task.WaitAll(pings.ToArray(), TimeSpan.FromSeconds(5)); }
        catch (Exception) { /* exiting anyway */ }
    }

    /// <summary>Validates the options, picks the identity and signs. Throws <see cref="RemaphoreArgumentException"/>,
    /// <see cref="RemaphorePatternException"/> or <see cref="IdentityException"/> with a clear message.</summary>
    public static PreparedMessage Prepare(RemoteOpsConfig config, RemaphoreSendOptions options, bool requestReply) =>
        Complete(config, options, Sign(config, options, requestReply));

    /// <summary>A validated, signed wire message: what must exist before publishing.</summary>
    private readonly record struct SignedMessage(byte[] Wire, byte[] Uuid, long TimeNanos, string Subject, SigningKey Key, bool RequestReply);

    private static SignedMessage Sign(RemoteOpsConfig config, RemaphoreSendOptions options, bool requestReply)
    {
        DestinationPattern.Validate(options.Destination);
        ValidateVerb(options.Verb);
        var subject = RemaphoreWire.MessageSubject(config.Subject, ValidateSubject(options.Subject));
        var (identity, key) = IdentityStore.Resolve(config, options.Identity, options.Verb);
        if (!IdentityStore.MayUse(identity, options.Verb))
            throw new IdentityException($"Identity {identity.Public} may not send verb '{options.Verb}' (its verbs: {(identity.Verbs.Count == 0 ? "none" : string.Join(", ", identity.Verbs))}).");
        var payloadBytes = System.Text.Encoding.UTF8.GetByteCount(options.Payload);
        if (payloadBytes > config.MaxPayload)
            throw new RemaphoreArgumentException($"The message is {payloadBytes} bytes; max_payload is {config.MaxPayload} (receivers drop larger ones). remaphore is for signals, not file transfer.");
        if (options.Latch && options.LatchTtl <= TimeSpan.Zero)
            throw new RemaphoreArgumentException("LatchTtl must be positive.");

        var uuid = RemaphoreWire.UuidBytes(options.Uuid);
        var now = RemaphoreWire.NowNanos();
        var wire = RemaphoreWire.Encode(key, options.Destination, now, uuid, options.Verb, requestReply, options.Payload);
        return new SignedMessage(wire, uuid, now, subject, key, requestReply);
    }

    /// <summary>The hash and the object describing a signed message.</summary>
    private static PreparedMessage Complete(RemoteOpsConfig config, RemaphoreSendOptions options, in SignedMessage signed)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(signed.Wire);
        return new PreparedMessage
        {
            Wire = signed.Wire,
            Hash = hash,
            Uuid = signed.Uuid,
            Subject = signed.Subject,
            Key = signed.Key,
            Message = new RemaphoreMessage
            {
                Sender = signed.Key.PublicBase58,
                Verb = options.Verb,
                Time = RemaphoreWire.FromNanos(signed.TimeNanos),
                Uuid = RemaphoreWire.UuidText(signed.Uuid),
                UuidHex = Convert.ToHexStringLower(signed.Uuid),
                Payload = options.Payload,
                Destination = options.Destination,
                DestinationMatch = config.Destination is { } d && DestinationPattern.Matches(d, options.Destination) ? d : null,
                ReplyRequested = signed.RequestReply,
                Subject = signed.Subject,
                Hash = Convert.ToHexStringLower(hash),
            },
        };
    }

    public static void ValidateVerb(string? verb)
    {
        if (string.IsNullOrEmpty(verb)) throw new RemaphoreArgumentException("The verb cannot be empty.");
        if (verb.Contains(',')) throw new RemaphoreArgumentException($"The verb '{verb}' contains a comma, the message separator.");
        if (verb.Any(char.IsControl)) throw new RemaphoreArgumentException("The verb contains a control character.");
    }

    /// <summary>The -Subject suffix must be one or more NATS subject tokens without wildcards.</summary>
    public static string? ValidateSubject(string? subject)
    {
        if (string.IsNullOrEmpty(subject)) return null;
        if (subject.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '*' or '>') || subject.StartsWith('.') || subject.EndsWith('.') || subject.Contains(".."))
            throw new RemaphoreArgumentException($"'{subject}' is not a valid subject (NATS tokens separated by dots; no spaces or wildcards).");
        return subject;
    }

    /// <summary>The public key a -Sender/-ExpectedResponder names, normalised; throws when it is not one.</summary>
    public static string ValidatePublicKey(string text, string what)
    {
        if (!SigningKey.TryDecodePublic(text, out var raw))
            throw new RemaphoreArgumentException($"{what} '{text}' is not an Ed25519 public key (32 bytes, base58).");
        return SimpleBase.Base58.Bitcoin.Encode(raw);
    }

    /// <summary>Truncates to at most <paramref name="maxBytes"/> UTF-8 bytes without splitting a character.</summary>
    internal static string TruncateUtf8(string s, int maxBytes)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(s) <= maxBytes) return s;
        var bytes = System.Text.Encoding.UTF8.GetBytes(s);
        int n = Math.Max(0, maxBytes);
        while (n > 0 && (bytes[n] & 0xC0) == 0x80) n--;
        return System.Text.Encoding.UTF8.GetString(bytes, 0, n);
    }
}
