using RemoteOps.Messaging;

namespace RemoteOps.Steward;

/// <summary>Every NATS name steward uses, derived from the config's <c>steward.stream</c> and
/// <c>steward.results_bucket</c>, so two fleets on one server never meet.
/// <list type="bullet">
/// <item>Commands: <c>&lt;stream&gt;.cmd.&lt;node&gt;</c> in the stream <c>&lt;stream&gt;</c> (the durable queue, one subject
/// per node; a node name's dots are subject tokens).</item>
/// <item>Output chunks of streaming methods: <c>&lt;stream&gt;.out.&lt;message id&gt;</c>, in the same stream.</item>
/// <item>Each node's durable consumer: <see cref="ConsumerName"/>.</item>
/// <item>Status and results: the key-value bucket <c>results_bucket</c>, keyed by message id.</item>
/// <item>The node registry: the key-value bucket <c>nodes_bucket</c>, a key per node.</item>
/// </list></summary>
public sealed record StewardSubjects(string Stream, string ResultsBucket, string NodesBucket)
{
    public static StewardSubjects For(StewardConfig section) => new(section.Stream, section.ResultsBucket, section.NodesBucket);

    public string Command(string node) => $"{Stream}.cmd.{node}";
    public string AllCommands => $"{Stream}.cmd.>";
    public string Output(string messageId) => $"{Stream}.out.{messageId}";
    public string AllOutput => $"{Stream}.out.>";

    /// <summary>A durable consumer name for a node: consumer names may not hold dots, so the name is key-token escaped
    /// (dots become "_2e"-free hex when needed) and always distinct per node.</summary>
    public static string ConsumerName(string node) =>
        "node_" + KvBuckets.KeyToken(node, t => t.All(c => char.IsAsciiLetterOrDigit(c) || c is '-'));

    /// <summary>Message ids are key-value keys and subject tokens: letters, digits, '-' and '_' only, 1–128 characters.</summary>
    public static bool IsMessageId(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= StewardCodec.MaxIdLength && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>A new message id: sortable by creation time (a Version 7 GUID, 32 hex digits).</summary>
    public static string NewMessageId() => Guid.CreateVersion7().ToString("N");
}
