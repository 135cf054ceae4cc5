using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using RemoteOps.Identity;

namespace RemoteOps.Herder;

/// <summary>What a token says, signed by its issuer.</summary>
public sealed record HerderTokenClaims
{
    public required string Id { get; init; }
    public required string Owner { get; init; }
    /// <summary>The credits its issuing added to the owner's balance.</summary>
    public long Credits { get; init; }
    public DateTimeOffset Issued { get; init; }
    public DateTimeOffset? Expires { get; init; }
    /// <summary>The issuer's public key (base58): the signature must be by it, and it must be in herder.token_issuers.</summary>
    public required string Issuer { get; init; }
}

/// <summary>
/// Herder's tokens (the seed's JWTs, with an Ed25519 issuer instead of a shared password):
/// <c>hrd1.&lt;base64url(claims json)&gt;.&lt;base58(signature)&gt;</c>, one line, safe in a URL and a header. The signature
/// covers the domain and the claims' bytes; only issuers the config lists are believed.
/// </summary>
public static class HerderTokens
{
    public static readonly SignatureDomain Domain = new("remoteops.herder.token.v1");
    private const string Prefix = "hrd1.";
    /// <summary>Far longer than any token issued; a longer string is not read at all.</summary>
    public const int MaxLength = 4096;
    public const int MaxOwnerLength = 256;

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
        MaxDepth = 4,
    };

    /// <summary>Signs a token for <paramref name="owner"/>.</summary>
    public static string Issue(string owner, long credits, DateTimeOffset? expires, SigningKey issuer, DateTimeOffset now)
    {
        ValidateOwner(owner);
        if (credits < 0) throw new HerderException(HerderFailure.InvalidToken, $"Credits {credits} is negative.");
        var claims = new HerderTokenClaims
        {
            Id = Guid.CreateVersion7().ToString("N"), Owner = owner, Credits = credits, Issued = now, Expires = expires, Issuer = issuer.PublicBase58,
        };
        var body = JsonSerializer.SerializeToUtf8Bytes(claims, Options);
        return Prefix + Base64Url(body) + "." + Base58.Encode(issuer.Sign(Domain, body));
    }

    /// <summary>The owner names herder takes: what the seed takes (an e-mail address), or any short name on one line.</summary>
    public static void ValidateOwner(string? owner)
    {
        if (string.IsNullOrWhiteSpace(owner) || owner.Length > MaxOwnerLength || owner.Any(char.IsControl))
            throw new HerderException(HerderFailure.InvalidToken, $"'{HerderEnvironments.Clean(owner)}' is not an owner: give a name or e-mail address of 1 to {MaxOwnerLength} characters on one line.");
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Opens and checks a token: its form, its signature, an issuer the config lists, and its expiry.</summary>
    /// <exception cref="HerderException">InvalidToken, saying which check failed.</exception>
    public static HerderTokenClaims Verify(string? token, HerderConfig config, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(token) || token.Length > MaxLength || !token.StartsWith(Prefix, StringComparison.Ordinal))
            throw Invalid("it is not a herder token (New-HerderToken issues them; they start with 'hrd1.')");
        var parts = token[Prefix.Length..].Split('.');
        if (parts.Length != 2) throw Invalid("it is not a herder token (wrong number of parts)");
        byte[] body;
        try
        {
            var b64 = parts[0].Replace('-', '+').Replace('_', '/');
            body = Convert.FromBase64String(b64 + new string('=', (4 - b64.Length % 4) % 4));
        }
        catch (FormatException) { throw Invalid("its claims are not base64url"); }
        // One token per claims: base64 ignores the unused low bits of the last character, so another spelling of the
        // same bytes would otherwise pass as a different token string.
        if (Base64Url(body) != parts[0]) throw Invalid("its claims are not base64url as issued (altered)");
        if (!Base58.TryDecode(parts[1].AsSpan(), out var signature) || signature.Length != 64) throw Invalid("its signature is not a base58 Ed25519 signature");
        HerderTokenClaims? claims;
        try { claims = JsonSerializer.Deserialize<HerderTokenClaims>(body, Options); }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            throw Invalid("its claims are not readable");
        }
        if (claims is null || !SigningKey.TryDecodePublic(claims.Issuer ?? "", out var issuerKey)) throw Invalid("it names no issuer key");
        var issuer = claims.Issuer!;
        var key = VerificationKey.For(issuer, issuerKey);
        if (key is null || !VerificationKey.Verify(key, Domain, body, signature)) throw Invalid("its signature does not hold (forged or altered)");
        if (!config.TokenIssuers.Contains(issuer, StringComparer.Ordinal))
            throw Invalid($"its issuer {issuer[..Math.Min(8, issuer.Length)]}… is not in herder.token_issuers");
        if (claims.Expires is { } expires && expires <= now) throw Invalid($"it expired at {expires:u}");
        ValidateOwner(claims.Owner);
        return claims;
    }

    private static HerderException Invalid(string why) => new(HerderFailure.InvalidToken, $"The token is refused: {why}.");
}
