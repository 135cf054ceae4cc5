using System.Runtime.CompilerServices;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;

namespace RemoteOps.Steward;

/// <summary>Steward is unreachable: NATS, JetStream, the stream or a bucket failed.</summary>
public sealed class StewardUnavailableException(string message, Exception? inner = null) : RemoteOpsUnavailableException(message, inner);

/// <summary>A record read from the results bucket, with its revision (for compare-and-set), or why it was refused.</summary>
public readonly record struct StoredRecord(StewardRecord? Record, ulong Revision, string Signer, string? Problem)
{
    public bool Valid => Record is not null && Problem is null;
}

/// <summary>Steward's durable state on one connection: the stream (commands and output chunks), the results bucket and
/// the node registry, created on first use with <c>replicas</c> replicas. Every record read is checked: a valid
/// signature, and the right signer (<see cref="CheckSigner"/>), before anything believes it.</summary>
public sealed class StewardStore
{
    /// <summary>How long the stream keeps commands and output chunks. A delivery window is at most 1h × 101 (ack_timeout
    /// and retries at their maximum); chunks are for clients that come back later.</summary>
    public static readonly TimeSpan StreamMaxAge = TimeSpan.FromDays(7);
    /// <summary>How long results stay readable.</summary>
    public static readonly TimeSpan ResultsMaxAge = TimeSpan.FromDays(7);
    /// <summary>A record is at most max_output plus its fields; anything far larger is not ours.</summary>
    public const int MaxRecordBytes = 64 * 1024 * 1024 + 64 * 1024;

    public NatsConnection Connection { get; }
    public NatsJSContext JetStream { get; }
    public StewardConfig Section { get; }
    public StewardSubjects Subjects { get; }
    public INatsKVStore Results { get; }
    public INatsKVStore Nodes { get; }
    private readonly TrustStore _trust;
    private readonly IReadOnlyCollection<string> _ownKeys;

    private StewardStore(NatsConnection connection, NatsJSContext js, StewardConfig section, INatsKVStore results, INatsKVStore nodes,
        TrustStore trust, IReadOnlyCollection<string> ownKeys)
    {
        Connection = connection; JetStream = js; Section = section; Subjects = StewardSubjects.For(section);
        Results = results; Nodes = nodes; _trust = trust; _ownKeys = ownKeys;
    }

    /// <summary>The store for <paramref name="config"/> on <paramref name="connection"/>: the stream and both buckets found
    /// or created. Throws <see cref="StewardUnavailableException"/> when NATS or JetStream fails.</summary>
    public static async Task<StewardStore> OpenAsync(NatsConnection connection, RemoteOpsConfig config, CancellationToken ct)
    {
        var section = config.Steward;
        var js = new NatsJSContext(connection);
        var subjects = StewardSubjects.For(section);
        try
        {
            await EnsureStreamAsync(js, subjects, config.Replicas, ct).ConfigureAwait(false);
            var results = (await KvBuckets.GetAsync(connection, section.ResultsBucket, () => new NatsKVConfig(section.ResultsBucket)
            {
                History = 1, MaxAge = ResultsMaxAge, NumberOfReplicas = config.Replicas,
                Description = "RemoteOps steward: status and results, by message id",
            }, ct).ConfigureAwait(false))!;
            var nodes = (await KvBuckets.GetAsync(connection, section.NodesBucket, () => new NatsKVConfig(section.NodesBucket)
            {
                History = 1, NumberOfReplicas = config.Replicas,
                Description = "RemoteOps steward: node registry, written by each node agent",
            }, ct).ConfigureAwait(false))!;
            var own = config.Identities.Select(i => i.Public).ToArray();
            return new StewardStore(connection, js, section, results, nodes, TrustStore.For(config), own);
        }
        catch (Exception e) when (NatsFailures.Translate(e, $"Steward (stream '{section.Stream}', buckets '{section.ResultsBucket}', '{section.NodesBucket}')", connection) is { } failure)
        {
            throw new StewardUnavailableException(failure.Message, e);
        }
    }

