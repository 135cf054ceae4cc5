using System.Text.Json;
using RemoteOps.Messaging;

namespace RemoteOps.Steward;

/// <summary>Bad steward input (a message file, a method name): one clear message naming what is wrong and where.</summary>
public sealed class StewardArgumentException(string message) : RemoteOpsArgumentException(message);

/// <summary>The seed's <c>operation</c> object: <c>opCmd</c> ps, startProc or stopProc, and its <c>opArg</c>
/// (startProc: method and allowedNodes; stopProc: method, kind and receivingNode).</summary>
public sealed record StewardOperation
{
    public required string OpCmd { get; init; }
    public string? Method { get; init; }
    public IReadOnlyList<string> AllowedNodes { get; init; } = [];
    public string? Kind { get; init; }
    public string? ReceivingNode { get; init; }

    /// <summary>The Op method an opCmd stands for.</summary>
    public static bool TryMap(string opCmd, out StewardMethod method)
    {
        (var found, method) = opCmd.ToLowerInvariant() switch
        {
            "ps" => (true, StewardMethod.OpProcessList),
            "startproc" => (true, StewardMethod.OpProcessStart),
            "stopproc" => (true, StewardMethod.OpProcessStop),
            _ => (false, default),
        };
        return found;
    }
}

/// <summary>One message of the seed's schema, as a user writes it: every field of the seed's JSON. Timeouts are null
/// where the message leaves them to the config's defaults.</summary>
public sealed record StewardRequest
{
    public string? ToNode { get; init; }
    public IReadOnlyList<string> ToNodes { get; init; } = [];
    public required StewardMethod Method { get; init; }
    public IReadOnlyList<string> MethodArgs { get; init; } = [];
    public StewardMethod? ReplyMethod { get; init; }
    public IReadOnlyList<string> ReplyMethodArgs { get; init; } = [];
    public TimeSpan? AckTimeout { get; init; }
    public int? Retries { get; init; }
    public TimeSpan? MethodTimeout { get; init; }
    public TimeSpan? ReplyAckTimeout { get; init; }
    public int? ReplyRetries { get; init; }
    public TimeSpan? ReplyMethodTimeout { get; init; }
    public string? Directory { get; init; }
    public string? FileName { get; init; }
    public StewardOperation? Operation { get; init; }
    public IReadOnlyList<string> Data { get; init; } = [];
    /// <summary>Nobody waits for the reply (-NoWait): the node agent of the sender's destination runs the reply method.</summary>
    public bool ReplyByAgent { get; init; }
    /// <summary>The fleet governor each node waits for a slot of before running the method (field <c>governor</c>;
    /// Invoke-StewardMethod -Governor).</summary>
    public string? Governor { get; init; }

    /// <summary>toNode and toNodes together, each once, in the order given.</summary>
    public IReadOnlyList<string> Targets =>
        (ToNode is null ? ToNodes : ToNodes.Prepend(ToNode)).Distinct(StringComparer.Ordinal).ToArray();

    /// <summary>Field-by-field equality (the generated one compares lists by reference).</summary>
    public bool SameAs(StewardRequest o) =>
        ToNode == o.ToNode && ToNodes.SequenceEqual(o.ToNodes) && Method == o.Method && MethodArgs.SequenceEqual(o.MethodArgs)
        && ReplyMethod == o.ReplyMethod && ReplyMethodArgs.SequenceEqual(o.ReplyMethodArgs) && AckTimeout == o.AckTimeout
        && Retries == o.Retries && MethodTimeout == o.MethodTimeout && ReplyAckTimeout == o.ReplyAckTimeout
        && ReplyRetries == o.ReplyRetries && ReplyMethodTimeout == o.ReplyMethodTimeout && Directory == o.Directory
        && FileName == o.FileName && Data.SequenceEqual(o.Data) && Governor == o.Governor
        && (Operation is null ? o.Operation is null : o.Operation is not null && Operation.OpCmd == o.Operation.OpCmd
            && Operation.Method == o.Operation.Method && Operation.AllowedNodes.SequenceEqual(o.Operation.AllowedNodes)
            && Operation.Kind == o.Operation.Kind && Operation.ReceivingNode == o.Operation.ReceivingNode);
}

