using System.Runtime.CompilerServices;
using System.Threading.Channels;
using NATS.Client.KeyValueStore;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;

namespace RemoteOps.Steward;

/// <summary>A message that cannot be cancelled any more (a node took it, or it is final).</summary>
public sealed class StewardNotCancellableException(string message) : Exception(message);

/// <summary>No message with that id in the results bucket (never sent, aged out, or its record is not trusted).</summary>
public sealed class StewardMessageNotFoundException(string message) : Exception(message);

/// <summary>One message ready to go: the signed command for its node and the Queued record that tracks it.</summary>
public sealed record StewardOutgoing(StewardCommand Command, byte[] Wire, StewardRecord Record);

/// <summary>What a wait yields: a line of a streaming method's output, or a node's final reply (with its record, for
/// the reply method).</summary>
public readonly record struct StewardWaitEvent(StewardOutput? Output, StewardReply? Reply, StewardRecord Record);

/// <summary>The sender side of steward over one connection: expand targets, sign and queue messages, wait for their
/// replies (and streamed output), read, and cancel. Every record it believes is signed by the right key (the store
/// checks); the others are counted in <see cref="Refused"/> and reported through the log.</summary>
public sealed class StewardClient
{
    /// <summary>When a final record says more chunks were published than have arrived, how long to wait for the rest
    /// before giving the reply anyway (chunks are capped and age out; the reply must not wait forever).</summary>
    public static readonly TimeSpan ChunkDrainWait = TimeSpan.FromSeconds(5);
    /// <summary>How often unfinished messages are read again, in case a watch missed an update (the watch is the fast path).</summary>
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromSeconds(2);

    public RemoteOpsConfig Config { get; }
    public StewardStore Store { get; }
    public StewardConfig Section => Store.Section;
    private readonly Action<string>? _log;
    private int _refused;

    /// <summary>Records dropped because their signature or signer was wrong (forged or tampered).</summary>
    public int Refused => Volatile.Read(ref _refused);

    public StewardClient(RemoteOpsConfig config, StewardStore store, Action<string>? log = null)
    {
        Config = config; Store = store; _log = log;
        _audit = StewardAuditLog.ForClient(config.Steward);
    }

    /// <summary>A client that signs with <paramref name="senderKey"/> (a node agent's own identity, for the seed's input API).</summary>
    public StewardClient(RemoteOpsConfig config, StewardStore store, SigningKey senderKey, Action<string>? log = null) : this(config, store, log)
    {
        _senderKey = senderKey;
    }

    private readonly SigningKey? _senderKey;

    /// <summary>The client for <paramref name="config"/> on the shared connection; the stream and buckets are created when
    /// missing. Throws <see cref="StewardUnavailableException"/> (or the pool's connection error) when NATS or JetStream fails.</summary>
    public static async Task<StewardClient> OpenAsync(RemoteOpsConfig config, Action<string>? log, CancellationToken ct)
    {
        var connection = await ConnectionPool.GetAsync(config, ct).ConfigureAwait(false);
        var store = await StewardStore.OpenAsync(connection, config, ct).ConfigureAwait(false);
        return new StewardClient(config, store, log);
    }

    // ---- Targets -------------------------------------------------------------------------------------------------

    /// <summary>The nodes <paramref name="targets"/> name: names as they are, patterns expanded to the live nodes of the
    /// registry (read only when there is a pattern).</summary>
    public async Task<StewardTargetSet> ResolveTargetsAsync(IReadOnlyList<string> targets, CancellationToken ct)
    {
        foreach (var t in targets) StewardTargets.Check(t);
        IReadOnlyList<StewardNodeRecord> registry = targets.Any(StewardTargets.IsPattern) ? await Store.ListNodesAsync(ct).ConfigureAwait(false) : [];
        return StewardTargets.Expand(targets, registry, DateTimeOffset.UtcNow);
    }

    // ---- Sending -------------------------------------------------------------------------------------------------

    /// <summary>Everything about <paramref name="request"/> that can be judged without a server, so that -WhatIf reports
    /// bad input too: its targets, methods, reply fields and timeouts (with the section's defaults). Returns the timeouts
    /// in effect; throws <see cref="StewardArgumentException"/> or <see cref="DestinationPatternException"/>.</summary>
    public static (TimeSpan Ack, int Retries, TimeSpan MethodTimeout) Check(StewardRequest request, StewardConfig section)
    {
        foreach (var t in request.Targets) StewardTargets.Check(t);
        return CheckFields(request, section);
    }

