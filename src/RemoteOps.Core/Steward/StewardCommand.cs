using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using RemoteOps.Identity;
using RemoteOps.Messaging;

namespace RemoteOps.Steward;

/// <summary>One request for one node, as signed on the wire: <c>base58(signature) '\n' json</c>, the signature by the
/// sender over <c>"steward-command" domain + json</c>, the json bytes signed exactly as sent (no canonical form).</summary>
public sealed record StewardCommand : ISignedMessage
{
    public required string MessageId { get; init; }
    /// <summary>The sender's public key, base58.</summary>
    public string Sender { get; init; } = "";
    public required string Node { get; init; }
    public required StewardMethod Method { get; init; }
    public IReadOnlyList<string> Args { get; init; } = [];
    public StewardMethod? ReplyMethod { get; init; }
    public IReadOnlyList<string> ReplyArgs { get; init; } = [];
    public TimeSpan AckTimeout { get; init; }
    public int Retries { get; init; }
    public TimeSpan MethodTimeout { get; init; }
    public string? Directory { get; init; }
    public string? FileName { get; init; }
    /// <summary>The reply method runs on the node agent of the sender's destination (the message was sent with -NoWait,
    /// so no session waits for it). On the wire only when true.</summary>
    public bool ReplyByAgent { get; init; }
    /// <summary>The fleet governor the node waits for a slot of before running the method (Invoke-StewardMethod
    /// -Governor). On the wire only when set; an agent that predates it drops such a message as unknown, never runs it
    /// ungoverned.</summary>
    public string? Governor { get; init; }
    /// <summary>When it was signed, unix nanoseconds.</summary>
    public long Time { get; init; }

    // What decoding adds: the signature and the bytes it covers.
    public byte[] Signature { get; init; } = [];
    public byte[] Json { get; init; } = [];
    public byte[] Hash { get; init; } = [];
    public int Length { get; init; }

    string ISignedMessage.SenderBase58 => Sender;
    public byte[] SenderKey { get; init; } = [];
    ReadOnlySpan<byte> ISignedMessage.SignedBytes => Json;
    /// <summary>The trust-store scope the sender must hold.</summary>
    string ISignedMessage.Action => StewardMethods.TrustScope(Method);
    long ISignedMessage.TimeNanos => Time;
    int ISignedMessage.PayloadBytes => Length;

    /// <summary>Same request, ignoring what decoding adds.</summary>
    public bool SameContent(StewardCommand o) =>
        MessageId == o.MessageId && Sender == o.Sender && Node == o.Node && Method == o.Method && Args.SequenceEqual(o.Args)
        && ReplyMethod == o.ReplyMethod && ReplyArgs.SequenceEqual(o.ReplyArgs) && AckTimeout == o.AckTimeout && Retries == o.Retries
        && MethodTimeout == o.MethodTimeout && Directory == o.Directory && FileName == o.FileName && Time == o.Time && ReplyByAgent == o.ReplyByAgent
        && Governor == o.Governor;
}

/// <summary>Encodes and decodes <see cref="StewardCommand"/>s; the envelope verifier judges them.</summary>
public sealed class StewardCodec : IEnvelopeCodec<StewardCommand>
{
    public static readonly StewardCodec Instance = new();
    /// <summary>Steward command signatures are made for this purpose only: never valid as a seaport entry or a remaphore latch.</summary>
    public static readonly SignatureDomain CommandDomain = new("steward-command");
    public SignatureDomain? Domain => CommandDomain;

    /// <summary>A base58 Ed25519 signature is at most 88 characters.</summary>
    private const int MaxSignatureLine = 100;
    /// <summary>Wire limits: what a message may carry (the server's max payload bounds it further).</summary>
    public const int MaxWireBytes = 8 * 1024 * 1024;
    public const int MaxIdLength = 128;
    public const long MaxMillis = 24L * 3600 * 1000;

