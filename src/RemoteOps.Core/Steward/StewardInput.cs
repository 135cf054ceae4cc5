using System.Buffers;
using System.Net;
using System.Text;
using System.Text.Json;
using RemoteOps.Messaging;

namespace RemoteOps.Steward;

/// <summary>A listener's <c>host:port</c> (<c>steward.tcp_listener</c>, <c>steward.http_listener</c>): an IP address
/// (IPv6 in brackets), <c>localhost</c>, or an empty host or <c>*</c> for every interface (the seed's <c>:2112</c>).</summary>
public readonly record struct StewardInputEndpoint(string Host, int Port)
{
    /// <summary>Every interface: the host was empty, *, 0.0.0.0 or [::].</summary>
    public bool IsAny => Host is "" or "*" or "0.0.0.0" or "::";

    /// <summary>Only this machine can connect.</summary>
    public bool IsLoopback => Host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || IPAddress.TryParse(Host, out var ip) && IPAddress.IsLoopback(ip);

    /// <summary>The address a socket binds (localhost: 127.0.0.1).</summary>
    public IPAddress Address => IsAny ? IPAddress.IPv6Any
        : Host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback : IPAddress.Parse(Host);

    public override string ToString() => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    public static bool TryParse(string? text, bool allowPortZero, out StewardInputEndpoint endpoint, out string problem)
    {
        endpoint = default;
        problem = "";
        if (string.IsNullOrWhiteSpace(text) || text.Length > 300) { problem = "expected host:port, e.g. 127.0.0.1:8090."; return false; }
        var colon = text.LastIndexOf(':');
        if (colon < 0) { problem = $"'{UntrustedText.Clean(text)}' has no port; expected host:port, e.g. 127.0.0.1:8090."; return false; }
        var host = text[..colon];
        var portText = text[(colon + 1)..];
        if (host.StartsWith('[') && host.EndsWith(']')) host = host[1..^1];
        else if (host.Contains(':')) { problem = $"'{UntrustedText.Clean(text)}': write an IPv6 address in brackets, e.g. [::1]:8090."; return false; }
        if (!int.TryParse(portText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port)
            || port > 65535 || port == 0 && !allowPortZero)
        {
            problem = $"'{UntrustedText.Clean(portText)}' is not a port (1 to 65535{(allowPortZero ? ", or 0 for any free port" : "")}).";
            return false;
        }
        if (host is not ("" or "*" or "localhost") && !IPAddress.TryParse(host, out _))
        {
            problem = $"'{UntrustedText.Clean(host)}' is not an IP address; give an address (127.0.0.1, [::1], 0.0.0.0), localhost, or * for every interface.";
            return false;
        }
        endpoint = new StewardInputEndpoint(host, port);
        return true;
    }
}

/// <summary>What went wrong with an input document, as its error line names it (a stable code).</summary>
public enum StewardInputError
{
    /// <summary>Not JSON (or not UTF-8), or cut off before its end.</summary>
    InvalidJson,
    /// <summary>JSON, but not steward messages: an unknown field, a field of the wrong type, an unknown method (the parser's message names it).</summary>
    InvalidMessage,
    /// <summary>More than <see cref="StewardInputReader.MaxMessages"/> messages in one document.</summary>
    TooManyMessages,
    /// <summary>More than <see cref="StewardInputReader.MaxDocumentBytes"/> bytes.</summary>
    TooLarge,
    /// <summary>Nothing but white space before the connection closed.</summary>
    Empty,
    /// <summary>More data after the document (one document per connection or request).</summary>
    ExtraData,
    /// <summary>Nothing complete arrived within <see cref="StewardInputReader.ReadTimeout"/>.</summary>
    ReadTimeout,
    /// <summary>A pattern matched no live node: nothing was sent for it.</summary>
    NoLiveNode,
    /// <summary>NATS or JetStream failed: the message was not queued.</summary>
    Unavailable,
    /// <summary>Too many connections at once: try again.</summary>
    Busy,
    /// <summary>HTTP only: not a POST.</summary>
    MethodNotAllowed,
}

/// <summary>A document that cannot be taken: its code and a message saying what is wrong.</summary>
public sealed class StewardInputException(StewardInputError error, string message) : Exception(message)
{
    public StewardInputError Error { get; } = error;
}

/// <summary>The input API's framing: one JSON document (an object, or an array of the seed's messages) per connection or
/// request, read until its last bracket, so <c>nc -U steward.sock &lt; msg.json</c> needs no end-of-input (netcat keeps
/// its side open). Bounded in size, messages and time.</summary>
public static class StewardInputReader
{
    /// <summary>1 MiB: some thousand ordinary messages; a larger document is a mistake, not a batch.</summary>
    public const int MaxDocumentBytes = 1024 * 1024;
    /// <summary>Messages in one document (each may go to many nodes).</summary>
    public const int MaxMessages = 1000;
    /// <summary>A connection that has not sent its whole document in this time is answered with ReadTimeout and closed.</summary>
    public static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(30);

    private static readonly JsonReaderOptions ReaderOptions = new() { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip, MaxDepth = 16 };