    private static (TimeSpan Ack, int Retries, TimeSpan MethodTimeout) CheckFields(StewardRequest request, StewardConfig section)
    {
        if (StewardMethods.ReplyMethods.Contains(request.Method) && request.Method != StewardMethod.CliCommand)
            throw new StewardArgumentException($"{request.Method} is a reply method; it runs where a reply is received, not on a node. Give it as -ReplyMethod.");
        if (request.ReplyMethod is { } rm && !StewardMethods.ReplyMethods.Contains(rm))
            throw new StewardArgumentException($"{rm} is not a reply method; expected one of: {string.Join(", ", StewardMethods.ReplyMethods)}");
        if (request.ReplyMethod == StewardMethod.CliCommand && request.ReplyMethodArgs.Count == 0)
            throw new StewardArgumentException("A CliCommand reply method needs replyMethodArgs (the program and its arguments).");
        StewardReplyMethods.CheckFields(request.ReplyMethod, request.Directory, request.FileName);
        if (request.Governor is not null) StewardGovernors.CheckName(request.Governor);
        var ack = request.AckTimeout ?? section.AckTimeout;
        var retries = request.Retries ?? section.Retries;
        var methodTimeout = request.MethodTimeout ?? section.MethodTimeout;
        if (ack <= TimeSpan.Zero || ack.TotalMilliseconds > StewardCodec.MaxMillis)
            throw new StewardArgumentException($"The ack timeout {Duration.Format(ack)} is out of range: more than 0, at most 24h.");
        if (methodTimeout <= TimeSpan.Zero || methodTimeout.TotalMilliseconds > StewardCodec.MaxMillis)
            throw new StewardArgumentException($"The method timeout {Duration.Format(methodTimeout)} is out of range: more than 0, at most 24h.");
        if (retries is < 0 or > StewardConfigReader.MaxRetries)
            throw new StewardArgumentException($"Retries {retries} is out of range: 0 to {StewardConfigReader.MaxRetries}.");
        return (ack, retries, methodTimeout);
    }

    /// <summary>The command and Queued record for one node: the message's own values where it has them, else the
    /// steward: section's defaults; a new id; Expires = Created + AckTimeout × (Retries + 1).</summary>
    public static StewardOutgoing Build(StewardRequest request, string node, StewardConfig section, SigningKey key, DateTimeOffset now, string? messageId = null)
    {
        if (!StewardSubjects.TryValidateNode(node, out var problem))
            throw new StewardArgumentException($"'{UntrustedText.Clean(node)}' is not a node name: {problem}");
        var (ack, retries, methodTimeout) = CheckFields(request, section);
        var id = messageId ?? StewardSubjects.NewMessageId();
        var command = new StewardCommand
        {
            MessageId = id, Sender = key.PublicBase58, Node = node, Method = request.Method, Args = request.MethodArgs,
            ReplyMethod = request.ReplyMethod, ReplyArgs = request.ReplyMethodArgs, AckTimeout = ack, Retries = retries,
            MethodTimeout = methodTimeout, Directory = request.Directory, FileName = request.FileName,
            Time = (now.UtcTicks - DateTime.UnixEpoch.Ticks) * 100, ReplyByAgent = ReplyByAgent(request), Governor = request.Governor,
        };
        var wire = StewardCodec.Encode(command, key);
        return new StewardOutgoing(command, wire, StewardRecord.Queued(command, StewardRecordHash.OfWire(wire), request.ReplyMethodTimeout));
    }

    /// <summary>Only a reply method that does something away from the console is worth an agent's run.</summary>
    private static bool ReplyByAgent(StewardRequest request) =>
        request.ReplyByAgent && request.ReplyMethod is { } m && m != StewardMethod.ToConsole;

    /// <summary>The identity messages are signed with: the config's default (or only) identity.</summary>
    public SigningKey SenderKey() => _senderKey ?? IdentityStore.Resolve(Config).Key;

