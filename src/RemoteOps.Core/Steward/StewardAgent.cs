using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;

namespace RemoteOps.Steward;

public enum StewardLogLevel { Verbose, Information, Warning }

/// <summary>One line of the agent's log (Start-StewardNode writes it as Verbose, Information or Warning).</summary>
public readonly record struct StewardLogEntry(StewardLogLevel Level, string Text)
{
    public override string ToString() => $"{Level}: {Text}";
}

/// <summary>The steward node agent: serves the commands queued for one node name. It binds the node's durable
/// consumer on the steward stream, verifies each message (encoding, signature, known sender, the node's name, the
/// clock, the delivery window, the method table), records an accepted one durably in its local store
/// (<see cref="StewardLocalStore"/>) before the JetStream ack, then runs it and writes its status and result to the
/// results bucket, signed by the node. An id already executed is never run again (its stored result is written
/// again). CliCommand runs detached (<see cref="DetachedCommand"/>), so a restarted agent adopts a command its
/// predecessor started.</summary>
public sealed partial class StewardAgent : IAsyncDisposable
{
    /// <summary>How long <see cref="StopAsync"/> waits for methods still running (a detached command keeps running
    /// and is adopted on the next start).</summary>
    /// <remarks>8 s, then at most 1.5 s for what was told to stop: the whole stop stays within the 10 s a cmdlet waits
    /// for its work after Ctrl+C, so the session never ends in the middle of a drain.</remarks>
    public static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(8);
    /// <summary>How long a final record is retried when NATS is away.</summary>
    private static readonly TimeSpan WriteRetryFor = TimeSpan.FromMinutes(5);

    private readonly RemoteOpsConfig _config;
    private readonly StewardConfig _section;
    private readonly StewardStore _store;
    private readonly StewardLocalStore _local;
    private readonly SigningKey _key;
    private readonly TrustStore _trust;
    private readonly Action<StewardLogEntry> _log;
    private readonly EnvelopeVerifier<StewardCommand> _verifier;
    private readonly StewardMethodRunner _runner;
    private readonly string _bootId = DetachedCommand.BootId();
    private readonly CancellationTokenSource _stopTaking = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly ConcurrentDictionary<string, Task> _inFlight = new();
    private readonly ConcurrentDictionary<string, long?> _tailFrom = new();
    /// <summary>The record each message in flight last had in the bucket, and its revision: the next move is a
    /// compare-and-set on it without reading it again (a read is one round trip; the benchmark's Ping needs four fewer).
    /// A move that loses (someone else wrote) reads the record again.</summary>
    private readonly ConcurrentDictionary<string, StoredRecord> _latest = new();
    /// <summary>Each streaming message's last output chunk and its storing: the method reads on meanwhile, the next chunk
    /// waits for it (the stream keeps them in order), and the final record waits for it or carries it.</summary>
    private readonly ConcurrentDictionary<string, ChunkInFlight> _chunksInFlight = new();
    private sealed record ChunkInFlight(StewardChunk Chunk, Task Stored);
    /// <summary>The largest last chunk a final record carries rather than waiting for it to be stored (UTF-8 bytes).</summary>
    internal const int MaxCarriedChunkBytes = 64 * 1024;
    private readonly Lock _handlersLock = new();
    private Dictionary<StewardMethod, IReadOnlyList<string>> _handlers;
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;
    private DateTimeOffset? _lastCommand;
    private Task _completion = Task.CompletedTask;
    private int _stopped;
    /// <summary>Who watches the agent (audit log, metrics): one call per event, see StewardAgentEvents.</summary>
    private readonly StewardAgentEvents _events;
    /// <summary>Error reports on their way to central, kept locally until sent (null on central, or with no central).</summary>
    private readonly StewardErrorOutbox? _errors;
    /// <summary>The seed's input API (socket, TCP, HTTP), when configured.</summary>
    private StewardInputListener? _input;

    /// <summary>The node's name: the subject it serves and the name in its records.</summary>
    public string Name { get; }
    /// <summary>The node's public key (base58): its records are signed with it.</summary>
    public string PublicKey => _key.PublicBase58;
    /// <summary>The local store's directory (the data directory's subfolder for this node).</summary>
    public string DataDirectory => _local.Directory;
    /// <summary>Completes when the agent stopped (after <see cref="StopAsync"/> or the start token's cancellation).</summary>
    public Task Completion => _completion;

    /// <summary>The method handlers served now, with their allowed senders (OpProcessStart/Stop change them).</summary>
    public IReadOnlyDictionary<StewardMethod, IReadOnlyList<string>> Handlers
    {
        get { lock (_handlersLock) return new Dictionary<StewardMethod, IReadOnlyList<string>>(_handlers); }
    }

    private StewardAgent(RemoteOpsConfig config, string name, StewardStore store, StewardLocalStore local, SigningKey key, Action<StewardLogEntry> log, int outputCap)
    {
        _config = config; _section = config.Steward; Name = name; _store = store; _local = local; _key = key; _log = log;
        // The node's own identity is known too (a session on this node signs with it, e.g. an error report to itself as
        // central); it grants nothing: methods' allowed senders resolve against the configured peers only.
        _trust = config.Peers.Any(p => p.Public == key.PublicBase58) ? TrustStore.For(config)
            : new TrustStore(config.Peers.Append(new PeerConfig { Destination = name, Public = key.PublicBase58 }), config.TrustGrants);
        _verifier = new EnvelopeVerifier<StewardCommand>(_trust, config.AllowSkew, StewardCodec.MaxWireBytes, replay: null);
        _handlers = new Dictionary<StewardMethod, IReadOnlyList<string>>(_section.Methods);
        _runner = new StewardMethodRunner(outputCap, (seq, line, ct) => Task.CompletedTask);
        _events = StewardAgentEvents.Start(config, name, local.Directory, store.Connection, log);
        if (_section.Central is { Length: > 0 } central && !IsCentral)
            _errors = new StewardErrorOutbox(store, local, _section, key, central, Log, _events.ErrorSent);
    }

    /// <summary>The observers of this agent (tests read the metrics endpoint and the audit file through them).</summary>
    internal IReadOnlyList<IStewardAgentObserver> Observers => _events.Observers;

