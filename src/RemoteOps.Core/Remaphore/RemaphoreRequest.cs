using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using NATS.Client.Core;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;

namespace RemoteOps.Remaphore;

/// <summary>Request/response (the seed's -r): the message asks for replies, which come back on
/// &lt;subject&gt;.&lt;hex(sha256(request))&gt;, verified on all cores. Ends when every expected responder has
/// answered, at the timeout, or when cancelled.</summary>
public sealed class RemaphoreRequest : IAsyncDisposable
{
    private readonly RemoteOpsConfig _config;
    private readonly INatsSub<byte[]> _sub;
    private readonly RemaphoreVerifier _verifier;
    private readonly ConcurrentDictionary<string, TrustedPeer> _waitingFor;
    private readonly ConcurrentDictionary<string, byte> _answered = new(StringComparer.Ordinal);
    private readonly Channel<RemaphoreEvent> _events = Channel.CreateUnbounded<RemaphoreEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop;
    private readonly CancellationTokenSource _timeout;
    private readonly Task _run;
    private long _started;
    private int _remaining;

    public RemaphoreMessage Request { get; }
    /// <summary>The responders waited for (config peers whose destination matches, or -ExpectedResponder).</summary>
    public IReadOnlyList<TrustedPeer> Expected { get; }
    /// <summary>After the events end: the expected responders that did not answer.</summary>
    public IReadOnlyList<TrustedPeer> Missing => _waitingFor.Values.OrderBy(p => p.Destination, StringComparer.Ordinal).ToList();
    public bool TimedOut { get; private set; }
    public TimeSpan Timeout { get; }
    public ChannelReader<RemaphoreEvent> Events => _events.Reader;
    /// <summary>Verified replies so far.</summary>
    public int Replies => _answered.Count;

    private RemaphoreRequest(RemoteOpsConfig config, RemaphoreMessage request, IReadOnlyList<TrustedPeer> expected, INatsSub<byte[]> sub,
        TimeSpan timeout, ReplayRegistry? replays, CancellationToken cancellationToken)
    {
        _config = config;
        Request = request;
        Expected = expected;
        _sub = sub;
        Timeout = timeout;
        _waitingFor = new ConcurrentDictionary<string, TrustedPeer>(expected.Select(p => KeyValuePair.Create(p.Public, p)), StringComparer.Ordinal);
        _remaining = _waitingFor.Count;
        _verifier = new RemaphoreVerifier(config, new ReplayGuard(config.AllowSkew, registry: replays));
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _timeout = new CancellationTokenSource();
        _timeout.Token.Register(OnTimeout);
        _run = Task.Run(RunAsync);
    }

