namespace RemoteOps.Herder;

/// <summary>A herder token, as New-HerderToken and Get-HerderToken write it.</summary>
public sealed class HerderToken
{
    /// <summary>The string to pass as -Token (or in an Authorization header, or as ?token=).</summary>
    public string Token { get; set; } = "";
    /// <summary>Who pays: credits belong to the owner, whatever token brought them.</summary>
    public string Owner { get; set; } = "";
    /// <summary>The owner's balance: after this token's credits were added (New-HerderToken), or now (Get-HerderToken).</summary>
    public long Credits { get; set; }
    /// <summary>When the token stops being accepted (UTC); null for never.</summary>
    public DateTimeOffset? Expires { get; set; }
    /// <summary>The issuer's public key (base58), one of herder.token_issuers.</summary>
    public string Issuer { get; set; } = "";

    public override string ToString() => $"{Owner}: {Credits} credits";
}
