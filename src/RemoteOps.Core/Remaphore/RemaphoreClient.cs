using NATS.Client.Core;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;

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
    /// <summary>Fire and forget (the seed's -s): signs and publishes on the shared connection. The message is handed to
    /// the connection, whose write loop puts it on the socket at once; the round trip that confirms it is taken off the
    /// message's path (<see cref="ConnectionContext.MarkUnconfirmed"/>), and the process confirms every connection's sends
    /// when it exits, so nothing sent is lost when the process ends. <see cref="FlushAsync"/> waits for the server explicitly.</summary>
    public static async Task<RemaphoreMessage> SendAsync(RemoteOpsConfig config, RemaphoreSendOptions options, CancellationToken cancellationToken = default)
    {
        // Validate and sign first (every error is thrown before anything is sent); the hash and the returned object are
        // built once the message is on its way, not in front of it.
        var signed = Sign(config, options, requestReply: false);
        var signedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        var context = await ConnectionPool.GetContextAsync(config, cancellationToken).ConfigureAwait(false);
        if (options.Latch) await RemaphoreLatchStore.OpenAsync(context.Connection, config, cancellationToken).ConfigureAwait(false);
        // Connecting, or making the latch bucket, can take seconds on a loaded machine: a message signed before that
        // would reach receivers older than their allow_skew and be dropped. Signed again, its time is now.
        if (System.Diagnostics.Stopwatch.GetElapsedTime(signedAt) > ResignAfter) signed = Sign(config, options, requestReply: false);
        CheckFits(context.Connection, signed.Wire.Length);
        if (options.Latch)
        {
            var prepared = Complete(config, options, signed);
            if (NatsLimits.PayloadProblem(context.Connection, RemaphoreLatchStore.ValueLength(prepared.Wire.Length)) is { } latchProblem)
                throw new RemaphoreArgumentException($"The message cannot be latched: {latchProblem}. Send a smaller payload, or send it without -Latch.");
            await RemaphoreLatchStore.PutAsync(context.Connection, config, prepared, options.LatchTtl, cancellationToken).ConfigureAwait(false);
            await context.Connection.PublishAsync(prepared.Subject, prepared.Wire, cancellationToken: cancellationToken).ConfigureAwait(false);
            context.MarkUnconfirmed();
            return prepared.Message;
        }
        await context.Connection.PublishAsync(signed.Subject, signed.Wire, cancellationToken: cancellationToken).ConfigureAwait(false);
        context.MarkUnconfirmed();
        return Complete(config, options, signed).Message;
    }

    /// <summary>How long a signed message may wait for its connection before it is signed again with a fresh time.</summary>
    private static readonly TimeSpan ResignAfter = TimeSpan.FromSeconds(1);

    /// <summary>Waits until the server has everything sent so far on this config's connection.</summary>
    public static async Task FlushAsync(RemoteOpsConfig config, CancellationToken cancellationToken = default)
    {
        var connection = await ConnectionPool.GetAsync(config, cancellationToken).ConfigureAwait(false);
        await connection.PingAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Validates the options, picks the identity and signs. Throws <see cref="RemaphoreArgumentException"/>,
    /// <see cref="DestinationPatternException"/> or <see cref="IdentityException"/> with a clear message.</summary>
    public static PreparedMessage Prepare(RemoteOpsConfig config, RemaphoreSendOptions options, bool requestReply) =>
        Complete(config, options, Sign(config, options, requestReply));

    /// <summary>A validated, signed wire message: what must exist before publishing.</summary>
    private readonly record struct SignedMessage(byte[] Wire, byte[] Uuid, long TimeNanos, string Subject, SigningKey Key, bool RequestReply);

    private static SignedMessage Sign(RemoteOpsConfig config, RemaphoreSendOptions options, bool requestReply)
    {
        DestinationPattern.Validate(options.Destination);
        ValidateVerb(options.Verb);
        var subject = MessageSubject(config, options.Subject);
        var uuid = RemaphoreWire.UuidBytes(options.Uuid);
        if (options.Latch) CheckLatchSubject(config, subject, uuid);
        var (identity, key) = IdentityStore.Resolve(config, options.Identity, options.Verb);
        if (!IdentityStore.MayUse(identity, options.Verb))
            throw new IdentityException($"Identity {identity.Public} may not send verb '{options.Verb}' (its verbs: {(identity.Verbs.Count == 0 ? "none" : string.Join(", ", identity.Verbs))}).");
        var payloadBytes = System.Text.Encoding.UTF8.GetByteCount(options.Payload);
        if (payloadBytes > config.MaxPayload)
            throw new RemaphoreArgumentException($"The message is {payloadBytes} bytes; max_payload is {config.MaxPayload} (receivers drop larger ones). remaphore is for signals, not file transfer.");
        if (options.Latch && options.LatchTtl <= TimeSpan.Zero)
            throw new RemaphoreArgumentException("LatchTtl must be positive.");

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
                SenderName = TrustStore.For(config).Find(signed.Key.PublicBase58)?.Destination ?? config.Destination,
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

    /// <summary>The one verb rule (<see cref="VerbRule"/>), as a remaphore argument error.</summary>
    public static void ValidateVerb(string? verb)
    {
        if (VerbRule.Problem(verb) is { } problem) throw new RemaphoreArgumentException(problem);
    }

    /// <summary>Throws when a message of <paramref name="wireLength"/> bytes does not fit the server's max_payload: the
    /// server would drop it, and the sender would never know.</summary>
    internal static void CheckFits(NatsConnection connection, int wireLength)
    {
        if (NatsLimits.PayloadProblem(connection, wireLength) is { } problem)
            throw new RemaphoreArgumentException($"The message cannot be sent: {problem}. Send a smaller payload (max_payload in the config should not exceed the server's).");
    }

    /// <summary>The subject messages go to (&lt;subject&gt;.all or &lt;subject&gt;.&lt;suffix&gt;), validated: NATS tokens,
    /// and short enough for NATS to carry, as are the reply subjects under the same root. Throws
    /// <see cref="RemaphoreArgumentException"/> before anything is sent or subscribed: an overlong subject would make the
    /// server close the connection every cmdlet of the session shares.</summary>
    public static string MessageSubject(RemoteOpsConfig config, string? suffix)
    {
        var subject = RemaphoreWire.MessageSubject(config.Subject, ValidateSubject(suffix));
        if (NatsLimits.SubjectProblem(subject) is { } problem)
            throw new RemaphoreArgumentException(suffix is null
                ? $"The config's subject '{Shorten(config.Subject)}' is too long: {problem}."
                : $"-Subject is too long ({suffix.Length} characters): {problem}.");
        if (NatsLimits.SubjectProblem(RemaphoreWire.ReplySubject(config.Subject, new byte[32])) is { } replyProblem)
            throw new RemaphoreArgumentException($"The config's subject '{Shorten(config.Subject)}' is too long for replies: {replyProblem}.");
        return subject;
    }

    /// <summary>Throws when the latch of (<paramref name="subject"/>, <paramref name="uuid"/>) could not be stored or looked
    /// up: its key-value subject (longer than the message's) must fit NATS's control line too.</summary>
    public static void CheckLatchSubject(RemoteOpsConfig config, string subject, ReadOnlySpan<byte> uuid)
    {
        if (NatsLimits.SubjectProblem(RemaphoreLatchStore.LookupSubject(config.LatchBucket, subject, uuid)) is { } problem)
            throw new RemaphoreArgumentException($"-Subject is too long for a latched signal (the latch's key is made from the subject): {problem}.");
    }

    private static string Shorten(string s) => s.Length <= 64 ? s : s[..64] + "…";

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
        return Base58.Encode(raw);
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