    private static async Task EnsureStreamAsync(NatsJSContext js, StewardSubjects subjects, int replicas, CancellationToken ct)
    {
        try
        {
            var stream = await js.GetStreamAsync(subjects.Stream, cancellationToken: ct).ConfigureAwait(false);
            await AddErrorsSubjectAsync(stream, subjects, ct).ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404)
        {
            var config = new StreamConfig(subjects.Stream, [subjects.AllCommands, subjects.AllOutput, subjects.Errors])
            {
                Retention = StreamConfigRetention.Limits,
                Storage = StreamConfigStorage.File,
                MaxAge = StreamMaxAge,
                NumReplicas = replicas,
                // Publishing with the message id as Nats-Msg-Id makes a re-sent command a no-op within this window.
                DuplicateWindow = TimeSpan.FromMinutes(10),
                Description = "RemoteOps steward: durable command queue (a subject per node) and output chunks",
            };
            try { await js.CreateStreamAsync(config, ct).ConfigureAwait(false); }
            catch (NatsJSApiException c) when (c.Error.ErrCode == 10058) { } // created meanwhile by another client
        }
    }

    /// <summary>A stream created before the central error log was kept in it gets its subject. Best effort: a node user
    /// may not update the stream (the operator's first cmdlet does); then central cannot publish its records yet, and
    /// says so in its log.</summary>
    private static async Task AddErrorsSubjectAsync(INatsJSStream stream, StewardSubjects subjects, CancellationToken ct)
    {
        var current = stream.Info.Config.Subjects ?? [];
        if (current.Contains(subjects.Errors)) return;
        try { await stream.UpdateAsync(stream.Info.Config with { Subjects = [.. current, subjects.Errors] }, ct).ConfigureAwait(false); }
        catch (Exception e) when (e is not OperationCanceledException) { }
    }

    /// <summary>Whether <paramref name="signer"/> may have written <paramref name="record"/>: the node itself (a configured
    /// peer with the node's destination, or one of our identities when we are that node) for the node's statuses; the
    /// record's sender (a configured peer or one of our identities) for the sender's. Null when it may; else why not.</summary>
    public string? CheckSigner(StewardRecord record, string signer)
    {
        if (StewardStatuses.IsSenderStatus(record.Status))
        {
            // NoAck is also the node's to write: an agent that receives a message after its window refuses it so.
            if (record.Status == StewardStatus.NoAck && IsNodeKey(record.Node, signer)) return null;
            if (signer != record.Sender) return "a sender's status not signed by the sender";
            return _ownKeys.Contains(signer) || _trust.Find(signer) is not null ? null : "signed by an unknown sender";
        }
        return IsNodeKey(record.Node, signer) ? null : $"a node's status not signed by node {UntrustedText.Clean(record.Node)}";
    }

    /// <summary>Whether <paramref name="key"/> speaks for <paramref name="node"/>: a configured peer with that destination,
    /// or one of our own identities (we may be the node).</summary>
    public bool IsNodeKey(string node, string key) =>
        _ownKeys.Contains(key) || _trust.Find(key) is { } peer && string.Equals(peer.Destination, node, StringComparison.Ordinal);

    public StoredRecord Open(byte[]? raw, ulong revision, string key)
    {
        if (raw is null) return new StoredRecord(null, revision, "", "empty");
        if (!SignedJson.TryOpen<StewardRecord>(raw, StewardRecord.Domain, MaxRecordBytes, out var record, out var signer, out var problem))
            return new StoredRecord(null, revision, "", problem);
        if (record.MessageId != key) return new StoredRecord(null, revision, signer, "stored under another message's id");
        if (CheckSigner(record, signer) is { } wrong) return new StoredRecord(null, revision, signer, wrong);
        return new StoredRecord(record, revision, signer, null);
    }

