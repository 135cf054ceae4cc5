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
    /// (a PING/PONG round trip) after each message because its process exits next; here flushing is coalesced: a send
    /// starts a round trip unless one is already under way (then one more follows it), and the process waits for the
    /// last one when it exits. A loop of sends pays no round trip each, and nothing sent is lost when the process
    /// ends. <see cref="FlushAsync"/> waits for the server explicitly.</summary>
    public static async Task<RemaphoreMessage> SendAsync(RemoteOpsConfig config, RemaphoreSendOptions options, CancellationToken cancellationToken = default)
    {
        var prepared = Prepare(config, options, requestReply: false);
        var connection = await NatsConnectionPool.GetAsync(config, cancellationToken).ConfigureAwait(false);
        if (options.Latch)
            await RemaphoreLatch.PutAsync(connection, config, prepared, options.LatchTtl, cancellationToken).ConfigureAwait(false);
        await connection.PublishAsync(prepared.Subject, prepared.Wire, cancellationToken: cancellationToken).ConfigureAwait(false);
        Flushers.GetOrAdd(connection, static c => new Flusher(c)).Kick();
        return prepared.Message;
    }

    /// <summary>Waits until the server has everything sent so far on this config's connection.</summary>
    public static async Task FlushAsync(RemoteOpsConfig config, CancellationToken cancellationToken = default)
    {
        var connection = await NatsConnectionPool.GetAsync(config, cancellationToken).ConfigureAwait(false);
        await connection.PingAsync(cancellationToken).ConfigureAwait(false);
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<NatsConnection, Flusher> Flushers = new();
    private static int _exitHooked;

    /// <summary>At most one PING in flight per connection; a send during one marks it dirty and one more PING follows.
    /// When it settles, everything published before is at the server.</summary>
    private sealed class Flusher
    {
        private const int Idle = 0, Flying = 1, FlyingDirty = 2;
        private readonly NatsConnection _connection;
        private int _state;
        private TaskCompletionSource _settled = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Flusher(NatsConnection connection)
        {
            _connection = connection;
            _settled.SetResult();
            if (Interlocked.Exchange(ref _exitHooked, 1) == 0)
                AppDomain.CurrentDomain.ProcessExit += (_, _) => FlushAllOnExit();
        }

        public Task Settled => Volatile.Read(ref _settled).Task;

        public void Kick()
        {
            while (true)
            {
                var s = Volatile.Read(ref _state);
                if (s == Idle)
                {
                    if (Interlocked.CompareExchange(ref _state, Flying, Idle) != Idle) continue;
                    Volatile.Write(ref _settled, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                    _ = RunAsync();
                    return;
                }
                if (s == FlyingDirty || Interlocked.CompareExchange(ref _state, FlyingDirty, Flying) == Flying) return;
            }
        }

        private async Task RunAsync()
        {
            var settled = Volatile.Read(ref _settled);
            while (true)
            {
                try { await _connection.PingAsync().ConfigureAwait(false); }
                catch (ObjectDisposedException) { Flushers.TryRemove(_connection, out _); }
                catch (Exception) { /* failing: the next send reports it */ }
                if (Interlocked.CompareExchange(ref _state, Flying, FlyingDirty) == FlyingDirty) continue;
                if (Interlocked.CompareExchange(ref _state, Idle, Flying) == Flying) break;
            }
            settled.TrySetResult();
        }
    }

    /// <summary>At process exit: wait (bounded) for the last sends' round trips, so a script that sends and exits
    /// does not lose its signal.</summary>
    private static void FlushAllOnExit()
    {
        try { Task.WaitAll(Flushers.Values.Select(f => f.Settled).ToArray(), TimeSpan.FromSeconds(5)); }
        catch (Exception) { /* exiting anyway */ }
    }

    /// <summary>Validates the options, picks the identity and signs. Throws <see cref="RemaphoreArgumentException"/>,
    /// <see cref="RemaphorePatternException"/> or <see cref="IdentityException"/> with a clear message.</summary>
    public static PreparedMessage Prepare(RemoteOpsConfig config, RemaphoreSendOptions options, bool requestReply)
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
        var hash = System.Security.Cryptography.SHA256.HashData(wire);
        return new PreparedMessage
        {
            Wire = wire,
            Hash = hash,
            Uuid = uuid,
            Subject = subject,
            Key = key,
            Message = new RemaphoreMessage
            {
                Sender = key.PublicBase58,
                Verb = options.Verb,
                Time = RemaphoreWire.FromNanos(now),
                Uuid = RemaphoreWire.UuidText(uuid),
                UuidHex = Convert.ToHexStringLower(uuid),
                Payload = options.Payload,
                Destination = options.Destination,
                DestinationMatch = config.Destination is { } d && DestinationPattern.Matches(d, options.Destination) ? d : null,
                ReplyRequested = requestReply,
                Subject = subject,
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
