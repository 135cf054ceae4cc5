namespace RemoteOps;

/// <summary>A new Ed25519 identity made by New-RemoteOpsIdentity: base58 keys as remaphore writes them,
/// and the YAML lines to paste under <c>identities:</c>.</summary>
public sealed class RemoteOpsIdentity
{
    /// <summary>The public key, base58 (32 bytes). Give it to peers: it goes in their <c>peers:</c>.</summary>
    public string PublicKey { get; set; } = "";
    /// <summary>The private key, base58, in Go's 64-byte form (seed and public key) that the original remaphore reads;
    /// null when it was written to <see cref="PrivateKeyFile"/> instead.</summary>
    public string? PrivateKey { get; set; }
    /// <summary>The file holding the private key (mode 600), when -Path was given.</summary>
    public string? PrivateKeyFile { get; set; }
    /// <summary>The verbs this identity may send ("*" for all).</summary>
    public string[] Verbs { get; set; } = [];
    /// <summary>The identity as a YAML list item, to paste under <c>identities:</c> in the config.</summary>
    public string Yaml { get; set; } = "";

    public override string ToString() => PublicKey;
}
