namespace RemoteOps;

/// <summary>One check Test-RemoteOpsConfig made: what was checked (Check: Load, Server, Destination, Identity,
/// File, PeerKey, TrustedKey, HerderProxy), on what (Target: a URL, a public key, a path), whether it passed, and why not.</summary>
public sealed class RemoteOpsConfigCheck
{
    /// <summary>The config file checked; null for the built-in defaults.</summary>
    public string? Path { get; set; }
    public string Check { get; set; } = "";
    public string Target { get; set; } = "";
    public bool Passed { get; set; }
    /// <summary>What is wrong and how to fix it; for a passed check, what was confirmed.</summary>
    public string Message { get; set; } = "";

    public override string ToString() => $"{(Passed ? "Passed" : "Failed")} {Check} {Target}: {Message}";
}