    /// <summary>Reads one document from <paramref name="stream"/>: its bytes, up to its last bracket (or, for a document
    /// that is a bare value, until the stream ends). Throws <see cref="StewardInputException"/> for malformed JSON, a
    /// document over <paramref name="maxBytes"/>, data after the document, or an empty stream.</summary>
    public static async Task<byte[]> ReadDocumentAsync(Stream stream, int maxBytes, CancellationToken ct)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        var state = new JsonReaderState(ReaderOptions);
        int scanned = 0;
        long end = -1;
        var chunk = new byte[16 * 1024];
        while (true)
        {
            var n = await stream.ReadAsync(chunk, ct).ConfigureAwait(false);
            if (n == 0) break;
            if (buffer.WrittenCount + n > maxBytes)
                throw new StewardInputException(StewardInputError.TooLarge, $"The document is larger than {maxBytes} bytes; send fewer messages at once.");
            buffer.Write(chunk.AsSpan(0, n));
            if (end < 0)
            {
                end = Scan(buffer.WrittenSpan, ref scanned, ref state, isFinal: false);
                if (end >= 0) return Finish(buffer.WrittenSpan, (int)end, checkTrailing: false);
            }
        }
        end = Scan(buffer.WrittenSpan, ref scanned, ref state, isFinal: true);
        return Finish(buffer.WrittenSpan, end < 0 ? buffer.WrittenCount : (int)end, checkTrailing: true);
    }

    /// <summary>The document in <paramref name="bytes"/> as a whole (an HTTP body): the same checks as a stream.</summary>
    public static byte[] ReadDocument(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > MaxDocumentBytes)
            throw new StewardInputException(StewardInputError.TooLarge, $"The document is larger than {MaxDocumentBytes} bytes; send fewer messages at once.");
        var state = new JsonReaderState(ReaderOptions);
        int scanned = 0;
        var end = Scan(bytes, ref scanned, ref state, isFinal: true);
        return Finish(bytes, end < 0 ? bytes.Length : (int)end, checkTrailing: true);
    }

    /// <summary>Reads tokens from <paramref name="scanned"/> on; the end offset of the top-level value once it is
    /// complete, else -1 (more bytes needed).</summary>
    private static long Scan(ReadOnlySpan<byte> data, ref int scanned, ref JsonReaderState state, bool isFinal)
    {
        var bom = data.StartsWith("\uFEFF"u8) ? 3 : 0;
        if (scanned < bom) scanned = bom;
        if (isFinal && IsBlank(data[bom..])) return -1;
        var reader = new Utf8JsonReader(data[scanned..], isFinal, state);
        try
        {
            while (reader.Read())
            {
                if (reader.CurrentDepth == 0 && reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
                    return scanned + reader.BytesConsumed;
            }
        }
        catch (JsonException e)
        {
            throw new StewardInputException(StewardInputError.InvalidJson, $"The messages are not valid JSON: {Describe(e)}");
        }
        scanned += (int)reader.BytesConsumed;
        state = reader.CurrentState;
        return -1;
    }

    private static string Describe(JsonException e) =>
        // The reader's positions are relative to where it restarted: say the line only when it is the whole text's.
        UntrustedText.Clean(e.Message);

    /// <summary>The document's bytes. <paramref name="checkTrailing"/>: the input has ended, so what follows the
    /// document is all there is and is refused; a stream's document ends at its last bracket, and what comes after it on
    /// the connection is dropped.</summary>
    private static byte[] Finish(ReadOnlySpan<byte> data, int end, bool checkTrailing)
    {
        var start = data.StartsWith("\uFEFF"u8) ? 3 : 0;
        if (IsBlank(data[start..end]))
            throw new StewardInputException(StewardInputError.Empty, "No messages: the input was empty.");
        if (checkTrailing && !IsBlank(data[end..]))
            throw new StewardInputException(StewardInputError.ExtraData, "More data after the first JSON document: send one object or one array of messages per connection.");
        return data[start..end].ToArray();
    }

    private static bool IsBlank(ReadOnlySpan<byte> data)
    {
        foreach (var b in data)
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')) return false;
        return true;
    }

    /// <summary>The messages of a document: at most <see cref="MaxMessages"/>, each parsed as Invoke-StewardMethod's
    /// -Path files are (<see cref="StewardRequestParser"/>). Throws <see cref="StewardInputException"/>.</summary>
    public static IReadOnlyList<StewardRequest> Parse(byte[] document)
    {
        string text;
        try { text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(document); }
        catch (DecoderFallbackException) { throw new StewardInputException(StewardInputError.InvalidJson, "The messages are not valid UTF-8."); }
        try
        {
            using (var doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 16, AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip }))
                if (doc.RootElement.ValueKind == JsonValueKind.Array && doc.RootElement.GetArrayLength() is var count && count > MaxMessages)
                    throw new StewardInputException(StewardInputError.TooManyMessages, $"{count} messages in one document; at most {MaxMessages} are taken at once. Nothing was sent.");
        }
        catch (JsonException e) { throw new StewardInputException(StewardInputError.InvalidJson, $"The messages are not valid JSON: {UntrustedText.Clean(e.Message)}"); }
        try { return StewardRequestParser.Parse(text); }
        catch (StewardArgumentException e) { throw new StewardInputException(StewardInputError.InvalidMessage, e.Message + " Nothing was sent."); }
    }
}

/// <summary>One line of the input API's answer, as JSON: per queued message and node, its id and status; or an error
/// with its code (<see cref="StewardInputError"/>), the message index where there is one, and what is wrong.</summary>
public sealed record StewardInputReply
{
    public int? Index { get; init; }
    public string? Node { get; init; }
    public string? MessageId { get; init; }
    /// <summary>Queued, or Error.</summary>
    public required string Status { get; init; }
    public string? Error { get; init; }
    public string? Message { get; init; }

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Options);

    public static StewardInputReply Failure(StewardInputError error, string message, int? index = null, string? node = null) =>
        new() { Index = index, Node = node, Status = "Error", Error = error.ToString(), Message = message };
}
