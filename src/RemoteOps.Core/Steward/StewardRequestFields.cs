using System.Text.Json;
using System.Text.Json.Nodes;
using RemoteOps.Config;

namespace RemoteOps.Steward;

/// <summary>A message given field by field (Invoke-StewardMethod's parameters, bound from the pipeline or typed), read by
/// the same parser as the seed's JSON files, so both take exactly the same input and give the same errors.</summary>
public sealed record StewardRequestFields
{
    public IReadOnlyList<string> ToNodes { get; init; } = [];
    public string? Method { get; init; }
    public IReadOnlyList<string>? MethodArgs { get; init; }
    public string? ReplyMethod { get; init; }
    public IReadOnlyList<string>? ReplyMethodArgs { get; init; }
    public TimeSpan? AckTimeout { get; init; }
    public int? Retries { get; init; }
    public TimeSpan? MethodTimeout { get; init; }
    public TimeSpan? ReplyAckTimeout { get; init; }
    public int? ReplyRetries { get; init; }
    public TimeSpan? ReplyMethodTimeout { get; init; }
    public string? Directory { get; init; }
    public string? FileName { get; init; }
    /// <summary>The seed's operation object as JSON (the cmdlet converts what ConvertFrom-Json gave it).</summary>
    public string? OperationJson { get; init; }
    /// <summary>Invoke-StewardMethod -Governor.</summary>
    public string? Governor { get; init; }

    /// <summary>The request, or a <see cref="StewardArgumentException"/> naming the field.</summary>
    public StewardRequest ToRequest()
    {
        var o = new JsonObject();
        if (ToNodes.Count > 0) o["toNodes"] = new JsonArray(ToNodes.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray());
        if (Method is not null) o["method"] = Method;
        if (MethodArgs is not null) o["methodArgs"] = Strings(MethodArgs);
        if (ReplyMethod is not null) o["replyMethod"] = ReplyMethod;
        if (ReplyMethodArgs is not null) o["replyMethodArgs"] = Strings(ReplyMethodArgs);
        Time(o, "ACKTimeout", AckTimeout);
        if (Retries is { } r) o["retries"] = r;
        Time(o, "methodTimeout", MethodTimeout);
        Time(o, "replyACKTimeout", ReplyAckTimeout);
        if (ReplyRetries is { } rr) o["replyRetries"] = rr;
        Time(o, "replyMethodTimeout", ReplyMethodTimeout);
        if (Directory is not null) o["directory"] = Directory;
        if (FileName is not null) o["fileName"] = FileName;
        if (Governor is not null) o["governor"] = Governor;
        if (OperationJson is not null)
        {
            try { o["operation"] = JsonNode.Parse(OperationJson, documentOptions: new JsonDocumentOptions { MaxDepth = 8 }); }
            catch (JsonException e) { throw new StewardArgumentException($"The operation is not a JSON object: {e.Message}"); }
        }
        using var doc = JsonDocument.Parse(o.ToJsonString());
        try
        {
            return StewardRequestParser.ParseOne(doc.RootElement, 0);
        }
        catch (InvalidOperationException e)
        {
            throw new StewardArgumentException($"A string is not valid text ({e.Message}).");
        }
        catch (StewardArgumentException e) when (e.Message.StartsWith(OneMessage, StringComparison.Ordinal))
        {
            // There is one message here, the cmdlet's: "field 'method': ..." says it all.
            var rest = e.Message[OneMessage.Length..];
            throw new StewardArgumentException(char.ToUpperInvariant(rest[0]) + rest[1..]);
        }
    }

    private const string OneMessage = "Message 0, ";

    private static JsonArray Strings(IReadOnlyList<string> items) => new(items.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray());

    // A duration as the parser reads it; Duration.Format round-trips every non-negative value exactly.
    private static void Time(JsonObject o, string name, TimeSpan? t)
    {
        if (t is { } value) o[name] = value < TimeSpan.Zero ? "-1s" : Duration.Format(value);
    }
}