    /// <summary>Signs and publishes the request and starts collecting replies.</summary>
    public static async Task<RemaphoreRequest> StartAsync(RemoteOpsConfig config, RemaphoreSendOptions options, TimeSpan timeout,
        IReadOnlyList<string>? expectedResponders, CancellationToken cancellationToken = default)
    {
        DestinationPattern.Validate(options.Destination);
        var peers = TrustStore.For(config);
        var expected = ResolveExpected(config, peers, options.Destination, expectedResponders);
        var prepared = RemaphoreClient.Prepare(config, options, requestReply: true);
        var connection = await ConnectionPool.GetAsync(config, cancellationToken).ConfigureAwait(false);
        RemaphoreClient.CheckFits(connection, prepared.Wire.Length);
        var replySubject = RemaphoreWire.ReplySubject(config.Subject, prepared.Hash);
        // Fan-in: many replies may arrive at once; never drop one for want of buffer.
        var sub = await connection.SubscribeCoreAsync<byte[]>(replySubject,
            opts: new NatsSubOpts { ChannelOpts = new NatsSubChannelOpts { Capacity = 1 << 20, FullMode = BoundedChannelFullMode.Wait } },
            cancellationToken: cancellationToken).ConfigureAwait(false);
        var request = new RemaphoreRequest(config, prepared.Message, expected, sub, timeout, ConnectionContext.Of(connection)?.Replays, cancellationToken);
        try
        {
            // Same connection: the server sees our SUB before our PUB, so no reply can come before we listen.
            request._started = Stopwatch.GetTimestamp();
            await connection.PublishAsync(prepared.Subject, prepared.Wire, cancellationToken: cancellationToken).ConfigureAwait(false);
            request._timeout.CancelAfter(timeout > TimeSpan.Zero && timeout < TimeSpan.FromDays(365) ? timeout : TimeSpan.FromDays(365));
            if (request._remaining == 0 && expected.Count > 0) request._stop.Cancel();
        }
        catch
        {
            await request.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return request;
    }

    /// <summary>Expected responders: the config peers whose destination the pattern matches (as the original's
    /// PotentialReceivers); or, with <paramref name="named"/>, the peers each entry names by public key or by destination
    /// (pattern). An entry naming no configured peer is an error: its replies would be dropped as from an unknown sender.</summary>
    public static IReadOnlyList<TrustedPeer> ResolveExpected(RemoteOpsConfig config, TrustStore peers, string pattern, IReadOnlyList<string>? named)
    {
        var result = new List<TrustedPeer>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        if (named is { Count: > 0 })
        {
            foreach (var entry in named)
            {
                var matches = peers.Peers.Where(p => p.Public == entry || p.Destination.Length > 0 && RemaphoreVerifier.DestinationMatches(p.Destination, entry)).ToList();
                if (matches.Count == 0)
                    throw new RemaphoreArgumentException($"ExpectedResponder '{entry}' names no peer in {config.SourcePath ?? "the config"} (by public key or destination); replies from unknown senders are dropped.");
                foreach (var p in matches) if (seen.Add(p.Public)) result.Add(p);
            }
            return result;
        }
        foreach (var p in peers.Peers)
            if (p.Destination.Length > 0 && DestinationPattern.Matches(p.Destination, pattern) && seen.Add(p.Public)) result.Add(p);
        if (result.Count == 0)
            throw new RemaphoreArgumentException($"No known receivers: no peer in {config.SourcePath ?? "the config"} has a destination matching '{pattern}'. Add peers, or name responders with -ExpectedResponder.");
        return result;
    }

    private async Task RunAsync()
    {
        // Verification is the cost of fan-in: a reader per core, each taking messages straight off the subscription
        // (its channel allows several readers) and verifying them in parallel.
        var workers = new Task[Math.Max(1, Environment.ProcessorCount)];
        for (int i = 0; i < workers.Length; i++) workers[i] = Task.Run(VerifyLoopAsync);
        try { await Task.WhenAll(workers).ConfigureAwait(false); }
        catch (Exception e) { _events.Writer.TryComplete(e); }
        _events.Writer.TryComplete();
    }

    private async Task VerifyLoopAsync()
    {
        var token = _stop.Token;
        var reader = _sub.Msgs;
        try
        {
            while (await reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                while (!token.IsCancellationRequested && reader.TryRead(out var msg))
                    Handle(msg.Data ?? [], Stopwatch.GetTimestamp());
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested) { }
    }

    private void Handle(byte[] raw, long at)
    {
        var verdict = _verifier.VerifyReply(raw, RemaphoreWire.NowNanos());
        if (!verdict.Accepted)
        {
            _events.Writer.TryWrite(new RemaphoreNote(verdict.Reason));
            return;
        }
        var m = verdict.Message!;
        var peer = verdict.Peer!;
        if (!_answered.TryAdd(peer.Public, 0))
        {
            _events.Writer.TryWrite(new RemaphoreNote($"Ignored a second reply from {peer.Destination} ({UntrustedText.Short(peer.Public)})."));
            return;
        }
        var (exitCode, output) = ParseReply(m.Payload);
        _events.Writer.TryWrite(new RemaphoreReplied(new RemaphoreResponse
        {
            Destination = peer.Destination,
            Sender = peer.Public,
            SenderName = peer.Destination,
            ExitCode = exitCode,
            Output = output,
            Payload = m.Payload,
            Elapsed = Stopwatch.GetElapsedTime(_started, at),
            Time = RemaphoreWire.FromNanos(m.TimeNanos),
        }));
        if (_waitingFor.TryRemove(peer.Public, out _) && Interlocked.Decrement(ref _remaining) == 0)
            _stop.Cancel();
    }

    /// <summary>"exitcode,output" → (exitcode, output); "NO_DATA" (nothing run) → (null, ""); anything else → (null, payload).</summary>
    public static (int? ExitCode, string Output) ParseReply(string payload)
    {
        if (payload == RemaphoreWire.NoData) return (null, "");
        int comma = payload.IndexOf(',');
        if (comma > 0 && int.TryParse(payload.AsSpan(0, comma), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var code))
            return (code, payload[(comma + 1)..]);
        return (null, payload);
    }

    private void OnTimeout()
    {
        TimedOut = true;
        // The timer may fire while the wait is being disposed.
        try { _stop.Cancel(); } catch (ObjectDisposedException) { }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try { await _run.ConfigureAwait(false); } catch (Exception) { }
        try { await _sub.DisposeAsync().ConfigureAwait(false); } catch (Exception e) when (e is NatsException or ObjectDisposedException) { }
        _timeout.Dispose();
        _stop.Dispose();
    }
}

/// <summary>The seed's text output for request/response: <c>destination,exit-code,output</c>, one line per responder;
/// a reply containing newlines is framed by <c>--&gt; sep</c> and <c>--&lt; sep</c>, sep being the same random string for
/// every reply of one request.</summary>
public static class RemaphoreText
{
    public static string NewSeparator() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    public static IReadOnlyList<string> Format(RemaphoreResponse response, string separator)
    {
        var payload = response.Payload.Trim();
        var line = $"{response.Destination},{payload}";
        if (!payload.Contains('\n')) return [line];
        var lines = new List<string> { "--> " + separator };
        lines.AddRange(line.Split('\n').Select(l => l.TrimEnd('\r')));
        lines.Add("--< " + separator);
        return lines;
    }
}