    public static byte[] Encode(StewardCommand command, SigningKey key)
    {
        var json = WriteJson(command with { Sender = key.PublicBase58 });
        var signature = key.Sign(CommandDomain, json);
        return [.. Encoding.ASCII.GetBytes(Base58.Encode(signature) + "\n"), .. json];
    }

    /// <summary>Never throws: a command, or false with the problem.</summary>
    public bool TryDecode(byte[] raw, byte[] hash, out StewardCommand message, out string problem)
    {
        message = null!;
        if (raw.Length == 0) { problem = "empty message"; return false; }
        if (raw.Length > MaxWireBytes) { problem = $"message of {raw.Length} bytes (more than {MaxWireBytes})"; return false; }
        var nl = Array.IndexOf(raw, (byte)'\n');
        if (nl <= 0 || nl > MaxSignatureLine) { problem = "not signed (no signature line)"; return false; }
        if (!Base58.TryDecode(raw.AsSpan(0, nl), out var signature) || signature.Length != 64) { problem = "the first line is not a base58 Ed25519 signature"; return false; }
        var json = raw[(nl + 1)..];
        try
        {
            var command = ReadJson(json, out problem);
            if (command is null) return false;
            if (!SigningKey.TryDecodePublic(command.Sender, out var senderKey)) { problem = "the sender is not a base58 Ed25519 public key"; return false; }
            message = command with { Signature = signature, Json = json, Hash = hash, Length = raw.Length, SenderKey = senderKey };
            return true;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or ArgumentException)
        {
            problem = $"corrupt command ({e.Message})";
            return false;
        }
    }

    public bool TryDecode(byte[] raw, out StewardCommand message, out string problem) => TryDecode(raw, SHA256.HashData(raw), out message, out problem);

    private static byte[] WriteJson(StewardCommand c)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("id", c.MessageId);
            w.WriteString("sender", c.Sender);
            w.WriteString("node", c.Node);
            w.WriteString("method", c.Method.ToString());
            WriteList(w, "args", c.Args);
            if (c.ReplyMethod is { } reply) w.WriteString("replyMethod", reply.ToString()); else w.WriteNull("replyMethod");
            WriteList(w, "replyArgs", c.ReplyArgs);
            w.WriteNumber("ackTimeoutMs", (long)c.AckTimeout.TotalMilliseconds);
            w.WriteNumber("retries", c.Retries);
            w.WriteNumber("methodTimeoutMs", (long)c.MethodTimeout.TotalMilliseconds);
            w.WriteString("directory", c.Directory);
            w.WriteString("fileName", c.FileName);
            w.WriteNumber("time", c.Time);
            if (c.ReplyByAgent) w.WriteBoolean("replyByAgent", true);
            if (c.Governor is not null) w.WriteString("governor", c.Governor);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteList(Utf8JsonWriter w, string name, IReadOnlyList<string> items)
    {
        w.WriteStartArray(name);
        foreach (var s in items) w.WriteStringValue(s);
        w.WriteEndArray();
    }

    private static readonly string[] Fields = ["id", "sender", "node", "method", "args", "replyMethod", "replyArgs", "ackTimeoutMs", "retries", "methodTimeoutMs", "directory", "fileName", "time"];