    /// <summary>Queues <paramref name="request"/> for each of <paramref name="nodes"/>: stores the Queued record, then
    /// publishes the command (at most <paramref name="throttle"/> at a time). Returns the records, in node order. A node
    /// whose record or command could not be stored is reported through <paramref name="failed"/> and left out.</summary>
    public async Task<IReadOnlyList<StewardRecord>> SendAsync(StewardRequest request, IReadOnlyList<string> nodes, int throttle,
        Action<string, Exception>? failed, CancellationToken ct)
    {
        var key = SenderKey();
        // An unknown governor is one clear error here, before anything is queued (a node would only fail each message).
        if (request.Governor is { } governor)
            try { await (await StewardGovernors.OpenAsync(Store.Connection, Config, ct).ConfigureAwait(false)).ResolveAsync(governor, key, ct).ConfigureAwait(false); }
            catch (Exception e) when (NatsFailures.Translate(e, $"Steward (governors bucket '{Section.GovernorsBucket}')", Store.Connection) is { } f)
            { throw new StewardUnavailableException(f.Message, e); }
        var now = DateTimeOffset.UtcNow;
        var outgoing = nodes.Select(n => Build(request, n, Section, key, now)).ToArray();
        var sent = new StewardRecord?[outgoing.Length];
        await Parallel.ForEachAsync(Enumerable.Range(0, outgoing.Length),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, throttle), CancellationToken = ct },
            async (i, token) =>
            {
                var o = outgoing[i];
                var queueing = DateTimeOffset.UtcNow;
                try
                {
                    await SendOneAsync(o, key, token).ConfigureAwait(false);
                    sent[i] = o.Record;
                    Audit(o, request, queueing, null);
                }
                catch (Exception e) when (e is not OperationCanceledException && failed is not null)
                {
                    Audit(o, request, queueing, e);
                    failed(o.Record.Node, NatsFailures.Translate(e, $"Steward (stream '{Section.Stream}')", Store.Connection) is { } f
                        ? new StewardUnavailableException(f.Message, e) : e);
                }
            }).ConfigureAwait(false);
        return sent.OfType<StewardRecord>().ToArray();
    }

    /// <summary>steward.audit_log for clients: one line per message sent (verdict "sent"), or null when off.</summary>
    private readonly StewardAuditLog? _audit;

    /// <summary>Writes the client's audit line of one message (never throws: an audit disk that fails does not stop sends;
    /// it is reported through the log).</summary>
    private void Audit(StewardOutgoing o, StewardRequest request, DateTimeOffset queueing, Exception? failure)
    {
        if (_audit is null) return;
        try { _audit.Append(StewardAuditLog.ForSent(o.Command, request, Config.Destination ?? "", queueing, failure)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { _log?.Invoke($"Audit line of {o.Command.MessageId} not written to {_audit.Path}: {e.Message}"); }
    }

    /// <summary>Stores the Queued record, then publishes the command: the record exists before any node can see the
    /// command, so a node always finds the record it moves.</summary>
    public async Task SendOneAsync(StewardOutgoing o, SigningKey key, CancellationToken ct)
    {
        if (await Store.TryCreateAsync(o.Record, key, ct).ConfigureAwait(false) is not { } revision)
            throw new StewardArgumentException($"A message with id {o.Record.MessageId} exists already.");
        // The record's revision travels with the command, so the node moves it without reading it first.
        await Store.PublishCommandAsync(o.Command, o.Wire, ct, StewardQueuedHint.Encode(key, o.Record.MessageId, revision, o.Record.ReplyMethodTimeout)).ConfigureAwait(false);
    }

    // ---- Reading -------------------------------------------------------------------------------------------------

    private StoredRecord? Checked(StoredRecord? stored, string id)
    {
        if (stored is { Valid: false } bad)
        {
            Interlocked.Increment(ref _refused);
            _log?.Invoke($"Dropped the record of message {id}: {bad.Problem}.");
            return null;
        }
        return stored;
    }

    /// <summary>The trusted record of <paramref name="messageId"/>, or null.</summary>
    public async Task<StoredRecord?> GetAsync(string messageId, CancellationToken ct) =>
        Checked(await Store.GetAsync(messageId, ct).ConfigureAwait(false), messageId);

    /// <summary>The status a reader should see: a Queued record past its window is NoAck even before its sender says so.</summary>
    public static StewardStatus EffectiveStatus(StewardRecord r, DateTimeOffset now) =>
        r.Status == StewardStatus.Queued && now >= r.Expires ? StewardStatus.NoAck : r.Status;

    public StewardMessage ToMessage(StewardRecord r, DateTimeOffset now) => new()
    {
        MessageId = r.MessageId, Node = r.Node, Method = r.Method.ToString(), Status = EffectiveStatus(r, now),
        Created = r.Created, Updated = r.Updated, Attempts = r.Attempts, Sender = r.Sender, SenderName = SenderName(r.Sender),
        Expires = r.Expires,
    };

    private string SenderName(string key) =>
        Config.Identities.Any(i => i.Public == key) ? Config.Destination ?? "(this config)"
        : Config.Peers.FirstOrDefault(p => p.Public == key)?.Destination ?? "";

    public static StewardReply ToReply(StewardRecord r, DateTimeOffset now) => new()
    {
        Node = r.Node, Method = r.Method.ToString(), MessageId = r.MessageId, Status = EffectiveStatus(r, now), ExitCode = r.ExitCode,
        Output = r.Output, Error = r.Error.Length == 0 && EffectiveStatus(r, now) == StewardStatus.NoAck && r.Status == StewardStatus.Queued
            ? $"Not acknowledged by {r.Node} within its delivery window (until {r.Expires:u})." : r.Error,
        Started = r.Started, Finished = r.Finished, Duration = r.Finished - r.Started, Attempts = r.Attempts,
    };

    /// <summary>Messages by id (each once, in the order given; unknown ids reported through <paramref name="missing"/>),
    /// or every message when no id is given; then filtered by node (a name or a pattern) and status.</summary>
    public async IAsyncEnumerable<StewardMessage> GetMessagesAsync(IReadOnlyList<string>? ids, string? node, StewardStatus[]? status,
        Action<string>? missing, [EnumeratorCancellation] CancellationToken ct)
    {
        if (node is not null && StewardTargets.IsPattern(node)) DestinationPattern.Validate(node);
        var now = DateTimeOffset.UtcNow;
        bool Wanted(StewardRecord r) =>
            (node is null || r.Node == node || StewardTargets.IsPattern(node) && DestinationPattern.Matches(r.Node, node))
            && (status is null || status.Length == 0 || status.Contains(EffectiveStatus(r, now)));
        if (ids is { Count: > 0 })
        {
            foreach (var id in ids.Distinct(StringComparer.Ordinal))
            {
                var found = await GetAsync(id, ct).ConfigureAwait(false);
                if (found?.Record is not { } r) { missing?.Invoke(id); continue; }
                if (Wanted(r)) yield return ToMessage(r, now);
            }
            yield break;
        }
        var all = new List<StewardRecord>();
        await foreach (var stored in Store.ListAsync(ct).ConfigureAwait(false))
            if (Checked(stored, "(listed)")?.Record is { } r && Wanted(r)) all.Add(r);
        foreach (var r in all.OrderByDescending(r => r.Created).ThenBy(r => r.Node, StringComparer.Ordinal))
            yield return ToMessage(r, now);
    }

    // ---- Cancelling ----------------------------------------------------------------------------------------------

    /// <summary>Withdraws a message still queued (Queued → Cancelled, signed by its sender, which must be one of this
    /// config's identities). A message already cancelled is returned as it is; one a node took, or that ended, throws
    /// <see cref="StewardNotCancellableException"/>.</summary>
    public async Task<StewardMessage> CancelAsync(string messageId, CancellationToken ct)
    {
        while (true)
        {
            var found = await GetAsync(messageId, ct).ConfigureAwait(false);
            if (found?.Record is not { } r) throw new StewardMessageNotFoundException($"No message {UntrustedText.Clean(messageId)} in '{Section.ResultsBucket}' (never sent, aged out, or not signed by its sender).");
            var now = DateTimeOffset.UtcNow;
            if (r.Status == StewardStatus.Cancelled) return ToMessage(r, now);
            if (r.Status != StewardStatus.Queued)
                throw new StewardNotCancellableException(r.Status is StewardStatus.Delivered or StewardStatus.Running
                    ? $"Message {messageId} was already delivered to {r.Node} ({r.Status}); a delivered message runs to its end and cannot be cancelled."
                    : $"Message {messageId} to {r.Node} has ended ({r.Status}); there is nothing to cancel.");
            if (!Config.Identities.Any(i => i.Public == r.Sender))
                throw new IdentityException($"Message {messageId} was sent by {r.Sender}, which is not an identity of this config; only its sender can cancel it.");
            var key = IdentityStore.Resolve(Config, r.Sender).Key;
            var next = r with { Status = StewardStatus.Cancelled, Updated = now, Error = "Cancelled by its sender before delivery." };
            if (await Store.TryMoveAsync(r, found.Value.Revision, next, key, ct).ConfigureAwait(false) is not null)
                return ToMessage(next, now);
            // Someone moved it meanwhile (the node took it, or another cancel): read it again and judge the new status.
        }
    }

    // ---- Waiting -------------------------------------------------------------------------------------------------

    private sealed class Tracked(StewardRecord record, ulong revision, long after, bool streams)
    {
        public StewardRecord Record = record;
        public ulong Revision = revision;
        public long LastSequence = after;
        public bool Done;
        public DateTimeOffset? DrainUntil;
        /// <summary>Its output is wanted (a streaming method, and the caller streams).</summary>
        public readonly bool Streams = streams;
        /// <summary>The stream reader (an ordered consumer), started only when the live copies cannot be enough.</summary>
        public Task? Reader;
        /// <summary>A chunk came on the live subscription.</summary>
        public bool LiveSeen;
        /// <summary>When it was first seen taken by its node (Delivered or Running).</summary>
        public DateTimeOffset? TakenSince;
    }

    private abstract record Input;
    private sealed record RecordInput(StoredRecord Stored, string Key) : Input;
    private sealed record ChunkInput(StewardChunk Chunk, bool Live) : Input;

    /// <summary>How long a message may run with no live chunk before its output is read from the stream as well (the
    /// live subscription may be refused by the server's permissions, which only says so in its log).</summary>
    public static readonly TimeSpan LiveGrace = TimeSpan.FromSeconds(1);

    public static bool IsStreaming(StewardMethod method) => method is StewardMethod.CliCommandCont or StewardMethod.TailFile or StewardMethod.PwshScript;

    /// <summary>Waits for <paramref name="messages"/> (their records as last seen): yields a streaming method's lines as
    /// they arrive (after sequence <paramref name="after"/>[id], else from the first), and each message's final reply as
    /// it ends. Output comes first from a plain subscription to the message's output subject, which sees each chunk as
    /// the node publishes it; the stream, which keeps every chunk, is read only when that is not enough: a gap in the
    /// numbers (chunks published before the subscription, or lost on it), a final record that counts more chunks than
    /// arrived, or a message running for <see cref="LiveGrace"/> with no live chunk at all. A record still Queued when its window passes is moved to NoAck (when we are its sender; otherwise it is
    /// reported NoAck as readers see it), compare-and-set, so a node that took it meanwhile wins. Ends when every
    /// message is final, or at <paramref name="timeout"/> with a <see cref="TimeoutException"/> naming the rest.</summary>
    public async IAsyncEnumerable<StewardWaitEvent> WaitAsync(IReadOnlyList<StewardRecord> messages, IReadOnlyDictionary<string, long>? after,
        bool streamOutput, TimeSpan? timeout, [EnumeratorCancellation] CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var deadline = timeout is { } t ? DateTimeOffset.UtcNow + t : (DateTimeOffset?)null;
        var tracked = new Dictionary<string, Tracked>(StringComparer.Ordinal);
        foreach (var m in messages)
            tracked.TryAdd(m.MessageId, new Tracked(m, 0, after is not null && after.TryGetValue(m.MessageId, out var a) ? a : 0,
                streamOutput && IsStreaming(m.Method)));
        var inputs = Channel.CreateUnbounded<Input>(new UnboundedChannelOptions { SingleReader = true });
        void StartReader(Tracked tr) =>
            tr.Reader ??= Task.Run(() => ReadChunksAsync(tr.Record.Node, tr.Record.MessageId, tr.LastSequence, inputs.Writer, stop.Token));
        // The live copies first, so that as little as possible is published before they listen; not waited for (a
        // subscription made while the connection is away waits for it to be back, and the waiting goes on meanwhile).
        var live = tracked.Values.Where(x => x.Streams).Select(tr => ListenLiveAsync(tr.Record, inputs.Writer, stop.Token)).ToArray();

        // Every update after the bucket's last revision now, so nothing between the reads below and the watch is missed.
        Task watcher;
        var readFirst = true;
        if (tracked.Count == 1)
        {
            // One message: its record's writes heard live on a plain subscription, after one read of it as it is now: no
            // consumer is made on the server while the node is at work (a watch's consumer cost the node's Delivered move
            // a quarter of a millisecond in the warm round trip), and neither the bucket's revision nor a listing is needed.
            var only = tracked.Keys.First();
            watcher = Task.Run(() => ListenRecordAsync(only, inputs.Writer, stop.Token));
            readFirst = false;
        }
        else
        {
            ulong from = 0;
            try
            {
                var status = await Store.Results.GetStatusAsync(stop.Token).ConfigureAwait(false);
                from = status.Info.State.LastSeq + 1;
            }
            catch (Exception e) when (e is not OperationCanceledException) { _log?.Invoke($"Could not read the results bucket's revision ({e.Message}); relying on re-reads."); }
            watcher = from > 0 ? Task.Run(() => WatchAsync(">", tracked.Keys.ToHashSet(StringComparer.Ordinal), from, inputs.Writer, stop.Token)) : Task.CompletedTask;
        }

        // The first read and the periodic re-reads go side by side, beside the loop: a large fan-out's replies are
        // passed on as they come rather than after a hundred reads one after another.
        var reads = readFirst ? ReadAllAgainAsync(tracked.Keys.ToArray(), inputs.Writer, stop.Token) : Task.CompletedTask;
        try
        {
            var remaining = tracked.Count;
            var nextRecheck = DateTimeOffset.UtcNow + RecheckInterval;
            while (remaining > 0)
            {
                var now = DateTimeOffset.UtcNow;
                var wake = nextRecheck;
                foreach (var tr in tracked.Values.Where(x => !x.Done))
                {
                    if (tr.Record.Status == StewardStatus.Queued && tr.Record.Expires < wake) wake = tr.Record.Expires;
                    if (tr.DrainUntil is { } d && d < wake) wake = d;
                    if (NeedsReaderAt(tr) is { } r && r < wake) wake = r;
                }
                if (deadline is { } dl && dl < wake) wake = dl;
                var delay = wake - now;
                if (delay > TimeSpan.Zero)
                {
                    using var nap = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
                    nap.CancelAfter(delay);
                    try { await inputs.Reader.WaitToReadAsync(nap.Token).ConfigureAwait(false); }
                    catch (OperationCanceledException) when (!stop.IsCancellationRequested) { }
                }
                stop.Token.ThrowIfCancellationRequested();
                now = DateTimeOffset.UtcNow;
                var ready = new List<StewardWaitEvent>();
                while (inputs.Reader.TryRead(out var input))
                    Handle(input, tracked, ready, now, StartReader);
                // The clock's work: windows that passed, drains that waited long enough, the periodic re-read.
                foreach (var (id, tr) in tracked.Where(x => !x.Value.Done))
                {
                    if (tr.Record.Status == StewardStatus.Queued && now >= tr.Record.Expires)
                        Handle(await ExpireAsync(tr, stop.Token).ConfigureAwait(false), tracked, ready, now, StartReader);
                    if (NeedsReaderAt(tr) is { } readFrom && now >= readFrom) StartReader(tr);
                    if (tr.DrainUntil is { } d && now >= d && !tr.Done)
                    {
                        _log?.Invoke($"Message {id}: {tr.Record.Chunks - tr.LastSequence} output chunk(s) of {tr.Record.Chunks} never arrived (aged out or capped).");
                        Finish(tr, ready, now);
                    }
                }
                if (now >= nextRecheck && reads.IsCompleted)
                {
                    nextRecheck = now + RecheckInterval;
                    reads = ReadAllAgainAsync(tracked.Where(x => !x.Value.Done && x.Value.DrainUntil is null).Select(x => x.Key).ToArray(), inputs.Writer, stop.Token);
                }
                foreach (var e in ready)
                {
                    if (e.Reply is not null) remaining--;
                    yield return e;
                }
                if (remaining > 0 && deadline is { } end && DateTimeOffset.UtcNow >= end)
                {
                    var open = tracked.Where(x => !x.Value.Done).Select(x => $"{x.Key} ({x.Value.Record.Node}, {x.Value.Record.Status})").ToArray();
                    throw new TimeoutException($"{open.Length} message(s) had not ended within {Duration.Format(timeout!.Value)}: {string.Join(", ", open.Take(10))}{(open.Length > 10 ? ", ..." : "")}.");
                }
            }
        }
        finally
        {
            stop.Cancel();
            try { await Task.WhenAll(tracked.Values.Select(x => x.Reader).OfType<Task>().Concat(live).Append(watcher).Append(reads)).ConfigureAwait(false); }
            catch (Exception) { /* cancelled on purpose */ }
        }
    }

    /// <summary>When the stream reader of a message with no live chunk yet should start (null: not for that reason).</summary>
    private static DateTimeOffset? NeedsReaderAt(Tracked tr) =>
        tr is { Streams: true, Reader: null, LiveSeen: false, Done: false, TakenSince: { } since } ? since + LiveGrace : null;

    private void Handle(Input input, Dictionary<string, Tracked> tracked, List<StewardWaitEvent> ready, DateTimeOffset now, Action<Tracked> startReader)
    {
        switch (input)
        {
            case RecordInput { Stored: var stored, Key: var key }:
                if (!tracked.TryGetValue(key, out var tr) || tr.Done) return;
                if (Checked(stored, key) is not { Record: { } r } s) return;
                // A re-read of what we know, or older. A record heard live has no revision (0): it is taken when its status
                // is further on, as statuses only move forward (StewardStatuses.MayMove), and no read takes it back.
                if (s.Revision == 0 ? r.Status <= tr.Record.Status : s.Revision <= tr.Revision || r.Status < tr.Record.Status) return;
                tr.Record = r;
                if (s.Revision > 0) tr.Revision = s.Revision;
                if (r.Status is StewardStatus.Delivered or StewardStatus.Running) tr.TakenSince ??= now;
                if (!StewardStatuses.IsFinal(r.Status)) return;
                if (tr.Streams) TakeCarried(tr, ready);
                if (tr.Streams && tr.LastSequence < r.Chunks)
                {
                    // Chunks the live copies did not bring: the stream has them.
                    startReader(tr);
                    tr.DrainUntil ??= now + ChunkDrainWait;
                    return;
                }
                Finish(tr, ready, now);
                return;
            case ChunkInput { Chunk: var c, Live: var isLive }:
                if (!tracked.TryGetValue(c.MessageId, out var t) || t.Done || c.Sequence <= t.LastSequence) return;
                if (isLive)
                {
                    t.LiveSeen = true;
                    // Past a gap: the chunks between were published before the subscription listened, or lost on it; the
                    // stream has them all, in order, from where this message is.
                    if (c.Sequence != t.LastSequence + 1) { startReader(t); return; }
                }
                t.LastSequence = c.Sequence;
                ready.Add(OutputEvent(c, t.Record));
                if (t.DrainUntil is null) return;
                TakeCarried(t, ready);
                if (t.LastSequence >= t.Record.Chunks) Finish(t, ready, now);
                return;
        }
    }

    private static StewardWaitEvent OutputEvent(StewardChunk c, StewardRecord record) =>
        new(new StewardOutput { Node = c.Node, MessageId = c.MessageId, Sequence = c.Sequence, Line = c.Line, Time = c.Time }, null, record);

    /// <summary>A final record's carried last chunk (<see cref="StewardRecord.LastChunk"/>), passed on when it is the next
    /// one this message needs.</summary>
    private static void TakeCarried(Tracked tr, List<StewardWaitEvent> ready)
    {
        if (tr.Record.CarriedChunk() is { } c && c.Sequence == tr.LastSequence + 1)
        {
            tr.LastSequence = c.Sequence;
            ready.Add(OutputEvent(c, tr.Record));
        }
    }

    private static void Finish(Tracked tr, List<StewardWaitEvent> ready, DateTimeOffset now)
    {
        tr.Done = true;
        ready.Add(new StewardWaitEvent(null, ToReply(tr.Record, now), tr.Record));
    }

    /// <summary>A record past its window: moved to NoAck when we are its sender and it is still Queued; the record as it
    /// is now in any case (a node that took it in time wins the compare-and-set).</summary>
    private async Task<Input> ExpireAsync(Tracked tr, CancellationToken ct)
    {
        var id = tr.Record.MessageId;
        var found = await GetAsync(id, ct).ConfigureAwait(false);
        if (found is not { Record: { } r } stored) return new RecordInput(new StoredRecord(null, 0, "", "gone"), id);
        if (r.Status != StewardStatus.Queued) return new RecordInput(stored, id);
        if (!Config.Identities.Any(i => i.Public == r.Sender))
        {
            // Not ours to move: readers see a Queued record past its window as NoAck (a newer revision than any seen).
            var derived = r with { Status = StewardStatus.NoAck, Error = $"Not acknowledged by {r.Node} within its delivery window (until {r.Expires:u})." };
            return new RecordInput(stored with { Record = derived, Revision = Math.Max(stored.Revision, tr.Revision) + 1 }, id);
        }
        var now = DateTimeOffset.UtcNow;
        var next = r with
        {
            Status = StewardStatus.NoAck, Updated = now,
            Error = $"Not acknowledged by {r.Node} within its delivery window ({Duration.Format(r.Expires - r.Created)}).",
        };
        var key = IdentityStore.Resolve(Config, r.Sender).Key;
        var revision = await Store.TryMoveAsync(r, stored.Revision, next, key, ct).ConfigureAwait(false);
        if (revision is { } rev)
        {
            // The error goes to central too (best effort: the reply says NoAck whatever happens to the report).
            if (Section.Central is { Length: > 0 } central)
                try
                {
                    await StewardErrorReport.SendAsync(Store, Section, key, central, new StewardErrorReport
                    {
                        Time = now, Node = r.Node, MessageId = id, Method = r.Method.ToString(), Kind = nameof(StewardStatus.NoAck), Message = next.Error,
                    }, ct).ConfigureAwait(false);
                }
                catch (Exception e) when (NatsFailures.IsNats(e)) { _log?.Invoke($"The NoAck of {id} was not reported to {central}: {e.Message}"); }
            return new RecordInput(new StoredRecord(next, rev, r.Sender, null), id);
        }
        // A node took it meanwhile: its record wins.
        return new RecordInput(await Store.GetAsync(id, ct).ConfigureAwait(false) ?? new StoredRecord(null, 0, "", "gone"), id);
    }

    /// <summary>How many records a wait reads at a time.</summary>
    private const int ParallelReads = 16;

    /// <summary>Reads <paramref name="ids"/>' records again, <see cref="ParallelReads"/> at a time, passing each on.</summary>
    private Task ReadAllAgainAsync(IReadOnlyList<string> ids, ChannelWriter<Input> inputs, CancellationToken ct) =>
        ids.Count == 0 ? Task.CompletedTask
        : Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = ParallelReads, CancellationToken = ct },
            async (id, token) => await ReadAgainAsync(id, inputs, token).ConfigureAwait(false));

    private async Task ReadAgainAsync(string id, ChannelWriter<Input> inputs, CancellationToken ct)
    {
        try
        {
            if (await Store.GetAsync(id, ct).ConfigureAwait(false) is { } stored) inputs.TryWrite(new RecordInput(stored, id));
        }
        catch (Exception e) when (e is not OperationCanceledException) { _log?.Invoke($"Could not read message {id} ({e.Message}); trying again."); }
    }

    /// <summary>Passes on each update of <paramref name="ids"/> among the keys <paramref name="filter"/> matches, from
    /// revision <paramref name="from"/> (0: from each key's value now), resuming after a failure where it was.</summary>
    private async Task WatchAsync(string filter, HashSet<string> ids, ulong from, ChannelWriter<Input> inputs, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                // ResumeAtRevision 0 is unset: each key's value now.
                var opts = new NatsKVWatchOpts { IgnoreDeletes = true, ResumeAtRevision = from };
                await foreach (var e in Store.Results.WatchAsync<byte[]>(filter, opts: opts, cancellationToken: ct).ConfigureAwait(false))
                {
                    from = e.Revision + 1;
                    if (e.Operation == NatsKVOperation.Put && ids.Contains(e.Key))
                        inputs.TryWrite(new RecordInput(Store.Open(e.Value, e.Revision, e.Key), e.Key));
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e)
            {
                // The periodic re-read covers the gap; the watch resumes where it was.
                _log?.Invoke($"The results watch failed ({e.Message}); resuming.");
                try { await Task.Delay(RecheckInterval, ct).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>One message's record: each write as it is published (a plain subscription to its key's subject), after one
    /// read of it as it is now (made after the subscription, so a write is heard or read). What arrives live carries no
    /// revision (see <see cref="Handle"/>). A subscription refused by the server's permissions only brings nothing: the
    /// periodic re-read then does the work.</summary>
    private async Task ListenRecordAsync(string id, ChannelWriter<Input> inputs, CancellationToken ct)
    {
        try
        {
            await using var sub = await Store.Connection.SubscribeCoreAsync<byte[]>(Store.RecordSubject(id), cancellationToken: ct).ConfigureAwait(false);
            if (await Store.GetAsync(id, ct).ConfigureAwait(false) is { } now) inputs.TryWrite(new RecordInput(now, id));
            await foreach (var m in sub.Msgs.ReadAllAsync(ct).ConfigureAwait(false))
                if (m.Data is { Length: > 0 } data) inputs.TryWrite(new RecordInput(Store.Open(data, 0, id), id));
        }
        catch (OperationCanceledException) { }
        catch (Exception e) { _log?.Invoke($"Live status of message {id} ended ({e.Message}); reading it every {RecheckInterval.TotalSeconds:0} s."); }
    }

    /// <summary>Subscribes to the live copies of <paramref name="record"/>'s output chunks (as the node publishes them, not
    /// from the stream) and passes on each one its node signed, until cancelled. A subscription that fails or ends is
    /// logged and leaves the stream reader to do the work.</summary>
    private async Task ListenLiveAsync(StewardRecord record, ChannelWriter<Input> inputs, CancellationToken ct)
    {
        try
        {
            await using var sub = await Store.Connection.SubscribeCoreAsync<byte[]>(Store.Subjects.Output(record.MessageId), cancellationToken: ct).ConfigureAwait(false);
            await foreach (var m in sub.Msgs.ReadAllAsync(ct).ConfigureAwait(false))
                if (Store.TryOpenChunk(m.Data, record.Node, record.MessageId, out var chunk))
                    inputs.TryWrite(new ChunkInput(chunk, Live: true));
        }
        catch (OperationCanceledException) { }
        // Refused by the server's permissions, or the connection closed: the stream reader has every chunk.
        catch (Exception e) { _log?.Invoke($"Live output of message {record.MessageId} ended ({e.Message}); reading it from the stream."); }
    }

    private async Task ReadChunksAsync(string node, string id, long after, ChannelWriter<Input> inputs, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                // Numbered chunks: a restarted read begins after the last one passed on, so nothing is repeated or skipped.
                await foreach (var c in Store.ReadChunksAsync(node, id, after, ct).ConfigureAwait(false))
                {
                    after = c.Sequence;
                    inputs.TryWrite(new ChunkInput(c, Live: false));
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (Exception e)
            {
                _log?.Invoke($"Reading the output of message {id} failed ({e.Message}); continuing after chunk {after}.");
                try { await Task.Delay(RecheckInterval, ct).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
            }
        }
    }
}
