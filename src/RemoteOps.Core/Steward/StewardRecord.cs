using RemoteOps.Identity;

namespace RemoteOps.Steward;

/// <summary>The status (and, once final, the result) of one message on one node: the value under the message id in the
/// results bucket, signed (<see cref="Domain"/>). The sender writes Queued, NoAck and Cancelled; the node every other
/// status. Each write is a compare-and-set on the key's revision, and <see cref="StewardStatuses.MayMove"/> says which
/// moves are allowed, so two writers never both win.</summary>
public sealed record StewardRecord
{
    public static readonly SignatureDomain Domain = new("steward-result");

    public required string MessageId { get; init; }
    public required string Node { get; init; }
    public required StewardMethod Method { get; init; }
    /// <summary>The sender's public key, base58.</summary>
    public required string Sender { get; init; }
    public required StewardStatus Status { get; init; }
    public required DateTimeOffset Created { get; init; }
    public required DateTimeOffset Updated { get; init; }
    /// <summary>When a message still queued becomes NoAck: Created + ackTimeout × (retries + 1).</summary>
    public required DateTimeOffset Expires { get; init; }
    public int Attempts { get; init; }
    public int? ExitCode { get; init; }
    public string Output { get; init; } = "";
    public string Error { get; init; } = "";
    public DateTimeOffset? Started { get; init; }
    public DateTimeOffset? Finished { get; init; }
    /// <summary>Output bytes dropped beyond max_output (the marker at the end of Output says so too).</summary>
    public long Dropped { get; init; }
    /// <summary>Streaming methods: how many output chunks the node published (the last sequence number).</summary>
    public long Chunks { get; init; }
    /// <summary>Where the reply goes: the reply method and its arguments, as the sender asked, so that whoever receives
    /// the reply later (Receive-StewardReply, the sender's node agent) can run it.</summary>
    public StewardMethod? ReplyMethod { get; init; }
    public IReadOnlyList<string> ReplyArgs { get; init; } = [];
    public string? Directory { get; init; }
    public string? FileName { get; init; }
    /// <summary>How long a CliCommand reply method may run (the seed's replyMethodTimeout); null: the receiver's
    /// method_timeout.</summary>
    public TimeSpan? ReplyMethodTimeout { get; init; }
    /// <summary>The reply method runs on the node agent of the sender's destination (sent with -NoWait).</summary>
    public bool ReplyByAgent { get; init; }
    /// <summary>The sender's record: lower-case hex SHA-256 of the command body it signed (see
    /// <see cref="StewardRecordHash"/>), so that a node that receives the id with a body that fails the signature and
    /// differs can mark it Denied (altered in flight) instead of only dropping it. "" from older senders.</summary>
    public string CommandHash { get; init; } = "";
    /// <summary>Streaming methods: the last output chunk (number <see cref="Chunks"/>) when the node wrote this final
    /// record before that chunk was confirmed stored. It travels here so that no reader waits on the stream for it; the
    /// chunks before it are in the stream. Null otherwise.</summary>
    public StewardChunk? LastChunk { get; init; }

    /// <summary><see cref="LastChunk"/> when it is this record's own last chunk (its id, node and number); else null.</summary>
    public StewardChunk? CarriedChunk() =>
        LastChunk is { } c && c.Sequence == Chunks && c.MessageId == MessageId && c.Node == Node ? c : null;

    /// <summary>The Queued record of <paramref name="c"/> as its sender stores it, from the command (its timeouts as the
    /// wire carries them, in whole milliseconds) and the reply method's timeout, which the command does not carry. The
    /// sender builds its record with this, and a node given the record's revision (<see cref="StewardQueuedHint"/>)
    /// rebuilds the same record instead of reading it.</summary>
    public static StewardRecord Queued(StewardCommand c, string commandHash, TimeSpan? replyMethodTimeout)
    {
        var created = new DateTimeOffset(DateTime.UnixEpoch.Ticks + c.Time / 100, TimeSpan.Zero);
        var window = TimeSpan.FromMilliseconds((long)c.AckTimeout.TotalMilliseconds) * (c.Retries + 1);
        return new StewardRecord
        {
            MessageId = c.MessageId, Node = c.Node, Method = c.Method, Sender = c.Sender, Status = StewardStatus.Queued,
            Created = created, Updated = created, Expires = created + window,
            ReplyMethod = c.ReplyMethod, ReplyArgs = c.ReplyArgs, Directory = c.Directory, FileName = c.FileName,
            ReplyMethodTimeout = replyMethodTimeout, ReplyByAgent = c.ReplyByAgent, CommandHash = commandHash,
        };
    }
}

/// <summary>One line of a streaming method's output: published on <c>&lt;stream&gt;.out.&lt;id&gt;</c>, numbered from 1,
/// signed by the node (<see cref="Domain"/>).</summary>
public sealed record StewardChunk
{
    public static readonly SignatureDomain Domain = new("steward-output");

    public required string MessageId { get; init; }
    public required string Node { get; init; }
    public required long Sequence { get; init; }
    public required string Line { get; init; }
    public required DateTimeOffset Time { get; init; }
}

/// <summary>A node's presence in the node registry (<c>steward.nodes_bucket</c>), written by its own agent when it
/// starts and every <see cref="Interval"/>, signed by the node (<see cref="Domain"/>). A node is online while its last
/// record is younger than three of its own intervals.</summary>
public sealed record StewardNodeRecord
{
    public static readonly SignatureDomain Domain = new("steward-node");

    public required string Name { get; init; }
    public required string PublicKey { get; init; }
    public string Version { get; init; } = "";
    public string OS { get; init; } = "";
    /// <summary>The RemoteOps module's version the agent runs in ("" outside the module).</summary>
    public string ModuleVersion { get; init; } = "";
    /// <summary>The OS architecture (X64, Arm64, ...).</summary>
    public string Architecture { get; init; } = "";
    /// <summary>The methods served and who may call them (peer destinations or '*').</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Methods { get; init; } = new Dictionary<string, IReadOnlyList<string>>();
    public required DateTimeOffset Started { get; init; }
    public required DateTimeOffset LastSeen { get; init; }
    public required TimeSpan Interval { get; init; }
    public DateTimeOffset? LastCommand { get; init; }

    public bool IsOnline(DateTimeOffset now) => now - LastSeen <= Interval * 3;
}
