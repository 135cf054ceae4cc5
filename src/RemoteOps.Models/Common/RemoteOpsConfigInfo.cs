namespace RemoteOps;

/// <summary>The effective configuration as Get-RemoteOpsConfig shows it: every setting, with secrets
/// (password, token, inline private keys) redacted and file paths shown in full.</summary>
public sealed class RemoteOpsConfigInfo
{
    /// <summary>Shown in place of a secret that is set.</summary>
    public const string Redacted = "(redacted)";

    /// <summary>The file the settings came from; null when no file exists and built-in defaults apply.</summary>
    public string? Path { get; set; }
    /// <summary>Where the path came from: Parameter (-ConfigPath), Environment ($env:REMOTEOPS_CONFIG) or Default.</summary>
    public string PathSource { get; set; } = "";
    public string[] Servers { get; set; } = [];
    public string? Credentials { get; set; }
    public string? NkeySeedFile { get; set; }
    public string? User { get; set; }
    /// <summary>"(redacted)" when a password is set.</summary>
    public string? Password { get; set; }
    /// <summary>"(redacted)" when a token is set.</summary>
    public string? Token { get; set; }
    public string? TlsCa { get; set; }
    public string? TlsCert { get; set; }
    public string? TlsKey { get; set; }
    public string Subject { get; set; } = "";
    public string? Destination { get; set; }
    public TimeSpan AllowSkew { get; set; }
    public string? DefaultIdentity { get; set; }
    public RemoteOpsIdentityInfo[] Identities { get; set; } = [];
    public RemoteOpsPeerInfo[] Peers { get; set; } = [];
    public string LatchBucket { get; set; } = "";
    public int MaxPayload { get; set; }
    public RemoteOpsSeaportInfo Seaport { get; set; } = new();
    /// <summary>Set by -TestConnection: the state of this session's connection for the config.</summary>
    public RemoteOpsConnectionInfo? Connection { get; set; }

    public override string ToString() => Path ?? "(built-in defaults)";
}

/// <summary>A configured local identity, private key redacted.</summary>
public sealed class RemoteOpsIdentityInfo
{
    public string PublicKey { get; set; } = "";
    /// <summary>"(redacted)" when the private key is inline in the config; null when it is in a file.</summary>
    public string? PrivateKey { get; set; }
    public string? PrivateKeyFile { get; set; }
    public string[] Verbs { get; set; } = [];
    /// <summary>Whether this is the default identity (default_identity, or the only one).</summary>
    public bool IsDefault { get; set; }

    public override string ToString() => PublicKey;
}

/// <summary>A configured peer: who may send to this node, and which verbs.</summary>
public sealed class RemoteOpsPeerInfo
{
    public string Destination { get; set; } = "";
    public string PublicKey { get; set; } = "";
    public string[] Verbs { get; set; } = [];

    public override string ToString() => $"{Destination} {PublicKey}";
}

/// <summary>The seaport: section of the config.</summary>
public sealed class RemoteOpsSeaportInfo
{
    public string Bucket { get; set; } = "";
    public TimeSpan Heartbeat { get; set; }
    /// <summary>The effective timeout (3 x heartbeat unless set).</summary>
    public TimeSpan Timeout { get; set; }
    public int[] Range { get; set; } = [];
    public string[] Authorized { get; set; } = [];

    public override string ToString() => $"bucket {Bucket}, heartbeat {Heartbeat}, timeout {Timeout}, range {string.Join("-", Range)}";
}