/// <summary>Reads the seed's message files as they are: one object or an array of them; field names case-insensitive
/// (so the seed's <c>replyMethodTimeOut</c> is <c>replyMethodTimeout</c>); timeouts as integer seconds or durations
/// ('5s'); REQ-prefixed method names; <c>REQOpCommand</c> with an operation. Anything else is a
/// <see cref="StewardArgumentException"/> naming the message and the field, never another exception.</summary>
public static class StewardRequestParser
{
    /// <summary>More messages than this in one file is a mistake, not a batch.</summary>
    public const int MaxMessages = 10_000;
    /// <summary>16 MiB of JSON: far above 10,000 ordinary messages.</summary>
    public const int MaxJsonBytes = 16 * 1024 * 1024;
    /// <summary>Arguments per list and characters per string: a command line, not a payload.</summary>
    public const int MaxListItems = 1_000;
    public const int MaxStringLength = 64 * 1024;
    /// <summary>Bounds of the per-message values, as the config's (see <see cref="StewardConfigReader"/>).</summary>
    public const int MaxTimeoutSeconds = 24 * 3600;

    public static IReadOnlyList<StewardRequest> Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (json.Length > MaxJsonBytes) throw new StewardArgumentException($"The message text is {json.Length} characters; at most {MaxJsonBytes} are read.");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16, AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new StewardArgumentException($"The messages are not valid JSON: {e.Message}");
        }
        catch (ArgumentException e)
        {
            // Text that is not valid UTF-16 (a lone surrogate) cannot even be read as JSON.
            throw new StewardArgumentException($"The messages are not valid text: {e.Message}");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object) return [Guarded(root, 0)];
            if (root.ValueKind != JsonValueKind.Array)
                throw new StewardArgumentException($"The messages must be a JSON object or an array of objects, not {Kind(root)}.");
            var count = root.GetArrayLength();
            if (count > MaxMessages) throw new StewardArgumentException($"{count} messages in one array; at most {MaxMessages} are accepted.");
            var list = new List<StewardRequest>(count);
            int i = 0;
            foreach (var item in root.EnumerateArray()) list.Add(Guarded(item, i++));
            return list;
        }
    }

    private static StewardRequest Guarded(JsonElement item, int index)
    {
        try
        {
            return ParseOne(item, index);
        }
        catch (InvalidOperationException e)
        {
            // A string escape that is not valid UTF-16 (a lone surrogate): JsonElement.GetString's exception.
            throw new StewardArgumentException($"Message {index}: a string is not valid text ({e.Message}).");
        }
    }

    /// <summary>One message object (e.g. from ConvertFrom-Json re-serialized); <paramref name="index"/> is for messages.</summary>
    public static StewardRequest ParseOne(JsonElement e, int index)
    {
        if (e.ValueKind != JsonValueKind.Object) throw Fail(index, null, $"expected a JSON object, not {Kind(e)}");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? toNode = null, method = null, replyMethod = null, directory = null, fileName = null, governor = null;
        IReadOnlyList<string> toNodes = [], methodArgs = [], replyArgs = [], data = [];
        TimeSpan? ack = null, methodTimeout = null, replyAck = null, replyMethodTimeout = null;
        int? retries = null, replyRetries = null;
        StewardOperation? operation = null;
        foreach (var p in e.EnumerateObject())
        {
            var field = p.Name.ToLowerInvariant();
            if (!seen.Add(field)) throw Fail(index, p.Name, "is given twice (field names are case-insensitive)");
            var v = p.Value;
            switch (field)
            {
                case "tonode": toNode = Node(v, index, p.Name); break;
                case "tonodes": toNodes = Strings(v, index, p.Name).Select(n => CheckNode(n, index, p.Name)).ToArray(); break;
                case "method": method = Text(v, index, p.Name); break;
                case "methodargs": methodArgs = Strings(v, index, p.Name); break;
                case "replymethod": replyMethod = Text(v, index, p.Name); break;
                case "replymethodargs": replyArgs = Strings(v, index, p.Name); break;
                case "acktimeout": ack = Timeout(v, index, p.Name); break;
                case "retries": retries = Count(v, index, p.Name); break;
                case "methodtimeout": methodTimeout = Timeout(v, index, p.Name); break;
                case "replyacktimeout": replyAck = Timeout(v, index, p.Name); break;
                case "replyretries": replyRetries = Count(v, index, p.Name); break;
                case "replymethodtimeout": replyMethodTimeout = Timeout(v, index, p.Name); break;
                case "directory": directory = Text(v, index, p.Name); break;
                case "filename": fileName = Text(v, index, p.Name); break;
                case "data": data = Strings(v, index, p.Name); break;
                case "operation": operation = Operation(v, index, p.Name); break;
                case "governor":
                    governor = Text(v, index, p.Name);
                    if (!StewardGovernors.TryValidateName(governor, out var badGovernor)) throw Fail(index, p.Name, $"'{UntrustedText.Clean(governor)}' is not a governor name: {badGovernor}");
                    break;
                default:
                    throw Fail(index, p.Name, "is not a field of a steward message; expected toNode, toNodes, method, methodArgs, replyMethod, "
                        + "replyMethodArgs, ACKTimeout, retries, methodTimeout, replyACKTimeout, replyRetries, replyMethodTimeout, directory, fileName, operation, data or governor");
            }
        }
        if (toNode is null && toNodes.Count == 0) throw Fail(index, "toNode", "is missing; give toNode or toNodes");
        if (method is null) throw Fail(index, "method", "is missing");
        StewardMethod parsed;
        if (StewardMethods.IsOpCommand(method))
        {
            if (operation is null) throw Fail(index, "operation", $"is missing; {method} needs an operation {{ \"opCmd\": \"ps\" | \"startProc\" | \"stopProc\" }}");
            StewardOperation.TryMap(operation.OpCmd, out parsed);
        }
        else if (!StewardMethods.TryParse(method, out parsed))
            throw Fail(index, "method", $"'{UntrustedText.Clean(method)}' is not a steward method; expected one of: {StewardMethods.Known} (with or without REQ), or REQOpCommand with an operation");
        StewardMethod? reply = null;
        if (replyMethod is not null)
        {
            if (!StewardMethods.TryParse(replyMethod, out var r) || !StewardMethods.ReplyMethods.Contains(r))
                throw Fail(index, "replyMethod", $"'{UntrustedText.Clean(replyMethod)}' is not a reply method; expected one of: {string.Join(", ", StewardMethods.ReplyMethods)}");
            reply = r;
        }
        // The seed's REQOpCommand carries its arguments in opArg; give them to the Op method as its methodArgs.
        if (operation is not null && methodArgs.Count == 0)
            methodArgs = parsed switch
            {
                StewardMethod.OpProcessStart when operation.Method is { } m => [m, .. operation.AllowedNodes],
                StewardMethod.OpProcessStop when operation.Method is { } m => [m, .. new[] { operation.ReceivingNode, operation.Kind }.OfType<string>()],
                _ => methodArgs,
            };
        return new StewardRequest
        {
            ToNode = toNode, ToNodes = toNodes, Method = parsed, MethodArgs = methodArgs, ReplyMethod = reply, ReplyMethodArgs = replyArgs,
            AckTimeout = ack, Retries = retries, MethodTimeout = methodTimeout, ReplyAckTimeout = replyAck, ReplyRetries = replyRetries,
            ReplyMethodTimeout = replyMethodTimeout, Directory = directory, FileName = fileName, Operation = operation, Data = data,
            Governor = governor,
        };
    }

    private static StewardOperation Operation(JsonElement v, int index, string field)
    {
        if (v.ValueKind != JsonValueKind.Object) throw Fail(index, field, $"must be an object {{ \"opCmd\": ..., \"opArg\": ... }}, not {Kind(v)}");
        string? opCmd = null, method = null, kind = null, receivingNode = null;
        IReadOnlyList<string> allowed = [];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in v.EnumerateObject())
        {
            var name = p.Name.ToLowerInvariant();
            if (!seen.Add(name)) throw Fail(index, $"{field}.{p.Name}", "is given twice");
            switch (name)
            {
                case "opcmd": opCmd = Text(p.Value, index, $"{field}.{p.Name}"); break;
                case "oparg":
                    if (p.Value.ValueKind == JsonValueKind.Null) break;
                    if (p.Value.ValueKind != JsonValueKind.Object) throw Fail(index, $"{field}.{p.Name}", $"must be an object, not {Kind(p.Value)}");
                    var argSeen = new HashSet<string>(StringComparer.Ordinal);
                    foreach (var a in p.Value.EnumerateObject())
                    {
                        var at = $"{field}.{p.Name}.{a.Name}";
                        if (!argSeen.Add(a.Name.ToLowerInvariant())) throw Fail(index, at, "is given twice");
                        switch (a.Name.ToLowerInvariant())
                        {
                            case "method":
                                var m = Text(a.Value, index, at);
                                if (!StewardMethods.TryParse(m, out var mm)) throw Fail(index, at, $"'{UntrustedText.Clean(m)}' is not a steward method; expected one of: {StewardMethods.Known}");
                                method = mm.ToString();
                                break;
                            case "allowednodes": allowed = Strings(a.Value, index, at); break;
                            case "kind": kind = Text(a.Value, index, at); break;
                            case "receivingnode": receivingNode = Node(a.Value, index, at); break;
                            default: throw Fail(index, at, "is not a field of opArg; expected method, allowedNodes, kind or receivingNode");
                        }
                    }
                    break;
                default: throw Fail(index, $"{field}.{p.Name}", "is not a field of operation; expected opCmd or opArg");
            }
        }
        if (opCmd is null) throw Fail(index, $"{field}.opCmd", "is missing; give ps, startProc or stopProc");
        if (!StewardOperation.TryMap(opCmd, out var op)) throw Fail(index, $"{field}.opCmd", $"'{UntrustedText.Clean(opCmd)}' is not an operation; expected ps, startProc or stopProc");
        if (op is StewardMethod.OpProcessStart or StewardMethod.OpProcessStop && method is null)
            throw Fail(index, $"{field}.opArg.method", $"is missing; {opCmd} names the method whose handler it acts on");
        return new StewardOperation { OpCmd = opCmd, Method = method, AllowedNodes = allowed, Kind = kind, ReceivingNode = receivingNode };
    }

    private static string Text(JsonElement v, int index, string field)
    {
        if (v.ValueKind != JsonValueKind.String) throw Fail(index, field, $"must be a string, not {Kind(v)}");
        var s = v.GetString()!;
        if (s.Length > MaxStringLength) throw Fail(index, field, $"is {s.Length} characters; at most {MaxStringLength}");
        return s;
    }

    private static string Node(JsonElement v, int index, string field) => CheckNode(Text(v, index, field), index, field);

    /// <summary>A node name or destination pattern: what the sender expands later; here only its shape.</summary>
    private static string CheckNode(string node, int index, string field)
    {
        if (node.Length == 0 || node.Length > 256 || node.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            throw Fail(index, field, $"'{UntrustedText.Clean(node)}' is not a node name (1 to 256 characters, no spaces or control characters)");
        return node;
    }

    private static IReadOnlyList<string> Strings(JsonElement v, int index, string field)
    {
        if (v.ValueKind == JsonValueKind.Null) return [];
        if (v.ValueKind != JsonValueKind.Array) throw Fail(index, field, $"must be an array of strings, not {Kind(v)}");
        var n = v.GetArrayLength();
        if (n > MaxListItems) throw Fail(index, field, $"has {n} items; at most {MaxListItems}");
        var list = new string[n];
        int i = 0;
        foreach (var item in v.EnumerateArray()) list[i] = Text(item, index, $"{field}[{i++}]");
        return list;
    }

    /// <summary>Integer seconds, as in the seed, or a duration string; 0 to a day.</summary>
    private static TimeSpan Timeout(JsonElement v, int index, string field)
    {
        TimeSpan t;
        if (v.ValueKind == JsonValueKind.Number)
        {
            if (!v.TryGetInt64(out var seconds) || seconds < 0 || seconds > MaxTimeoutSeconds)
                throw Fail(index, field, $"must be whole seconds from 0 to {MaxTimeoutSeconds}, or a duration such as '5s'");
            t = TimeSpan.FromSeconds(seconds);
        }
        else if (v.ValueKind == JsonValueKind.String)
        {
            var s = v.GetString()!;
            if (s.Length > 64 || !Config.Duration.TryParse(s, out t))
                throw Fail(index, field, $"'{UntrustedText.Clean(s)}' is not a duration (integer seconds, or e.g. '5s', '1m30s')");
            if (t < TimeSpan.Zero || t > TimeSpan.FromSeconds(MaxTimeoutSeconds))
                throw Fail(index, field, $"must be from 0 to {MaxTimeoutSeconds} seconds");
        }
        else throw Fail(index, field, $"must be integer seconds or a duration string, not {Kind(v)}");
        return t;
    }

    private static int Count(JsonElement v, int index, string field)
    {
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var n) || n < 0 || n > StewardConfigReader.MaxRetries)
            throw Fail(index, field, $"must be a whole number from 0 to {StewardConfigReader.MaxRetries}");
        return n;
    }

    private static string Kind(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    private static StewardArgumentException Fail(int index, string? field, string problem) =>
        new(field is null ? $"Message {index}: {problem}." : $"Message {index}, field '{UntrustedText.Clean(field)}': {problem}.");
}