    /// <summary>The record of <paramref name="messageId"/>; null when there is none (never sent, or aged out).</summary>
    public async Task<StoredRecord?> GetAsync(string messageId, CancellationToken ct)
    {
        if (!StewardSubjects.IsMessageId(messageId)) return null;
        var entry = await Results.TryGetEntryAsync<byte[]>(messageId, cancellationToken: ct).ConfigureAwait(false);
        if (!entry.Success) return null;
        return Open(entry.Value.Value, entry.Value.Revision, messageId);
    }

    /// <summary>The subject each write of <paramref name="messageId"/>'s record is published on (a plain subscription hears it).</summary>
    public string RecordSubject(string messageId) => $"$KV.{Results.Bucket}.{messageId}";

    /// <summary>Stores a new record (Queued): its revision, or null when the id exists already.</summary>
    public async Task<ulong?> TryCreateAsync(StewardRecord record, SigningKey key, CancellationToken ct)
    {
        var created = await Results.TryCreateAsync(record.MessageId, SignedJson.Encode(record, key, StewardRecord.Domain), cancellationToken: ct).ConfigureAwait(false);
        return created.Success ? created.Value : null;
    }

    /// <summary>Moves the record at <paramref name="revision"/> to <paramref name="next"/>: the new revision, or null when
    /// someone else moved it first (read it again) or the move is not allowed.</summary>
    public async Task<ulong?> TryMoveAsync(StewardRecord current, ulong revision, StewardRecord next, SigningKey key, CancellationToken ct)
    {
        if (!StewardStatuses.MayMove(current.Status, next.Status)) return null;
        var updated = await Results.TryUpdateAsync(next.MessageId, SignedJson.Encode(next, key, StewardRecord.Domain), revision, cancellationToken: ct).ConfigureAwait(false);
        return updated.Success ? updated.Value : null;
    }

    /// <summary>Every record, newest first by creation time (invalid ones are skipped).</summary>
    public async IAsyncEnumerable<StoredRecord> ListAsync([EnumeratorCancellation] CancellationToken ct)
    {
        foreach (var e in await KvBuckets.ListAsync(Results, ">", ct).ConfigureAwait(false))
            yield return Open(e.Value, e.Revision, e.Key);
    }

    /// <summary>Every change to the results bucket from now on (and, with <paramref name="includeCurrent"/>, the current
    /// values first), until cancelled.</summary>
    public async IAsyncEnumerable<StoredRecord> WatchAsync(bool includeCurrent, [EnumeratorCancellation] CancellationToken ct)
    {
        var opts = new NatsKVWatchOpts { IgnoreDeletes = true, UpdatesOnly = !includeCurrent };
        await foreach (var e in Results.WatchAsync<byte[]>(">", opts: opts, cancellationToken: ct).ConfigureAwait(false))
            if (e.Operation == NatsKVOperation.Put) yield return Open(e.Value, e.Revision, e.Key);
    }

    /// <summary>Publishes a signed command to its node's subject; the id is the JetStream de-duplication id, so sending the
    /// same message twice stores it once. <paramref name="queuedHint"/> (<see cref="StewardQueuedHint"/>) goes in a header.</summary>
    public async Task PublishCommandAsync(StewardCommand command, byte[] wire, CancellationToken ct, string? queuedHint = null)
    {
        var headers = new NatsHeaders { ["Nats-Msg-Id"] = command.MessageId };
        if (queuedHint is not null) headers[StewardQueuedHint.Header] = queuedHint;
        var ack = await JetStream.PublishAsync(Subjects.Command(command.Node), wire, headers: headers, cancellationToken: ct).ConfigureAwait(false);
        ack.EnsureSuccess();
    }