    /// <summary>The node's folder in the data directory.</summary>
    internal static string LocalFolder(string name) => KvBuckets.KeyToken(name, t => t.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.'));

    /// <summary>Error reports kept on this node, not yet sent to central.</summary>
    public int PendingErrorReports => _errors?.Pending ?? 0;

    /// <summary>Where the seed's input API listens (null when it is off).</summary>
    public StewardInputListener? Input => _input;

    /// <summary>Runs the agent until <paramref name="ct"/> is cancelled, then drains and stops.</summary>
    public static async Task RunAsync(RemoteOpsConfig config, string? name, Action<StewardLogEntry>? log, CancellationToken ct)
    {
        await using var agent = await StartAsync(config, name, log, ct).ConfigureAwait(false);
        await agent.Completion.ConfigureAwait(false);
    }

    /// <summary>Starts the agent for <paramref name="name"/> (default: the config's destination): opens the stream,
    /// the buckets and the local store, adopts what a previous agent left running, writes the node's presence, and
    /// serves messages until <paramref name="ct"/> is cancelled or <see cref="StopAsync"/>. A shared
    /// <paramref name="connection"/> may be given (many agents in one process); else the pooled one for the config.</summary>
    /// <exception cref="StewardArgumentException">No name (neither given nor destination:), or not a destination name.</exception>
    /// <exception cref="StewardUnavailableException">NATS or JetStream is unreachable or refuses.</exception>
    /// <exception cref="IdentityException">No identity to sign with.</exception>
    public static async Task<StewardAgent> StartAsync(RemoteOpsConfig config, string? name, Action<StewardLogEntry>? log, CancellationToken ct,
        NatsConnection? connection = null, SigningKey? key = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        name = string.IsNullOrWhiteSpace(name) ? config.Destination : name.Trim();
        if (string.IsNullOrEmpty(name))
            throw new StewardArgumentException($"No node name: give -Name, or set destination: in {config.SourcePath ?? "the config"}.");
        if (!StewardSubjects.TryValidateNode(name, out var problem))
            throw new StewardArgumentException($"'{UntrustedText.Clean(name)}' is not a node name: {problem}");
        key ??= IdentityStore.Resolve(config).Key;
        if (connection is null)
        {
            try { connection = await ConnectionPool.GetAsync(config, ct).ConfigureAwait(false); }
            catch (RemoteOpsConnectionException e) { throw new StewardUnavailableException($"Steward is unreachable: {e.Message}", e); }
        }
        var store = await StewardStore.OpenAsync(connection, config, ct).ConfigureAwait(false);
        var local = StewardLocalStore.Open(Path.Combine(config.Steward.EffectiveDataDirectory, LocalFolder(name)));
        // A result lives in one key-value value: leave room for its other fields under the server's max payload.
        var cap = (int)Math.Max(StewardConfigReader.MinMaxOutput, Math.Min(config.Steward.MaxOutput, NatsLimits.MaxPayload(connection) - 16 * 1024));
        var agent = new StewardAgent(config, name, store, local, key, log ?? (_ => { }), cap);
        INatsJSConsumer consumer;
        try
        {
            consumer = await store.JetStream.CreateOrUpdateConsumerAsync(store.Subjects.Stream, new ConsumerConfig(StewardSubjects.ConsumerName(name))
            {
                FilterSubject = store.Subjects.Command(name),
                AckPolicy = ConsumerConfigAckPolicy.Explicit,
                DeliverPolicy = ConsumerConfigDeliverPolicy.All,
                AckWait = TimeSpan.FromSeconds(30),
                MaxAckPending = 1000,
                Description = $"RemoteOps steward node agent of {name}",
            }, ct).ConfigureAwait(false);
            await agent.WritePresenceAsync(ct).ConfigureAwait(false);
        }
        catch (Exception e) when (NatsFailures.Translate(e, $"Steward (consumer of node {name})", connection) is { } failure)
        {
            local.Dispose();
            throw new StewardUnavailableException(failure.Message, e);
        }
        // Before Recover schedules anything: a listener that cannot bind stops the start with nothing running.
        try { agent._input = await StewardInputListener.StartAsync(config, name, agent.DataDirectory, store, key, agent.Log, ct).ConfigureAwait(false); }
        catch { local.Dispose(); throw; }
        agent.Recover();
        agent.StartPwshPool();
        await agent.StartServicesAsync(ct).ConfigureAwait(false);
        var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, agent._stopTaking.Token);
        agent._completion = agent.ServeAsync(consumer, linked);
        agent.Log(StewardLogLevel.Information, $"Steward node {name} ({UntrustedText.Short(agent.PublicKey)}) serving {store.Subjects.Command(name)}; methods: {agent.DescribeHandlers()}; data in {local.Directory}.");
        return agent;
    }

    /// <summary>Stops taking messages, waits (at most <see cref="DrainTimeout"/>) for the methods in flight, and stops.</summary>
    public async Task StopAsync()
    {
        _stopTaking.Cancel();
        try { await _completion.ConfigureAwait(false); } catch (OperationCanceledException) { }
    }

