using RemoteOps.Messaging;
namespace RemoteOps.Steward;

/// <summary>Every NATS name steward uses, derived from the config's <c>steward.stream</c> and
/// <c>steward.results_bucket</c>, so two fleets on one server never meet.
/// <list type="bullet">
/// <item>Commands: <c>&lt;stream&gt;.cmd.&lt;node&gt;</c> in the stream <c>&lt;stream&gt;</c> (the durable queue, one subject
/// per node; a node name's dots are subject tokens).</item>
/// <item>Output chunks of streaming methods: <c>&lt;stream&gt;.out.&lt;message id&gt;</c>, in the same stream.</item>
/// <item>The central error log: <c>&lt;stream&gt;.errors</c>, in the same stream, published by central.</item>
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
    /// <summary>The central error log, as central publishes it (signed records, kept in the stream).</summary>
    public string Errors => $"{Stream}.errors";
    /// <summary>Core NATS (not kept): "the reply of this message id is in the bucket", to the node agent of the sender
    /// of a -NoWait message, which runs its reply method.</summary>
    public string ReplyNotice(string senderNode) => $"{Stream}.reply.{senderNode}";

    /// <summary>A durable consumer name for a node, distinct per node and valid for any destination (consumer names may
    /// not hold '.', '*', '>', '/', '\\' or white space, and the server keeps them as directory names, so at most 255
    /// characters). The common name, dot-separated segments of letters, digits and '-', reads as it is with '_' for
    /// each dot (<c>com.acme.web1</c> → <c>node_com_acme_web1</c>), so a permissions file can name it. Any other name
    /// is "node__x" and the hex of its UTF-8 bytes, or, when that would be too long, "node__h" and its SHA-256: a plain
    /// name never gives "__" (no empty segment), so the two kinds never meet.</summary>
    public static string ConsumerName(string node)
    {
        ArgumentException.ThrowIfNullOrEmpty(node);
        if (node.Length <= MaxPlainNodeLength && IsPlainNodeName(node)) return "node_" + node.Replace('.', '_');
        var bytes = System.Text.Encoding.UTF8.GetBytes(node);
        return bytes.Length * 2 <= MaxPlainNodeLength
            ? "node__x" + Convert.ToHexStringLower(bytes)
            : "node__h" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
    }

    /// <summary>Longest node name (or hex of one) kept readable in a consumer name: with the prefix, well under 255.</summary>
    private const int MaxPlainNodeLength = 200;

    private static bool IsPlainNodeName(string node) =>
        node.Split('.').All(s => s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-'));

    /// <summary>A node name that is also safe as subject tokens: a destination without wildcards (shared rule), and no
    /// '>' either, which a NATS subject reads as "every further token": a node named <c>com.acme.&gt;</c> would pull every
    /// com.acme node's commands.</summary>
    public static bool TryValidateNode(string? name, out string problem)
    {
        if (!DestinationPattern.TryValidateName(name, out problem)) return false;
        if (name!.Contains('>')) { problem = "a node's name cannot contain '>' (a NATS wildcard)."; return false; }
        return true;
    }

    /// <summary>Message ids are key-value keys and subject tokens: letters, digits, '-' and '_' only, 1–128 characters.</summary>
    public static bool IsMessageId(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= StewardCodec.MaxIdLength && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>A new message id: sortable by creation time (a Version 7 GUID, 32 hex digits).</summary>
    public static string NewMessageId() => Guid.CreateVersion7().ToString("N");
}
