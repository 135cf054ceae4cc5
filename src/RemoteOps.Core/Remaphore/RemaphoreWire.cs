using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using RemoteOps.Identity;
using RemoteOps.Messaging;

namespace RemoteOps.Remaphore;

/// <summary>The remaphore wire format, byte-compatible with the original (aurora-is-near/remaphore, src/protocol):
/// <c>base58(sender),base58(signature),destination,hex(unix-nanos),hex(uuid),verb,Q|_,payload</c>.
/// The Ed25519 signature covers everything after the second comma (the "pre-message").</summary>
public static class RemaphoreWire
{
    public const int UuidLength = 12;
    public const byte Separator = (byte)',';
    /// <summary>The request-reply field: "Q" asks for a reply, "_" does not.</summary>
    public const byte RequestCode = (byte)'Q';
    public const byte NoRequestCode = (byte)'_';
    /// <summary>The verb the original uses for replies.</summary>
    public const string ReplyVerb = "reply";
    /// <summary>The reply payload of a receiver that ran nothing (the original's wording).</summary>
    public const string NoData = "NO_DATA";

    /// <summary>The uuid rule of the original: none given, 12 random bytes; up to 12 bytes, the bytes as given (UTF-8);
    /// longer, the first 12 bytes of their SHA-256.</summary>
    public static byte[] UuidBytes(string? text)
    {
        if (string.IsNullOrEmpty(text)) return RandomNumberGenerator.GetBytes(UuidLength);
        var bytes = Encoding.UTF8.GetBytes(text);
        return bytes.Length <= UuidLength ? bytes : SHA256.HashData(bytes)[..UuidLength];
    }

    /// <summary>Shows uuid bytes as the text they were made from when that is printable UTF-8, else as hex.</summary>
    public static string UuidText(ReadOnlySpan<byte> uuid)
    {
        if (uuid.Length == 0) return "";
        // Random uuids are rarely valid UTF-8: test without the cost of a decoder exception.
        if (System.Text.Unicode.Utf8.IsValid(uuid))
        {
            var s = Encoding.UTF8.GetString(uuid);
            if (s.All(c => !char.IsControl(c) && !char.IsWhiteSpace(c))) return s;
        }
        return Convert.ToHexStringLower(uuid);
    }

    /// <summary><c>&lt;root&gt;.all</c>, or <c>&lt;root&gt;.&lt;suffix&gt;</c> (the original's -S), as its mkSubject builds it.</summary>
    public static string MessageSubject(string root, string? suffix)
    {
        var parts = new[] { root, suffix }.Where(p => !string.IsNullOrEmpty(p)).ToArray();
        return parts.Length == 1 ? parts[0] + ".all" : string.Join('.', parts);
    }

    /// <summary>Where replies to a request go: <c>&lt;root&gt;.&lt;hex(sha256(request))&gt;</c>. The original uses the config
    /// subject here, never the -S suffix.</summary>
    public static string ReplySubject(string root, ReadOnlySpan<byte> requestHash) => MessageSubject(root, Convert.ToHexStringLower(requestHash));

    public static long NowNanos() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    public static DateTimeOffset FromNanos(long nanos) => DateTimeOffset.UnixEpoch.AddTicks(nanos / 100);