    /// <summary>Publishes one signed output chunk.</summary>
    public async Task PublishChunkAsync(StewardChunk chunk, SigningKey key, CancellationToken ct)
    {
        var ack = await JetStream.PublishAsync(Subjects.Output(chunk.MessageId), SignedJson.Encode(chunk, key, StewardChunk.Domain), cancellationToken: ct).ConfigureAwait(false);
        ack.EnsureSuccess();
    }

    /// <summary>The output chunks of <paramref name="messageId"/> after sequence <paramref name="after"/>, in order, as they
    /// come, until cancelled. Chunks not signed by the node are skipped.</summary>
    public async IAsyncEnumerable<StewardChunk> ReadChunksAsync(string node, string messageId, long after, [EnumeratorCancellation] CancellationToken ct)
    {
        var consumer = await JetStream.CreateOrderedConsumerAsync(Subjects.Stream, new NatsJSOrderedConsumerOpts
        {
            FilterSubjects = [Subjects.Output(messageId)],
            DeliverPolicy = ConsumerConfigDeliverPolicy.All,
        }, ct).ConfigureAwait(false);
        long next = after + 1;
        await foreach (var m in consumer.ConsumeAsync<byte[]>(cancellationToken: ct).ConfigureAwait(false))
        {
            if (!TryOpenChunk(m.Data, node, messageId, out var chunk)) continue;
            // Numbered chunks: a repeat (a re-published chunk) or one we saw already is skipped; the order is the stream's.
            if (chunk.Sequence < next) continue;
            next = chunk.Sequence + 1;
            yield return chunk;
        }
    }

    /// <summary>An output chunk of <paramref name="messageId"/> signed by its node <paramref name="node"/>; false for
    /// anything else (unsigned, forged, another message's).</summary>
    public bool TryOpenChunk(byte[]? data, string node, string messageId, out StewardChunk chunk)
    {
        chunk = null!;
        if (data is null || !SignedJson.TryOpen<StewardChunk>(data, StewardChunk.Domain, MaxRecordBytes, out var opened, out var signer, out _)) return false;
        if (opened.MessageId != messageId || opened.Node != node || !IsNodeKey(node, signer)) return false;
        chunk = opened;
        return true;
    }

    /// <summary>Writes this node's presence.</summary>
    public async Task PutNodeAsync(StewardNodeRecord node, SigningKey key, CancellationToken ct) =>
        await Nodes.PutAsync(NodeKey(node.Name), SignedJson.Encode(node, key, StewardNodeRecord.Domain), cancellationToken: ct).ConfigureAwait(false);

    /// <summary>A node's key in the registry, distinct per node (a permissions file gives each node user exactly its
    /// own): the name itself when it is a key, else "_x" and the hex of its UTF-8 bytes. A name kept as it is never
    /// starts with '_', so no name can take another's escaped key.</summary>
    public static string NodeKey(string name) =>
        KvBuckets.IsKey(name) && !name.Contains("..") && name[0] != '_' ? name : "_x" + Convert.ToHexStringLower(System.Text.Encoding.UTF8.GetBytes(name));

    /// <summary>Every node in the registry whose record its own key signed (a configured peer with that destination, or us).</summary>
    public async Task<IReadOnlyList<StewardNodeRecord>> ListNodesAsync(CancellationToken ct)
    {
        // By key, the latest wins: a hello written while the listing runs comes as a second entry of its key (with a
        // thousand nodes saying hello, a listing sees a few), and a node is listed once.
        var byKey = new Dictionary<string, StewardNodeRecord>(StringComparer.Ordinal);
        foreach (var e in await KvBuckets.ListAsync(Nodes, ">", ct).ConfigureAwait(false))
        {
            if (e.Value is { } raw
                && SignedJson.TryOpen<StewardNodeRecord>(raw, StewardNodeRecord.Domain, 1024 * 1024, out var node, out var signer, out _)
                && node.PublicKey == signer && IsNodeKey(node.Name, signer) && e.Key == NodeKey(node.Name))
                byKey[e.Key] = node;
        }
        return byKey.Values.ToList();
    }
}
