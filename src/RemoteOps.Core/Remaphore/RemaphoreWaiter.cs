using System.Runtime.CompilerServices;
using System.Threading.Channels;
using NATS.Client.Core;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;

namespace RemoteOps.Remaphore;

/// <summary>What to wait for: the seed's receive options.</summary>
public sealed class RemaphoreWaitOptions
{
    /// <summary>The destination messages must address; default: the config's destination.</summary>
    public string? Destination { get; set; }
    /// <summary>The seed's -d: take messages whatever their destination (dangerous).</summary>
    public bool AnyDestination { get; set; }
    /// <summary>Only messages with this uuid (same rule as sending); implies <see cref="Once"/>.</summary>
    public string? Uuid { get; set; }
    public IReadOnlyList<string>? Verbs { get; set; }
    /// <summary>Only messages from this public key.</summary>
    public string? Sender { get; set; }
    public bool Once { get; set; }
    /// <summary>Null or zero: no timeout, wait until cancelled (the seed's -t, whose default is 0).</summary>
    public TimeSpan? Timeout { get; set; }
    public string? Subject { get; set; }
    /// <summary>With a uuid, look in the latch bucket first (Send-Remaphore -Latch).</summary>
    public bool CheckLatch { get; set; } = true;
}

/// <summary>A subscription that verifies every message and yields, in order, the ones that pass the filters (and, as
/// notes, why others were dropped). Verification runs on the reader's own thread as it enumerates
/// (<see cref="ReadAllAsync"/>), with no extra hand-off. Reply to a request with <see cref="ReplyAsync"/>.</summary>
public sealed class RemaphoreWaiter : IAsyncDisposable
{
    private readonly RemoteOpsConfig _config;
    private readonly RemaphoreWaitOptions _options;
    private readonly NatsConnection _connection;
    private readonly SharedSubscription.Registration<Envelope<WireMessage>> _inbox;
    private readonly RemaphoreVerifier _verifier;
    private readonly string? _destination;
    private readonly byte[]? _uuid;
    private readonly string? _sender;
    private readonly HashSet<string>? _verbs;
    private readonly bool _once;
    private readonly CancellationTokenSource _stop;
    private readonly CancellationTokenSource? _timeout;
    private int _accepted;
    private int _reading;

    public string Subject { get; }
    /// <summary>Messages accepted (yielded) so far.</summary>
    public int Accepted => Volatile.Read(ref _accepted);
    /// <summary>The timeout ended the wait.</summary>
    public bool TimedOut { get; private set; }
    /// <summary>The subscription ended under the wait (e.g. Disconnect-RemoteOps closed the connection).</summary>
    public bool SubscriptionEnded { get; private set; }

    private RemaphoreWaiter(RemoteOpsConfig config, RemaphoreWaitOptions options, NatsConnection connection, SharedSubscription.Registration<Envelope<WireMessage>> inbox,
        string subject, string? destination, byte[]? uuid, string? sender, CancellationToken cancellationToken)
    {
        _config = config;
        _options = options;
        _connection = connection;
        _inbox = inbox;
        Subject = subject;
        _destination = destination;
        _uuid = uuid;
        _sender = sender;
        _verbs = options.Verbs is { Count: > 0 } v ? new HashSet<string>(v, StringComparer.Ordinal) : null;
        _once = options.Once || uuid is not null;
        _verifier = new RemaphoreVerifier(config, new ReplayGuard(config.AllowSkew, registry: ConnectionContext.Of(connection)?.Replays));
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (options.Timeout is { } t && t > TimeSpan.Zero && t < TimeSpan.MaxValue)
        {
            _timeout = new CancellationTokenSource(t < TimeSpan.FromDays(365) ? t : TimeSpan.FromDays(365));
            _timeout.Token.Register(OnTimeout);
        }
    }

