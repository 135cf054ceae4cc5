using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using RemoteOps.Identity;
using RemoteOps.Messaging;

namespace RemoteOps.Steward;

/// <summary>Steward's stored records (status and results, output chunks, node presence) on the wire:
/// <c>base58(signature) '\n' base58(signer) '\n' json</c>, the signature over the domain and everything after the
/// first line. Each record type has its own domain, so none can be passed off as another or as a command.</summary>
public static class SignedJson
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // Fields a newer agent adds are skipped, not refused: an older client still reads its records. The signature
        // covers every byte whatever is read; required fields missing still make a record corrupt.
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
        Converters = { new JsonStringEnumConverter() },
        MaxDepth = 8,
    };

    private const int MaxKeyLine = 100;

    public static byte[] Encode<T>(T value, SigningKey key, SignatureDomain domain)
    {
        var body = Encoding.ASCII.GetBytes(key.PublicBase58 + "\n").Concat(JsonSerializer.SerializeToUtf8Bytes(value, Options)).ToArray();
        var signature = key.Sign(domain, body);
        return [.. Encoding.ASCII.GetBytes(Base58.Encode(signature) + "\n"), .. body];
    }

    /// <summary>Never throws: the value and its signer's public key (base58) when the bytes are a record of this domain
    /// whose signature holds; else false and the problem. Who the signer must be is the caller's rule.</summary>
    public static bool TryOpen<T>(ReadOnlySpan<byte> raw, SignatureDomain domain, int maxBytes, out T value, out string signer, out string problem)
        where T : class
    {
        value = null!; signer = "";
        if (raw.Length == 0) { problem = "empty record"; return false; }
        if (raw.Length > maxBytes) { problem = $"record of {raw.Length} bytes (more than {maxBytes})"; return false; }
        var nl = raw.IndexOf((byte)'\n');
        if (nl <= 0 || nl > MaxKeyLine) { problem = "not signed"; return false; }
        if (!Base58.TryDecode(raw[..nl], out var signature) || signature.Length != 64) { problem = "no base58 Ed25519 signature"; return false; }
        var body = raw[(nl + 1)..];
        var nl2 = body.IndexOf((byte)'\n');
        if (nl2 <= 0 || nl2 > MaxKeyLine) { problem = "no signer line"; return false; }
        var signerText = Encoding.ASCII.GetString(body[..nl2]);
        if (!SigningKey.TryDecodePublic(signerText, out var signerKey)) { problem = "the signer is not a base58 Ed25519 public key"; return false; }
        var key = VerificationKey.For(signerText, signerKey);
        if (key is null || !VerificationKey.Verify(key, domain, body, signature)) { problem = "bad signature"; return false; }
        try
        {
            value = JsonSerializer.Deserialize<T>(body[(nl2 + 1)..], Options)!;
            if (value is null) { problem = "empty record"; return false; }
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            problem = $"corrupt record ({UntrustedText.Clean(e.Message)})";
            return false;
        }
        signer = signerText;
        problem = "";
        return true;
    }
}