    /// <summary>Stops at once, as a kill would (tests): methods in flight are abandoned where they are; a detached
    /// command keeps running and its row stays Started, for the next agent to adopt.</summary>
    internal async Task AbandonAsync()
    {
        _abort.Cancel();
        await StopAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0) return;
        await StopAsync().ConfigureAwait(false);
        _events.Dispose();
        _local.Dispose();
        _stopTaking.Dispose();
        _abort.Dispose();
    }

    private void Log(StewardLogLevel level, string text)
    {
        try { _log(new StewardLogEntry(level, text)); } catch (Exception) { /* a log sink's failure never stops the agent */ }
    }

    private string DescribeHandlers()
    {
        var h = Handlers;
        return h.Count == 0 ? "(none)" : string.Join(", ", h.Select(m => $"{m.Key} [{string.Join(' ', m.Value)}]"));
    }

    private async Task ServeAsync(INatsJSConsumer consumer, CancellationTokenSource linked)
    {
        var ct = linked.Token;
        using var sigterm = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; _stopTaking.Cancel(); });
        var presence = PresenceLoopAsync(ct);
        var errors = _errors?.RunAsync(ct) ?? Task.CompletedTask;
        var replies = new StewardReplyAgent(_store, _local, Name, _config.Identities.Select(i => i.Public).Append(PublicKey).ToHashSet(StringComparer.Ordinal),
            _section.EffectiveDataDirectory, _section.MethodTimeout, Log).RunAsync(ct);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    await foreach (var msg in consumer.ConsumeAsync<byte[]>(opts: new NatsJSConsumeOpts { MaxMsgs = 100 }, cancellationToken: ct).ConfigureAwait(false))
                        await HandleAsync(msg, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested) { break; }
                catch (Exception e) when (e is NatsException or NatsJSException or TimeoutException or InvalidOperationException)
                {
                    // NATS away (a server restart) or the consumer gone: try again; the message is redelivered if not acked.
                    Log(StewardLogLevel.Warning, $"Consuming {_store.Subjects.Command(Name)}: {e.Message}; retrying.");
                    try { await Task.Delay(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false); } catch (OperationCanceledException) { break; }
                    try { consumer = await _store.JetStream.GetConsumerAsync(_store.Subjects.Stream, StewardSubjects.ConsumerName(Name), ct).ConfigureAwait(false); }
                    catch (Exception again) when (again is NatsException or NatsJSException or TimeoutException) { }
                }
            }
        }
        finally
        {
            Log(StewardLogLevel.Information, $"Steward node {Name} stopping: {_inFlight.Count} method(s) in flight.");
            var drain = Task.WhenAll(_inFlight.Values);
            try { await drain.WaitAsync(DrainTimeout).ConfigureAwait(false); }
            catch (TimeoutException)
            {
                _abort.Cancel();
                try { await drain.WaitAsync(TimeSpan.FromSeconds(1.5)).ConfigureAwait(false); } catch (Exception) { }
            }
            catch (Exception) { }
            try { await presence.ConfigureAwait(false); } catch (OperationCanceledException) { }
            if (_input is not null) await _input.DisposeAsync().ConfigureAwait(false);
            try { await errors.ConfigureAwait(false); } catch (Exception) { /* stopping */ }
            // Last reports (the drain's failures) go now if NATS is there; else they wait in the store for the next start.
            if (_errors is not null)
                try { using var last = new CancellationTokenSource(TimeSpan.FromSeconds(2)); await _errors.FlushAsync(last.Token).ConfigureAwait(false); }
                catch (Exception) { }
            try { await replies.ConfigureAwait(false); } catch (Exception) { /* stopping */ }
            await StopPwshPoolAsync().ConfigureAwait(false);
            await StopServicesAsync().ConfigureAwait(false);
            linked.Dispose();
            Log(StewardLogLevel.Information, $"Steward node {Name} stopped.");
        }
    }

    private async Task PresenceLoopAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(_section.HelloInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                try { await WritePresenceAsync(ct).ConfigureAwait(false); }
                catch (Exception e) when (e is not OperationCanceledException) { Log(StewardLogLevel.Verbose, $"Presence not written: {e.Message}"); }
            }
        }
        catch (OperationCanceledException) { }
    }

    private async Task WritePresenceAsync(CancellationToken ct) { await _store.PutNodeAsync(NodeRecord(), _key, ct).ConfigureAwait(false); _events.HelloSent(); }

    private StewardNodeRecord NodeRecord() => new()
    {
        Name = Name,
        PublicKey = PublicKey,
        Version = typeof(StewardAgent).Assembly.GetName().Version?.ToString() ?? "",
        OS = RuntimeInformation.OSDescription,
        ModuleVersion = ModuleVersion,
        Architecture = RuntimeInformation.OSArchitecture.ToString(),
        Methods = Handlers.ToDictionary(m => m.Key.ToString(), m => m.Value),
        Started = _started,
        LastSeen = DateTimeOffset.UtcNow,
        Interval = _section.HelloInterval,
        LastCommand = _lastCommand,
    };

    /// <summary>The core does not reference the module; in a pwsh session the module's assembly is loaded, and its
    /// version is the module's.</summary>
    private static readonly string ModuleVersion =
        AppDomain.CurrentDomain.GetAssemblies().FirstOrDefault(a => a.GetName().Name == "RemoteOps.PowerShell")?.GetName().Version?.ToString() ?? "";

    private static long NowNanos() => (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;

    /// <summary>How long a message may wait for its node: ackTimeout × (retries + 1).</summary>
    public static TimeSpan DeliveryWindow(StewardCommand c) => c.AckTimeout * (c.Retries + 1);

    // ---- receiving ----

    private async Task HandleAsync(INatsJSMsg<byte[]> msg, CancellationToken ct)
    {
        try
        {
            _events.Delivered(msg.Metadata);
            var hint = msg.Headers is { } headers && headers.TryGetValue(StewardQueuedHint.Header, out var value) ? value.ToString() : null;
            await JudgeAsync(msg.Data ?? [], msg.Subject, hint, ct).ConfigureAwait(false);
            await msg.AckAsync(cancellationToken: ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { throw; }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Not acked: JetStream delivers it again, and the local store makes sure it runs at most once.
            Log(StewardLogLevel.Warning, $"Message on {msg.Subject} not handled yet ({e.GetType().Name}: {e.Message}); it will be redelivered.");
        }
    }

    private async Task JudgeAsync(byte[] raw, string subject, string? queuedHint, CancellationToken ct)
    {
        var envelope = Envelope<StewardCommand>.Open(StewardCodec.Instance, raw);
        var verdict = _verifier.Verify(envelope, NowNanos(), Freshness.Stored, this, static (_, _, _) => null,
            static (m, self) => m.Node == self.Name ? null : new Refusal(DropReason.WrongDestination, $"sent to node {UntrustedText.Clean(m.Node)}, not {self.Name}"));
        if (verdict.Message is not { } command || verdict.Drop is DropReason.BadEncoding or DropReason.BadSignature or DropReason.UnknownSender or DropReason.WrongDestination
            || !StewardSubjects.IsMessageId(command.MessageId))
        {
            // Altered in flight, with its sender's genuine record at hand: that id is Denied (from the record alone).
            if (verdict.Drop is DropReason.BadSignature && envelope.Message is { } altered && await DenyAlteredAsync(altered, subject, ct).ConfigureAwait(false)) return;
            // Nothing from an unknown or forged sender is believed, so nothing is written: logged and dropped.
            Log(StewardLogLevel.Warning, verdict.Accepted ? $"Dropped message on {subject}: not a message id." : $"{verdict.Reason} (on {subject})");
            ReportError("", null, "Dropped", verdict.Accepted ? "not a message id" : verdict.Reason);
            _events.Received(verdict.Message, StewardVerdict.Dropped, verdict.Accepted ? "not a message id" : verdict.Reason);
            return;
        }
        _lastCommand = DateTimeOffset.UtcNow;

        if (_local.Get(command.MessageId) is { } seen)
        {
            await DuplicateAsync(command, seen, ct).ConfigureAwait(false);
            return;
        }
        if (!verdict.Accepted)
        {
            // A known sender whose message is signed but from the future (a skewed clock) or too large: refused.
            await RefuseAsync(command, raw, StewardStatus.Denied, verdict.Reason, ct).ConfigureAwait(false);
            return;
        }
        var expired = DateTimeOffset.FromUnixTimeMilliseconds(command.Time / 1_000_000) + DeliveryWindow(command) + _config.AllowSkew;
        if (DateTimeOffset.UtcNow > expired)
        {
            await RefuseAsync(command, raw, StewardStatus.NoAck, $"Not run: its delivery window (ackTimeout × (retries + 1) = {Duration.Format(DeliveryWindow(command))}) passed before node {Name} received it.", ct).ConfigureAwait(false);
            return;
        }
        if (Refusal(command) is { } denied)
        {
            await RefuseAsync(command, raw, StewardStatus.Denied, denied, ct).ConfigureAwait(false);
            return;
        }
        // The record Delivered moves: rebuilt from the command when its sender's signed hint names the record's revision
        // (a compare-and-set that fails reads it after all), else read. The move goes out while the local store records
        // the message: a round trip and a disk write side by side. Nothing runs before both are done; a duplicate that
        // raced this one (the local store refuses it) runs only in the handler that recorded it first, and its move
        // finds the record Delivered already.
        var current = StewardQueuedHint.TryOpen(queuedHint, command, out var revision, out var replyTimeout)
            ? Task.FromResult<StoredRecord?>(new StoredRecord(StewardRecord.Queued(command, StewardRecordHash.OfWire(raw), replyTimeout), revision, command.Sender, null))
            : _store.GetAsync(command.MessageId, ct);
        var moving = MoveAsync(command, r => r with { Status = StewardStatus.Delivered, Attempts = r.Attempts + 1 }, ct, current);
        var accepted = false;
        try { accepted = _local.TryAccept(command.MessageId, raw, DateTimeOffset.UtcNow, _bootId); }
        finally { if (!accepted) _ = moving.ContinueWith(static t => t.Exception, TaskScheduler.Default); } // not awaited: its failure observed, not thrown
        if (!accepted)
        {
            if (_local.Get(command.MessageId) is { } raced) await DuplicateAsync(command, raced, ct).ConfigureAwait(false);
            return;
        }
        var delivered = await moving.ConfigureAwait(false);
        if (delivered is { } d && d.Status != StewardStatus.Delivered && StewardStatuses.IsFinal(d.Status))
        {
            // The sender withdrew it (Cancelled) or gave up on it (NoAck) first: it never runs.
            _local.SetFinal(command.MessageId, SignedJson.Encode(d, _key, StewardRecord.Domain));
            Log(StewardLogLevel.Information, $"{command.MessageId} {command.Method}: already {d.Status}; not run.");
            _events.Received(command, d.Status == StewardStatus.Cancelled ? StewardVerdict.Cancelled : StewardVerdict.NoAck, $"already {d.Status}");
            return;
        }
        _events.Received(command, StewardVerdict.Run);
        Schedule(command, recovered: false);
    }

    /// <summary>Why the sender may not call the method here; null when it may.</summary>
    private string? Refusal(StewardCommand c)
    {
        // Error reports come from every known peer (the verifier already dropped unknown senders), to the central node only.
        if (c.Method == StewardMethod.ErrorLog)
            return IsCentral ? null : $"Denied: node {Name} is not steward.central; it does not take error reports.";
        IReadOnlyList<string>? allowed;
        lock (_handlersLock) _handlers.TryGetValue(c.Method, out allowed);
        var who = _trust.Find(c.Sender) is { } peer ? UntrustedText.Describe(peer) : UntrustedText.Short(c.Sender);
        if (allowed is null) return $"Denied: node {Name} does not serve {c.Method} (not under steward.methods, or stopped).";
        // The config's own grant is the trust store's; a handler started at run time resolves its senders the same way.
        var ok = _section.Methods.TryGetValue(c.Method, out var configured) && ReferenceEquals(configured, allowed)
            ? StewardConfig.IsAllowed(_section, _trust, c.Method, c.Sender)
            : StewardConfig.ResolveSenders(allowed, _config.Peers).Contains(c.Sender);
        return ok ? null : $"Denied: {who} is not allowed to call {c.Method} on node {Name}.";
    }

    /// <summary>A message not run (Denied, NoAck): logged, recorded locally, its status written.</summary>
    private async Task RefuseAsync(StewardCommand command, byte[] raw, StewardStatus status, string reason, CancellationToken ct)
    {
        Log(StewardLogLevel.Warning, $"{command.MessageId} {command.Method} from {Who(command)}: {status}. {reason}");
        ReportError(command.MessageId, command.Method, status.ToString(), $"from {Who(command)}: {reason}");
        _events.Received(command, status == StewardStatus.NoAck ? StewardVerdict.NoAck : StewardVerdict.Denied, reason);
        if (!_local.TryAccept(command.MessageId, raw, DateTimeOffset.UtcNow, _bootId)) return;
        // Final locally first: a redelivery after a failed write sends this again and never runs the message.
        var final = BaseRecord(command) with { Status = status, Error = reason, Finished = DateTimeOffset.UtcNow };
        _local.SetFinal(command.MessageId, SignedJson.Encode(final, _key, StewardRecord.Domain));
        await WriteFinalAsync(command, final, ct).ConfigureAwait(false);
    }

    private string Who(StewardCommand c) => _trust.Find(c.Sender) is { } peer ? UntrustedText.Describe(peer) : UntrustedText.Short(c.Sender);

    /// <summary>An id seen before: never run again. A finished one has its stored result written again (when the bucket
    /// does not show it final); one still accepted but not running (an earlier attempt failed before it started) runs.</summary>
    private async Task DuplicateAsync(StewardCommand command, LocalMessage seen, CancellationToken ct)
    {
        _events.Received(command, StewardVerdict.Duplicate, seen.State.ToString());
        switch (seen.State)
        {
            case LocalState.Done when seen.Final is { } final:
                Log(StewardLogLevel.Verbose, $"{command.MessageId}: already executed; sending its result again.");
                if (SignedJson.TryOpen<StewardRecord>(final, StewardRecord.Domain, StewardStore.MaxRecordBytes, out var record, out _, out _))
                    await WriteFinalAsync(command, record, ct).ConfigureAwait(false);
                break;
            case LocalState.Accepted when !_inFlight.ContainsKey(command.MessageId):
                Schedule(command, recovered: false);
                break;
            default:
                Log(StewardLogLevel.Verbose, $"{command.MessageId}: already running; not run again.");
                break;
        }
    }

    // ---- the status record ----

    /// <summary>The message's record from its command alone (Created and Expires as its sender's record has them).</summary>
    private static StewardRecord BaseRecord(StewardCommand c) => StewardRecord.Queued(c, "", null) with { Updated = DateTimeOffset.UtcNow };

    /// <summary>Moves the message's record to what <paramref name="next"/> makes of it (compare-and-set, retried when
    /// another writer won), from <paramref name="read"/> when the record is being read already. Returns the record now
    /// stored: ours, or the final one someone else wrote first; null when the bucket could not be written.</summary>
    private async Task<StewardRecord?> MoveAsync(StewardCommand c, Func<StewardRecord, StewardRecord> next, CancellationToken ct, Task<StoredRecord?>? read = null)
    {
        for (int attempt = 0; attempt < 10; attempt++)
        {
            var stored = attempt == 0 && read is not null ? await read.ConfigureAwait(false)
                : attempt == 0 && _latest.TryGetValue(c.MessageId, out var known) ? known : await _store.GetAsync(c.MessageId, ct).ConfigureAwait(false);
            if (stored is { Valid: true, Record: { } current })
            {
                if (StewardStatuses.IsFinal(current.Status)) return Forget(c, current);
                // The reply method's timeout is in the sender's record only (the command does not carry it): kept, so that
                // whoever runs the reply method later still honours it.
                var wanted = next(current) with { Updated = DateTimeOffset.UtcNow, ReplyMethodTimeout = current.ReplyMethodTimeout };
                if (!StewardStatuses.MayMove(current.Status, wanted.Status)) return current;
                if (await _store.TryMoveAsync(current, stored.Value.Revision, wanted, _key, ct).ConfigureAwait(false) is { } revision)
                    return Remember(c, wanted, revision);
                continue;
            }
            var fresh = next(BaseRecord(c)) with { Updated = DateTimeOffset.UtcNow };
            if (stored is null)
            {
                // No record (the sender stored none, or it aged out): the node's own record stands in.
                if (await _store.TryCreateAsync(fresh, _key, ct).ConfigureAwait(false) is { } created) return Remember(c, fresh, created);
                continue;
            }
            // A record that does not verify (not ours, not the sender's) is replaced by ours.
            var updated = await _store.Results.TryUpdateAsync(c.MessageId, SignedJson.Encode(fresh, _key, StewardRecord.Domain), stored.Value.Revision, cancellationToken: ct).ConfigureAwait(false);
            if (updated.Success) return Remember(c, fresh, updated.Value);
        }
        return null;
    }

    private bool IsCentral => string.Equals(_section.Central, Name, StringComparison.Ordinal);

    /// <summary>Sends an error on this node to steward.central (best effort; never about an error report itself, so
    /// reports cannot loop). Central itself appends it to its own log.</summary>
    private void ReportError(string messageId, StewardMethod? method, string kind, string message)
    {
        if (_section.Central is not { Length: > 0 } central || method == StewardMethod.ErrorLog) return;
        var report = new StewardErrorReport
        {
            Time = DateTimeOffset.UtcNow, Node = Name, MessageId = messageId, Method = method?.ToString() ?? "", Kind = kind, Message = message,
        };
        if (IsCentral)
        {
            try { StewardErrorReport.Append(_local.Directory, report, Name); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { Log(StewardLogLevel.Warning, $"Error log not written: {e.Message}"); }
            Track("errorlog-" + Guid.NewGuid().ToString("N"), () => PublishErrorAsync(report, Name));
            _events.ErrorSent(report);
            return;
        }
        // Kept in the local store and sent in order by the outbox, now or when NATS is back.
        _errors?.Enqueue(report);
    }

    /// <summary>Central: publishes a record it appended to errors.jsonl on the stream, for Get-StewardError (never throws:
    /// the file has it; a record not published is logged).</summary>
    private async Task PublishErrorAsync(StewardErrorReport report, string from)
    {
        try { await StewardErrorLog.PublishAsync(_store, _key, Name, report, from, _abort.Token).ConfigureAwait(false); }
        catch (Exception e) when (e is not OperationCanceledException) { Log(StewardLogLevel.Warning, $"Error log record not published to {_store.Subjects.Errors}: {e.Message}"); }
    }

    /// <summary>Tells the sender's node agent that the reply of a -NoWait message is in the bucket (best effort: that
    /// agent also looks through the bucket when it starts).</summary>
    private async Task AnnounceReplyAsync(StewardCommand c)
    {
        var sender = c.Sender == PublicKey ? Name : _trust.Find(c.Sender)?.Destination;
        if (string.IsNullOrEmpty(sender) || !StewardSubjects.TryValidateNode(sender, out _)) return;
        try { await _store.Connection.PublishAsync(_store.Subjects.ReplyNotice(sender), System.Text.Encoding.ASCII.GetBytes(c.MessageId)).ConfigureAwait(false); }
        catch (Exception e) when (e is NatsException or TimeoutException) { Log(StewardLogLevel.Verbose, $"{c.MessageId}: reply notice not sent ({e.Message})."); }
    }

    private StewardRecord Remember(StewardCommand c, StewardRecord record, ulong revision)
    {
        if (StewardStatuses.IsFinal(record.Status)) return Forget(c, record);
        _latest[c.MessageId] = new StoredRecord(record, revision, _key.PublicBase58, null);
        return record;
    }

    private StewardRecord Forget(StewardCommand c, StewardRecord record)
    {
        _latest.TryRemove(c.MessageId, out _);
        return record;
    }

    /// <summary>Writes a final record, retrying (bounded) while NATS is away: the local store has it already.</summary>
    private async Task WriteFinalAsync(StewardCommand c, StewardRecord final, CancellationToken ct)
    {
        var until = DateTimeOffset.UtcNow + WriteRetryFor;
        var pause = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                var now = await MoveAsync(c, _ => final, ct).ConfigureAwait(false);
                if (now is not null)
                {
                    try { _local.MarkPublished(c.MessageId); } catch (ObjectDisposedException) { }
                    if (c.ReplyByAgent) await AnnounceReplyAsync(c).ConfigureAwait(false);
                    return;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException && DateTimeOffset.UtcNow < until)
            {
                Log(StewardLogLevel.Verbose, $"{c.MessageId}: result not written yet ({e.Message}); retrying.");
            }
            if (DateTimeOffset.UtcNow >= until) { Log(StewardLogLevel.Warning, $"{c.MessageId}: result could not be written; a redelivery will write it."); return; }
            await Task.Delay(pause, ct).ConfigureAwait(false);
            if (pause < TimeSpan.FromSeconds(2)) pause *= 2;
        }
    }

    // ---- running ----

    private void Schedule(StewardCommand command, bool recovered, LocalMessage? adopt = null)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_inFlight.TryAdd(command.MessageId, gate.Task)) return;
        _ = Task.Run(async () =>
        {
            try { await ExecuteGovernedAsync(command, adopt, _abort.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) when (_abort.IsCancellationRequested)
            {
                // Abandoned (the agent stops at once): a detached command runs on and is adopted by the next agent.
            }
            catch (Exception e)
            {
                Log(StewardLogLevel.Warning, $"{command.MessageId} {command.Method}: {e.GetType().Name}: {e.Message}");
                // Never left Running for ever: it is final (Failed), and never run again.
                if (_local.Get(command.MessageId) is { State: not LocalState.Done } row)
                {
                    var failed = BaseRecord(command) with { Status = StewardStatus.Failed, Error = $"agent error: {e.Message}", Started = row.Started, Finished = DateTimeOffset.UtcNow, Attempts = 1 };
                    _local.SetFinal(command.MessageId, SignedJson.Encode(failed, _key, StewardRecord.Domain));
                    _events.MethodFinished(command, failed);
                    try { await WriteFinalAsync(command, failed, CancellationToken.None).ConfigureAwait(false); } catch (Exception) { }
                }
            }
            finally
            {
                _inFlight.TryRemove(command.MessageId, out _);
                _chunksInFlight.TryRemove(command.MessageId, out _);
                gate.TrySetResult();
            }
        });
    }

    private async Task ExecuteAsync(StewardCommand c, LocalMessage? adopt, CancellationToken ct)
    {
        var timeout = c.MethodTimeout > TimeSpan.Zero ? c.MethodTimeout : _section.MethodTimeout;
        DateTimeOffset started;
        MethodOutcome outcome;
        if (adopt is not null)
        {
            started = adopt.Started ?? DateTimeOffset.UtcNow;
            Log(StewardLogLevel.Information, $"{c.MessageId} CliCommand: adopting the command a previous agent started at {started:u}.");
            outcome = await CollectAsync(DetachedCommand.Adopt(RunDirectory(c.MessageId), adopt.Pid, adopt.PidStart), started + timeout, timeout, ct).ConfigureAwait(false);
        }
        else
        {
            started = DateTimeOffset.UtcNow;
            // TailFile streams what is appended after its start: where the file ends now, before Running is visible.
            long? tailFrom = null;
            if (c.Method == StewardMethod.TailFile && c.Args.Count > 0)
                try { tailFrom = File.Exists(c.Args[0]) ? new FileInfo(c.Args[0]).Length : null; } catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException) { }
            _tailFrom[c.MessageId] = tailFrom;
            _local.MarkStarted(c.MessageId, started, _bootId);
            // Best effort: NATS may be away (a server restart); the method runs regardless and its result is written later.
            // Methods that answer at once go from Delivered to their result: a Running nobody could see is a round trip.
            // PwshScript's warm worker takes the script at once, and Running is written only for a script still running
            // after RunningAfter: a short script goes from Delivered to its result, its round trip not shared with a
            // compare-and-set, and its result never waits for one.
            using var ran = new CancellationTokenSource();
            var running = AnswersAtOnce(c.Method) ? Task.CompletedTask
                : c.Method == StewardMethod.PwshScript ? MarkRunningUnlessDoneAsync(c, started, ran.Token, ct)
                : MarkRunningAsync(c, started, ct);
            if (c.Method != StewardMethod.PwshScript) await running.ConfigureAwait(false);
            Log(StewardLogLevel.Verbose, $"{c.MessageId} {c.Method} from {Who(c)}: running.");
            try { outcome = await RunMethodAsync(c, started, timeout, ct).ConfigureAwait(false); }
            finally { ran.Cancel(); }
            await running.ConfigureAwait(false);
        }
        var finished = DateTimeOffset.UtcNow;
        var record = BaseRecord(c) with
        {
            Status = outcome.Status, ExitCode = outcome.ExitCode, Output = outcome.Output, Error = outcome.Error, Dropped = outcome.Dropped,
            Chunks = outcome.Chunks, Started = started, Finished = finished, Attempts = Math.Max(1, await TryGetAttempts(c, CancellationToken.None).ConfigureAwait(false)),
        };
        record = await WithLastChunkAsync(c, record).ConfigureAwait(false);
        // Kept locally first: whatever happens to NATS now, this id is done and its result can be sent again.
        _local.SetFinal(c.MessageId, SignedJson.Encode(record, _key, StewardRecord.Domain));
        _events.MethodFinished(c, record);
        if (Directory.Exists(RunDirectory(c.MessageId)))
            try { Directory.Delete(RunDirectory(c.MessageId), recursive: true); } catch (IOException) { }
        // The report is kept before the result is written: NATS may be away for a while, and the report waits in the store.
        if (outcome.Status is StewardStatus.Failed or StewardStatus.TimedOut)
            ReportError(c.MessageId, c.Method, outcome.Status.ToString(), FirstLine(outcome.Error.Length > 0 ? outcome.Error : $"exit code {outcome.ExitCode}"));
        await WriteFinalAsync(c, record, CancellationToken.None).ConfigureAwait(false);
        Log(outcome.Status is StewardStatus.Succeeded ? StewardLogLevel.Verbose : StewardLogLevel.Information,
            $"{c.MessageId} {c.Method} from {Who(c)}: {outcome.Status}{(outcome.ExitCode is { } code ? $" (exit code {code})" : "")}{(outcome.Error.Length > 0 && outcome.Status != StewardStatus.Succeeded ? ": " + FirstLine(outcome.Error) : "")}.");
    }

    /// <summary>How long a PwshScript runs before its record says Running (settable for tests).</summary>
    internal TimeSpan RunningAfter { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Writes Running once <see cref="RunningAfter"/> has passed, unless the method is done first (<paramref name="done"/>).</summary>
    private async Task MarkRunningUnlessDoneAsync(StewardCommand c, DateTimeOffset started, CancellationToken done, CancellationToken ct)
    {
        try { await Task.Delay(RunningAfter, done).ConfigureAwait(false); }
        catch (OperationCanceledException) { return; }
        await MarkRunningAsync(c, started, ct).ConfigureAwait(false);
    }

    private async Task MarkRunningAsync(StewardCommand c, DateTimeOffset started, CancellationToken ct)
    {
        try { await MoveAsync(c, r => r with { Status = StewardStatus.Running, Started = started }, ct).ConfigureAwait(false); }
        catch (Exception e) when (e is not OperationCanceledException) { Log(StewardLogLevel.Verbose, $"{c.MessageId}: Running not written ({e.Message})."); }
    }

    private static bool AnswersAtOnce(StewardMethod m) =>
        m is StewardMethod.ErrorLog or StewardMethod.Ping or StewardMethod.Hello or StewardMethod.OpProcessList or StewardMethod.OpProcessStart or StewardMethod.OpProcessStop;

    private async Task<int> TryGetAttempts(StewardCommand c, CancellationToken ct)
    {
        if (_latest.TryGetValue(c.MessageId, out var known) && known.Record is { } record) return record.Attempts;
        try { return (await _store.GetAsync(c.MessageId, ct).ConfigureAwait(false))?.Record?.Attempts ?? 1; }
        catch (Exception e) when (e is not OperationCanceledException) { return 1; }
    }

    private static string FirstLine(string s) { var nl = s.IndexOf('\n'); return UntrustedText.Clean(nl < 0 ? s : s[..nl]); }

    private string RunDirectory(string id) => Path.Combine(_local.Directory, "runs", id);

    private async Task<MethodOutcome> RunMethodAsync(StewardCommand c, DateTimeOffset started, TimeSpan timeout, CancellationToken ct)
    {
        var runner = new StewardMethodRunner(_runner.OutputCap, (seq, line, t) => PublishChunkAsync(c, seq, line, t));
        // Methods that run inside the agent end when it stops (they cannot outlive it); CliCommand is left running.
        using var inAgent = CancellationTokenSource.CreateLinkedTokenSource(ct, _stopTaking.Token);
        switch (c.Method)
        {
            case StewardMethod.Ping: return new MethodOutcome(StewardStatus.Succeeded, "pong");
            case StewardMethod.ErrorLog:
                if (c.Args.Count != 1 || StewardErrorReport.TryParse(c.Args[0]) is not { } report)
                    return new MethodOutcome(StewardStatus.Failed, Error: "ErrorLog takes one error report (JSON: Time, Node, MessageId, Method, Kind, Message).");
                StewardErrorReport.Append(_local.Directory, report, Who(c));
                await PublishErrorAsync(report, Who(c)).ConfigureAwait(false);
                return new MethodOutcome(StewardStatus.Succeeded, "logged");
            case StewardMethod.Hello:
                var me = NodeRecord();
                return new MethodOutcome(StewardStatus.Succeeded, $"{me.Name} {me.PublicKey} up since {me.Started:u} on {me.OS}, version {me.Version}");
            case StewardMethod.CliCommand: return await RunCommandAsync(c, started, timeout, ct).ConfigureAwait(false);
            case StewardMethod.CliCommandCont: return await runner.StreamCommandAsync(c.Args, timeout, inAgent.Token).ConfigureAwait(false);
            case StewardMethod.TailFile: return await runner.TailFileAsync(c.Args, timeout, inAgent.Token, _tailFrom.TryRemove(c.MessageId, out var from) ? from : null).ConfigureAwait(false);
            case StewardMethod.HttpGet: return await runner.HttpGetAsync(c.Args, timeout, ct).ConfigureAwait(false);
            case StewardMethod.OpProcessList:
                return new MethodOutcome(StewardStatus.Succeeded, string.Join('\n', Handlers.OrderBy(h => h.Key).Select(h => $"{h.Key}: {string.Join(", ", h.Value)}")));
            case StewardMethod.OpProcessStart: return StartHandler(c.Args);
            case StewardMethod.OpProcessStop: return StopHandler(c.Args);
            case StewardMethod.PwshScript:
                return await StewardPwsh.RunAsync(PwshPool, c.Args, _runner.OutputCap, timeout, (seq, line, t) => PublishChunkAsync(c, seq, line, t), inAgent.Token).ConfigureAwait(false);
            default:
                // A tool on the agent (herder) serves it; it ends with the agent, as the methods above do.
                if (StewardMethodExtensions.TryGet(c.Method, out var extension))
                    return await extension(new StewardExtensionCall(_config, Name, c.Sender, Who(c), c.MessageId, c.Args, timeout, _runner.OutputCap), inAgent.Token).ConfigureAwait(false);
                return new MethodOutcome(StewardStatus.Failed, Error: $"{c.Method} is not a method a node runs on request.");
        }
    }

    private MethodOutcome StartHandler(IReadOnlyList<string> args)
    {
        if (args.Count == 0 || !StewardMethods.TryParse(args[0], out var method))
            return new MethodOutcome(StewardStatus.Failed, Error: $"OpProcessStart needs a method (methodArgs[0]), one of: {StewardMethods.Known}.");
        var allowed = args.Skip(1).Select(a => a.Trim()).Where(a => a.Length > 0).ToArray();
        foreach (var a in allowed)
            if (a != StewardConfigReader.AnyPeer && !DestinationPattern.TryValidateName(a, out var problem))
                return new MethodOutcome(StewardStatus.Failed, Error: $"'{UntrustedText.Clean(a)}' is neither a peer destination nor '*': {problem}");
        lock (_handlersLock) _handlers[method] = allowed;
        Log(StewardLogLevel.Information, $"Handler {method} started, allowed: {string.Join(", ", allowed)}.");
        return new MethodOutcome(StewardStatus.Succeeded, $"{method} started; allowed: {string.Join(", ", allowed)}");
    }

    private MethodOutcome StopHandler(IReadOnlyList<string> args)
    {
        if (args.Count == 0 || !StewardMethods.TryParse(args[0], out var method))
            return new MethodOutcome(StewardStatus.Failed, Error: $"OpProcessStop needs a method (methodArgs[0]), one of: {StewardMethods.Known}.");
        bool removed;
        lock (_handlersLock) removed = _handlers.Remove(method);
        if (!removed) return new MethodOutcome(StewardStatus.Failed, Error: $"{method} is not running on node {Name}.");
        Log(StewardLogLevel.Information, $"Handler {method} stopped.");
        return new MethodOutcome(StewardStatus.Succeeded, $"{method} stopped");
    }

    /// <summary>The final record, its output settled: it counts the chunks, and every chunk before the last is stored
    /// already (each waits for the one before it). The last one, when not stored yet, travels inside the record rather
    /// than being waited for (no reader needs the stream for it, and the result is a round trip sooner); a larger one is
    /// waited for, and one that cannot be stored makes the record Failed.</summary>
    private async Task<StewardRecord> WithLastChunkAsync(StewardCommand c, StewardRecord record)
    {
        if (!_chunksInFlight.TryRemove(c.MessageId, out var last) || last.Stored.IsCompletedSuccessfully) return record;
        if (System.Text.Encoding.UTF8.GetByteCount(last.Chunk.Line) <= MaxCarriedChunkBytes)
        {
            _ = last.Stored.ContinueWith(t => Log(StewardLogLevel.Verbose, $"{c.MessageId}: its last output chunk was not stored ({t.Exception?.InnerException?.Message}); its final record has it."),
                CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            return record with { LastChunk = last.Chunk };
        }
        try { await last.Stored.ConfigureAwait(false); return record; }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return record with { Status = StewardStatus.Failed, Error = $"agent error: its output could not be stored ({e.Message})." };
        }
    }

    /// <summary>Starts storing one output chunk once the message's previous chunk is stored (returns then, without waiting
    /// for this one: see <see cref="_chunksInFlight"/>).</summary>
    private async Task PublishChunkAsync(StewardCommand c, long sequence, string line, CancellationToken ct)
    {
        // One method's chunks come one after another (each call is awaited), so the entry is never raced.
        if (_chunksInFlight.TryGetValue(c.MessageId, out var previous)) await previous.Stored.ConfigureAwait(false);
        var chunk = new StewardChunk { MessageId = c.MessageId, Node = Name, Sequence = sequence, Line = line, Time = DateTimeOffset.UtcNow };
        _chunksInFlight[c.MessageId] = new ChunkInFlight(chunk, StoreChunkAsync(chunk));
    }

    private async Task StoreChunkAsync(StewardChunk chunk)
    {
        for (int attempt = 0; ; attempt++)
        {
            try { await _store.PublishChunkAsync(chunk, _key, CancellationToken.None).ConfigureAwait(false); return; }
            catch (Exception e) when (e is not OperationCanceledException && attempt < 20)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100 * (attempt + 1)), CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    /// <summary>CliCommand: detached where possible, so that it outlives the agent and runs exactly once.</summary>
    private async Task<MethodOutcome> RunCommandAsync(StewardCommand c, DateTimeOffset started, TimeSpan timeout, CancellationToken ct)
    {
        if (c.Args.Count == 0 || string.IsNullOrWhiteSpace(c.Args[0])) return new MethodOutcome(StewardStatus.Failed, Error: "CliCommand needs a program (methodArgs[0]).");
        if (!DetachedCommand.Supported) return await RunAttachedAsync(c.Args, timeout, ct).ConfigureAwait(false);
        DetachedCommand command;
        try { command = DetachedCommand.Start(RunDirectory(c.MessageId), c.Args[0], [.. c.Args.Skip(1)], null); }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            return new MethodOutcome(StewardStatus.Failed, Error: $"Cannot start '{c.Args[0]}': {e.Message}", ExitCode: 127);
        }
        _local.SetProcess(c.MessageId, command.Pid, command.PidStart);
        return await CollectAsync(command, started + timeout, timeout, ct).ConfigureAwait(false);
    }

    /// <summary>Waits for a detached command until its deadline, kills its tree then (TimedOut), and reads its files.
    /// Cancelled (the agent stopping): the command is left running, to be adopted by the next agent.</summary>
    private async Task<MethodOutcome> CollectAsync(DetachedCommand command, DateTimeOffset deadline, TimeSpan timeout, CancellationToken ct)
    {
        var ended = await command.WaitAsync(deadline, ct).ConfigureAwait(false);
        string status;
        StewardStatus final;
        int? exit = null;
        if (!ended)
        {
            await command.KillTreeAsync().ConfigureAwait(false);
            final = StewardStatus.TimedOut;
            status = $"Killed after methodTimeout {Duration.Format(timeout)}.";
        }
        else
        {
            exit = command.ExitCode;
            await command.KillLeftoversAsync().ConfigureAwait(false);
            if (exit is null) { final = StewardStatus.Failed; status = "The command ended without an exit status (killed from outside?)."; }
            else { final = exit == 0 ? StewardStatus.Succeeded : StewardStatus.Failed; status = ""; }
        }
        var stderrBudget = Math.Min(_runner.OutputCap / 4, 64 * 1024);
        var (stderr, errDropped) = command.Read("stderr", stderrBudget);
        var (stdout, outDropped) = command.Read("stdout", _runner.OutputCap - Math.Min(stderrBudget, System.Text.Encoding.UTF8.GetByteCount(stderr)));
        var (output, dropped) = StewardOutputCap.Apply(stdout, int.MaxValue, outDropped);
        var error = stderr + (errDropped > 0 ? StewardOutputCap.Marker(errDropped) : "");
        if (status.Length > 0) error = error.Length > 0 ? error.TrimEnd('\n') + "\n" + status : status;
        return new MethodOutcome(final, output, error, exit, dropped + errDropped);
    }

    /// <summary>Where commands cannot be detached (Windows): a child of the agent, its tree killed at methodTimeout.</summary>
    private async Task<MethodOutcome> RunAttachedAsync(IReadOnlyList<string> args, TimeSpan timeout, CancellationToken ct)
    {
        if (!Processes.ExecutableLocator.TryResolve(args[0], null, out var path, out var problem)) return new MethodOutcome(StewardStatus.Failed, Error: problem, ExitCode: 127);
        var psi = Processes.ProcessTree.StartInfo(path, args.Skip(1), null, new Dictionary<string, string>());
        using var tree = Processes.ProcessTree.Start(psi);
        tree.Process.StandardInput.Close();
        var stdout = tree.Process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = tree.Process.StandardError.ReadToEndAsync(CancellationToken.None);
        bool ended;
        try { await tree.Exited.WaitAsync(timeout, ct).ConfigureAwait(false); ended = true; }
        catch (TimeoutException) { ended = false; }
        if (!ended) await tree.KillAsync().ConfigureAwait(false);
        var (output, dropped) = StewardOutputCap.Apply(await stdout.ConfigureAwait(false), _runner.OutputCap * 3 / 4);
        var (error, errDropped) = StewardOutputCap.Apply(await stderr.ConfigureAwait(false), _runner.OutputCap / 4);
        if (!ended) return new MethodOutcome(StewardStatus.TimedOut, output, (error + $"\nKilled after methodTimeout {Duration.Format(timeout)}.").TrimStart('\n'), null, dropped + errDropped);
        await tree.Process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        return new MethodOutcome(tree.ExitCode == 0 ? StewardStatus.Succeeded : StewardStatus.Failed, output, error, tree.ExitCode, dropped + errDropped);
    }

    // ---- recovery ----

    /// <summary>What a previous agent left: accepted but never started (runs now), a detached command started (adopted:
    /// its result collected, or its tree killed at methodTimeout from its recorded start), anything else started (it was
    /// in the agent's memory: Failed, never run twice), or anything started before the machine rebooted (Failed).</summary>
    private void Recover()
    {
        foreach (var id in _local.Prune(DateTimeOffset.UtcNow - StewardLocalStore.KeepFor))
            try { if (Directory.Exists(RunDirectory(id))) Directory.Delete(RunDirectory(id), recursive: true); } catch (IOException) { }
        foreach (var row in _local.Unpublished())
        {
            // Finished, but the agent may have died before the result reached the bucket: send it (again).
            if (StewardCodec.Instance.TryDecode(row.Command, out var done, out _)
                && SignedJson.TryOpen<StewardRecord>(row.Final!, StewardRecord.Domain, StewardStore.MaxRecordBytes, out var final, out _, out _))
                Track(done.MessageId, () => WriteFinalAsync(done, final, _abort.Token));
        }
        foreach (var row in _local.Unfinished())
        {
            if (!StewardCodec.Instance.TryDecode(row.Command, out var command, out _))
            {
                _local.SetFinal(row.MessageId, []);
                continue;
            }
            if (row.State == LocalState.Accepted) { Schedule(command, recovered: true); continue; }
            if (row.BootId.Length > 0 && row.BootId != _bootId)
                FailRecovered(command, row, "node restarted while running");
            else if (command.Method == StewardMethod.CliCommand && DetachedCommand.Supported)
            {
                // The agent may have died after marking it started but before the command was spawned.
                int? found = null;
                if (row.Pid is null && DetachedCommand.NeverStarted(RunDirectory(command.MessageId), out found))
                    Schedule(command, recovered: true);
                else
                    Schedule(command, recovered: true, adopt: row with { Pid = row.Pid ?? found });
            }
            else
                FailRecovered(command, row, $"agent restarted while running ({command.Method} runs inside the agent); not run again");
        }
    }

    private void FailRecovered(StewardCommand c, LocalMessage row, string reason)
    {
        var record = BaseRecord(c) with { Status = StewardStatus.Failed, Error = reason, Started = row.Started, Finished = DateTimeOffset.UtcNow, Attempts = 1 };
        _local.SetFinal(c.MessageId, SignedJson.Encode(record, _key, StewardRecord.Domain));
        _events.MethodFinished(c, record);
        Log(StewardLogLevel.Warning, $"{c.MessageId} {c.Method}: Failed, {reason}.");
        Track(c.MessageId, () => WriteFinalAsync(c, record, _abort.Token));
    }

    /// <summary>Background work for a message, waited for by the drain.</summary>
    private void Track(string id, Func<Task> work)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_inFlight.TryAdd(id, gate.Task)) return;
        _ = Task.Run(async () =>
        {
            try { await work().ConfigureAwait(false); }
            catch (Exception) { }
            finally { _inFlight.TryRemove(id, out _); gate.TrySetResult(); }
        });
    }
}