    /// <summary>The signed part: destination,hex(time),hex(uuid),verb,Q|_,payload.</summary>
    public static byte[] PreMessage(string destination, long timeNanos, ReadOnlySpan<byte> uuid, string verb, bool requestReply, string payload)
    {
        if (destination.Contains(',')) throw new ArgumentException("The destination cannot contain a comma.", nameof(destination));
        if (verb.Contains(',')) throw new ArgumentException("The verb cannot contain a comma.", nameof(verb));
        var sb = new StringBuilder(destination.Length + verb.Length + payload.Length + 48);
        sb.Append(destination).Append(',')
          .Append(FormatTime(timeNanos)).Append(',')
          .Append(Convert.ToHexStringLower(uuid)).Append(',')
          .Append(verb).Append(',')
          .Append(requestReply ? 'Q' : '_').Append(',')
          .Append(payload);
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>Go's strconv.FormatInt(n, 16): lowercase, no padding, '-' for negatives.</summary>
    public static string FormatTime(long nanos) =>
        nanos < 0 ? "-" + ((ulong)(-(nanos + 1)) + 1).ToString("x", CultureInfo.InvariantCulture) : nanos.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>Signs and encodes a message: base58(public),base58(signature),pre-message.</summary>
    public static byte[] Encode(SigningKey key, string destination, long timeNanos, ReadOnlySpan<byte> uuid, string verb, bool requestReply, string payload)
    {
        var pre = PreMessage(destination, timeNanos, uuid, verb, requestReply, payload);
        Span<byte> signature = stackalloc byte[64];
        key.Sign(pre, signature);
        var sig = Base58.Encode(signature);
        var pub = key.PublicBase58;
        var result = new byte[pub.Length + 1 + sig.Length + 1 + pre.Length];
        int n = Encoding.ASCII.GetBytes(pub, result);
        result[n++] = Separator;
        n += Encoding.ASCII.GetBytes(sig, result.AsSpan(n));
        result[n++] = Separator;
        pre.CopyTo(result, n);
        return result;
    }

    /// <summary>Parses a wire message without judging it (no signature check). Returns false with a reason when the
    /// bytes are not a well-formed, canonical remaphore message.</summary>
    public static bool TryDecode(byte[] raw, out WireMessage message, out string error) => TryDecode(raw, null, out message, out error);

    /// <param name="hash">SHA-256 of <paramref name="raw"/> when already computed.</param>
    public static bool TryDecode(byte[] raw, byte[]? hash, out WireMessage message, out string error)
    {
        message = null!;
        var span = raw.AsSpan();
        int c1 = span.IndexOf(Separator);
        if (c1 < 0) { error = "not a remaphore message (no comma-separated fields)"; return false; }
        int c2 = span[(c1 + 1)..].IndexOf(Separator);
        if (c2 < 0) { error = "not a remaphore message (no signature field)"; return false; }
        c2 += c1 + 1;
        int pre = c2 + 1;
        // Six fields after the signature; the payload (last) may contain commas.
        Span<int> commas = stackalloc int[5];
        int at = pre;
        for (int i = 0; i < 5; i++)
        {
            int k = span[at..].IndexOf(Separator);
            if (k < 0) { error = "not a remaphore message (fewer than 8 fields)"; return false; }
            commas[i] = at + k;
            at = at + k + 1;
        }
        var pubText = span[..c1];
        var sigText = span[(c1 + 1)..c2];
        if (!TryBase58(pubText, 32, out var senderKey)) { error = "the sender key is not 32 bytes of base58"; return false; }
        if (!TryBase58(sigText, 64, out var signature)) { error = "the signature is not 64 bytes of base58"; return false; }

        var destination = span[pre..commas[0]];
        var time = span[(commas[0] + 1)..commas[1]];
        var uuid = span[(commas[1] + 1)..commas[2]];
        var verb = span[(commas[2] + 1)..commas[3]];
        var rr = span[(commas[3] + 1)..commas[4]];
        var payload = span[(commas[4] + 1)..];

        if (!TryParseTime(time, out var nanos)) { error = "the time field is not canonical hex"; return false; }
        if (uuid.Length % 2 != 0 || !IsLowerHex(uuid)) { error = "the uuid field is not lowercase hex"; return false; }
        if (rr.Length != 1 || rr[0] is not (RequestCode or NoRequestCode)) { error = "the request field is neither Q nor _"; return false; }
        if (!System.Text.Unicode.Utf8.IsValid(destination) || !System.Text.Unicode.Utf8.IsValid(verb) || !System.Text.Unicode.Utf8.IsValid(payload))
        {
            error = "a text field is not valid UTF-8";
            return false;
        }
        var dest = Encoding.UTF8.GetString(destination);
        var verbText = Encoding.UTF8.GetString(verb);
        var payloadText = Encoding.UTF8.GetString(payload);

        message = new WireMessage
        {
            Raw = raw,
            SenderBase58 = Encoding.ASCII.GetString(pubText),
            SenderKey = senderKey,
            Signature = signature,
            SignedOffset = pre,
            Destination = dest,
            TimeNanos = nanos,
            Uuid = Convert.FromHexString(Encoding.ASCII.GetString(uuid)),
            Verb = verbText,
            RequestReply = rr[0] == RequestCode,
            Payload = payloadText,
            PayloadBytes = payload.Length,
            Hash = hash ?? SHA256.HashData(raw),
        };
        error = "";
        return true;
    }

    private static bool TryBase58(ReadOnlySpan<byte> ascii, int expected, out byte[] bytes)
    {
        bytes = [];
        if (ascii.Length == 0 || ascii.Length > 100) return false;
        return Base58.TryDecode(ascii, out bytes) && bytes.Length == expected;
    }

    private static bool IsLowerHex(ReadOnlySpan<byte> s)
    {
        foreach (var b in s)
            if (b is not ((>= (byte)'0' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f'))) return false;
        return true;
    }

    private static bool TryParseTime(ReadOnlySpan<byte> s, out long nanos)
    {
        nanos = 0;
        bool negative = s.Length > 0 && s[0] == (byte)'-';
        var digits = negative ? s[1..] : s;
        if (digits.Length == 0 || digits.Length > 16 || !IsLowerHex(digits)) return false;
        if (digits.Length > 1 && digits[0] == (byte)'0') return false;
        ulong v = 0;
        foreach (var b in digits) v = v * 16 + (ulong)(b <= '9' ? b - '0' : b - 'a' + 10);
        if (!negative && v > long.MaxValue || negative && (v == 0 || v > (ulong)long.MaxValue + 1)) return false;
        nanos = negative ? (long)(0 - v) : (long)v;
        return true;
    }
}

/// <summary>The remaphore wire as an envelope codec: its signature covers the pre-message as is (the original's
/// format is its own domain).</summary>
public sealed class RemaphoreCodec : IEnvelopeCodec<WireMessage>
{
    public static readonly RemaphoreCodec Instance = new();
    public SignatureDomain? Domain => null;
    public bool TryDecode(byte[] raw, byte[] hash, out WireMessage message, out string problem) => RemaphoreWire.TryDecode(raw, hash, out message, out problem);
}

/// <summary>A parsed, not yet verified, wire message.</summary>
public sealed class WireMessage : ISignedMessage
{
    string ISignedMessage.Action => Verb;

    public required byte[] Raw { get; init; }
    public required string SenderBase58 { get; init; }
    public required byte[] SenderKey { get; init; }
    public required byte[] Signature { get; init; }
    /// <summary>Where the signed pre-message starts in <see cref="Raw"/>.</summary>
    public required int SignedOffset { get; init; }
    public required string Destination { get; init; }
    public required long TimeNanos { get; init; }
    public required byte[] Uuid { get; init; }
    public required string Verb { get; init; }
    public required bool RequestReply { get; init; }
    public required string Payload { get; init; }
    public required int PayloadBytes { get; init; }

    public ReadOnlySpan<byte> SignedBytes => Raw.AsSpan(SignedOffset);

    /// <summary>SHA-256 of the whole wire message (the original's Message.Hash).</summary>
    public required byte[] Hash { get; init; }
}