    /// <summary>Validates the options, subscribes (and makes sure the server has the subscription); the timeout starts now.</summary>
    public static async Task<RemaphoreWaiter> StartAsync(RemoteOpsConfig config, RemaphoreWaitOptions options, CancellationToken cancellationToken = default)
    {
        string? destination = null;
        if (!options.AnyDestination)
        {
            if (options.Destination is { Length: > 0 } d)
            {
                DestinationPattern.Validate(d);
                destination = d;
            }
            else if (config.Destination is { Length: > 0 } own)
            {
                if (!DestinationPattern.TryValidateName(own, out var problem))
                    throw new DestinationPatternException($"The config's destination '{own}' is not usable: {problem}");
                destination = own;
            }
            else
            {
                throw new RemaphoreArgumentException(
                    $"No destination to match: set 'destination' in {config.SourcePath ?? "the config"}, give -Destination, or take every message with -AnyDestination.");
            }
        }
        var uuid = string.IsNullOrEmpty(options.Uuid) ? null : RemaphoreWire.UuidBytes(options.Uuid);
        var sender = string.IsNullOrEmpty(options.Sender) ? null : RemaphoreClient.ValidatePublicKey(options.Sender, "Sender");
        if (options.Verbs is not null) foreach (var verb in options.Verbs) RemaphoreClient.ValidateVerb(verb);
        var subject = RemaphoreClient.MessageSubject(config, options.Subject);
        if (uuid is not null && options.CheckLatch) RemaphoreClient.CheckLatchSubject(config, subject, uuid);

        TrustStore.For(config); // import the peer keys now, not on the first message
        var connection = await ConnectionPool.GetAsync(config, cancellationToken).ConfigureAwait(false);
        // One subscription per subject per process, shared; a waiter that falls far behind loses the newest messages
        // (and says so) rather than stalling the shared connection.
        var inbox = await SharedSubscription.RegisterAsync(connection, subject, RemaphoreVerifier.Open, 65536, cancellationToken).ConfigureAwait(false);
        try
        {
            // The server handles a client's commands in order: after this round trip it has the subscription,
            // so a message sent from now on reaches us (and a latch stored before it is visible to the lookup).
            await connection.PingAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await inbox.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return new RemaphoreWaiter(config, options, connection, inbox, subject, destination, uuid, sender, cancellationToken);
    }

    /// <summary>Notes (why messages were dropped, readiness) and accepted messages, in order, until Once is satisfied, the
    /// timeout, or disposal; cancelling <paramref name="cancellationToken"/> throws. Enumerate it once.</summary>
    public async IAsyncEnumerable<RemaphoreEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _reading, 1) != 0) throw new InvalidOperationException("A waiter is read once.");
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, cancellationToken);
        var token = linked.Token;
        yield return new RemaphoreNote($"Waiting on subject {Subject}" + (_destination is null ? " for any destination" : $" for destination {_destination}") +
            (_uuid is null ? "" : $", uuid {RemaphoreWire.UuidText(_uuid)}") + (_verbs is null ? "" : $", verbs {string.Join(",", _verbs)}") + ".");
        if (_uuid is not null && _options.CheckLatch)
        {
            var notes = new List<string>();
            byte[]? latched = null;
            try
            {
                latched = await RemaphoreLatchStore.TryGetAsync(_connection, _config, Subject, _uuid, TrustStore.For(_config), notes.Add, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested) { yield break; }
            foreach (var n in notes) yield return new RemaphoreNote(n);
            if (latched is not null)
            {
                var (e, done) = Handle(RemaphoreVerifier.Open(latched), latched, latched: true);
                if (e is not null) yield return e;
                if (done) yield break;
            }
        }
        var reader = _inbox.Reader;
        while (await WaitToReadAsync(reader, token, cancellationToken).ConfigureAwait(false))
        {
            while (reader.TryRead(out var delivery))
            {
                var (e, done) = Handle(delivery.Decoded, delivery.Raw, latched: false);
                if (e is not null) yield return e;
                if (done) yield break;
                if (token.IsCancellationRequested) break;
            }
            if (_inbox.TakeDropped() is > 0 and var dropped)
                yield return new RemaphoreWarning($"{dropped} message(s) on {Subject} were dropped because this wait fell behind.");
        }
        cancellationToken.ThrowIfCancellationRequested();
        // Not stopped, not timed out: the subscription itself ended (the connection was closed).
        if (!token.IsCancellationRequested) SubscriptionEnded = true;
    }

    /// <summary>False when the wait is over (timeout or disposal); throws when the caller cancels.</summary>
    private static async ValueTask<bool> WaitToReadAsync(ChannelReader<Delivery<Envelope<WireMessage>>> reader, CancellationToken token, CancellationToken caller)
    {
        try
        {
            return await reader.WaitToReadAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!caller.IsCancellationRequested)
        {
            return false;
        }
        catch (NatsException)
        {
            return false;
        }
    }

    /// <summary>The event for one message (or null when there is nothing to say), and whether the wait is over.</summary>
    private (RemaphoreEvent? Event, bool Done) Handle(Envelope<WireMessage> envelope, byte[] raw, bool latched)
    {
        var now = RemaphoreWire.NowNanos();
        var verdict = latched ? _verifier.VerifyLatched(raw, _destination, now) : _verifier.VerifyMessage(envelope, _destination, now);
        if (!verdict.Accepted)
            return (new RemaphoreNote(latched ? "Latch: " + verdict.Reason : verdict.Reason), false);
        var m = verdict.Message!;
        string? skip = null;
        if (_uuid is not null && !m.Uuid.AsSpan().SequenceEqual(_uuid)) skip = $"uuid {UntrustedText.Clean(RemaphoreWire.UuidText(m.Uuid))} is not the one waited for";
        else if (_verbs is not null && !_verbs.Contains(m.Verb)) skip = $"verb '{UntrustedText.Clean(m.Verb)}' is not one waited for";
        else if (_sender is not null && m.SenderBase58 != _sender) skip = "not from the sender waited for";
        if (skip is not null)
            return (new RemaphoreNote($"Skipped message {Convert.ToHexStringLower(m.Hash.AsSpan(0, 6))} from {verdict.Peer!.Destination}: {skip}."), false);
        string? match = _destination ?? (_config.Destination is { } own && DestinationPattern.Matches(own, m.Destination) ? own : null);
        var message = new RemaphoreMessage
        {
            Sender = m.SenderBase58,
            SenderName = verdict.Peer?.Destination,
            Verb = m.Verb,
            Time = RemaphoreWire.FromNanos(m.TimeNanos),
            Uuid = RemaphoreWire.UuidText(m.Uuid),
            UuidHex = Convert.ToHexStringLower(m.Uuid),
            Payload = m.Payload,
            Destination = m.Destination,
            DestinationMatch = match,
            ReplyRequested = m.RequestReply && !latched,
            Subject = Subject,
            Hash = Convert.ToHexStringLower(m.Hash),
            Latched = latched,
        };
        Interlocked.Increment(ref _accepted);
        return (new RemaphoreReceived(message), _once);
    }

    /// <summary>Answers a request (when the sender asked for a reply; otherwise does nothing), as the original does:
    /// a message with verb "reply", signed by our default identity, payload "exitcode,output" — or "NO_DATA" when
    /// <paramref name="exitCode"/> is null (nothing was run) — on &lt;subject&gt;.&lt;hex(hash of the request)&gt;.</summary>
    public async Task ReplyAsync(RemaphoreMessage message, int? exitCode, string? output, CancellationToken cancellationToken = default)
    {
        if (!message.ReplyRequested) return;
        var (_, key) = IdentityStore.Resolve(_config);
        var payload = exitCode is null ? RemaphoreWire.NoData : $"{exitCode},{output}";
        payload = RemaphoreClient.TruncateUtf8(payload, _config.MaxPayload);
        var wire = RemaphoreWire.Encode(key, "", RemaphoreWire.NowNanos(), RemaphoreWire.UuidBytes(null), RemaphoreWire.ReplyVerb, false, payload);
        // The server would drop a reply beyond its max_payload (when the config's max_payload is larger): shorten the output instead.
        long over = wire.Length - NatsLimits.MaxPayload(_connection);
        if (over > 0)
        {
            payload = RemaphoreClient.TruncateUtf8(payload, (int)Math.Max(0, System.Text.Encoding.UTF8.GetByteCount(payload) - over));
            wire = RemaphoreWire.Encode(key, "", RemaphoreWire.NowNanos(), RemaphoreWire.UuidBytes(null), RemaphoreWire.ReplyVerb, false, payload);
        }
        var subject = RemaphoreWire.ReplySubject(_config.Subject, Convert.FromHexString(message.Hash));
        await _connection.PublishAsync(subject, wire, cancellationToken: cancellationToken).ConfigureAwait(false);
        await _connection.PingAsync(cancellationToken).ConfigureAwait(false);
    }

    private void OnTimeout()
    {
        TimedOut = true;
        // The timer may fire while the wait is being disposed.
        try { _stop.Cancel(); } catch (ObjectDisposedException) { }
    }

    public async ValueTask DisposeAsync()
    {
        try { _stop.Cancel(); } catch (ObjectDisposedException) { return; }
        await _inbox.DisposeAsync().ConfigureAwait(false);
        _timeout?.Dispose();
        _stop.Dispose();
    }
}