    private static StewardCommand? ReadJson(byte[] json, out string problem)
    {
        problem = "";
        using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 4 });
        var r = doc.RootElement;
        if (r.ValueKind != JsonValueKind.Object) { problem = "not a JSON object"; return null; }
        int count = 0, optional = 0;
        bool replyByAgent = false;
        string? governor = null;
        foreach (var p in r.EnumerateObject())
        {
            if (p.Name == "governor")
            {
                if (governor is not null) { problem = "a field is missing or given twice"; return null; }
                if (p.Value.ValueKind != JsonValueKind.String || !StewardGovernors.TryValidateName(p.Value.GetString(), out _))
                { problem = "governor, when given, is a governor name"; return null; }
                governor = p.Value.GetString();
                continue;
            }
            if (p.Name == "replyByAgent")
            {
                if (p.Value.ValueKind != JsonValueKind.True) { problem = "replyByAgent, when given, is true"; return null; }
                replyByAgent = true; optional++;
                continue;
            }
            if (!Fields.Contains(p.Name)) { problem = $"unknown field '{UntrustedText.Clean(p.Name)}'"; return null; }
            count++;
        }
        if (count != Fields.Length || optional > 1) { problem = "a field is missing or given twice"; return null; }
        if (!Text(r, "id", out var id) || id.Length is 0 or > MaxIdLength) { problem = "id missing or not 1-128 characters"; return null; }
        if (!Text(r, "sender", out var sender) || sender.Length > 64) { problem = "sender missing or not a key"; return null; }
        if (!Text(r, "node", out var node) || !StewardSubjects.TryValidateNode(node, out _)) { problem = "node missing or not a destination"; return null; }
        if (!Text(r, "method", out var methodName) || !Enum.TryParse<StewardMethod>(methodName, false, out var method) || !Enum.IsDefined(method) || methodName != method.ToString())
        { problem = "method missing or not a steward method"; return null; }
        StewardMethod? reply = null;
        var replyElement = r.GetProperty("replyMethod");
        if (replyElement.ValueKind != JsonValueKind.Null)
        {
            if (replyElement.ValueKind != JsonValueKind.String || !Enum.TryParse<StewardMethod>(replyElement.GetString(), false, out var rm)
                || !Enum.IsDefined(rm) || replyElement.GetString() != rm.ToString())
            { problem = "replyMethod not a steward method"; return null; }
            reply = rm;
        }
        if (!List(r, "args", out var args) || !List(r, "replyArgs", out var replyArgs)) { problem = "args or replyArgs not a list of strings"; return null; }
        if (!Number(r, "ackTimeoutMs", 0, MaxMillis, out var ack) || !Number(r, "methodTimeoutMs", 0, MaxMillis, out var methodTimeout)
            || !Number(r, "retries", 0, StewardConfigReader.MaxRetries, out var retries) || !Number(r, "time", long.MinValue, long.MaxValue, out var time))
        { problem = $"ackTimeoutMs, methodTimeoutMs (0-{MaxMillis}), retries (0-{StewardConfigReader.MaxRetries}) or time missing or out of range"; return null; }
        if (!OptionalText(r, "directory", out var directory) || !OptionalText(r, "fileName", out var fileName)) { problem = "directory or fileName not a string"; return null; }
        return new StewardCommand
        {
            MessageId = id, Sender = sender, Node = node, Method = method, Args = args, ReplyMethod = reply, ReplyArgs = replyArgs,
            AckTimeout = TimeSpan.FromMilliseconds(ack), Retries = (int)retries, MethodTimeout = TimeSpan.FromMilliseconds(methodTimeout),
            Directory = directory, FileName = fileName, Time = time, ReplyByAgent = replyByAgent, Governor = governor,
        };
    }

    private static bool Text(JsonElement r, string name, out string value)
    {
        value = "";
        if (!r.TryGetProperty(name, out var e) || e.ValueKind != JsonValueKind.String) return false;
        value = e.GetString()!;
        return true;
    }

    private static bool OptionalText(JsonElement r, string name, out string? value)
    {
        value = null;
        var e = r.GetProperty(name);
        if (e.ValueKind == JsonValueKind.Null) return true;
        if (e.ValueKind != JsonValueKind.String) return false;
        value = e.GetString();
        return true;
    }

    private static bool List(JsonElement r, string name, out IReadOnlyList<string> value)
    {
        value = [];
        var e = r.GetProperty(name);
        if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() > StewardRequestParser.MaxListItems) return false;
        var list = new List<string>();
        foreach (var item in e.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String) return false;
            list.Add(item.GetString()!);
        }
        value = list;
        return true;
    }

    private static bool Number(JsonElement r, string name, long min, long max, out long value)
    {
        value = 0;
        return r.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out value) && value >= min && value <= max;
    }
}
