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
    public RemoteOpsStewardInfo Steward { get; set; } = new();
    public RemoteOpsHerderInfo Herder { get; set; } = new();
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

/// <summary>The steward: section in effect (its defaults when the file has none).</summary>
public sealed class RemoteOpsStewardInfo
{
    public string? Central { get; set; }
    public string Stream { get; set; } = "";
    public string ResultsBucket { get; set; } = "";
    public string NodesBucket { get; set; } = "";
    public string GovernorsBucket { get; set; } = "";
    /// <summary>The agent's local store in effect (the default folder when the file names none).</summary>
    public string DataDirectory { get; set; } = "";
    public TimeSpan HelloInterval { get; set; }
    public TimeSpan AckTimeout { get; set; }
    public int Retries { get; set; }
    public TimeSpan MethodTimeout { get; set; }
    public int MaxOutput { get; set; }
    /// <summary>steward.pwsh_command; empty: the pwsh running the agent, else pwsh from PATH.</summary>
    public string[] PwshCommand { get; set; } = [];
    public int PwshWorkers { get; set; }
    /// <summary>The methods this node serves, each with its allowed senders.</summary>
    public Dictionary<string, string[]> Methods { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Governors the config defines, name → capacity.</summary>
    public Dictionary<string, int> Governors { get; set; } = new(StringComparer.Ordinal);
    public TimeSpan GovernorTimeout { get; set; }
    public bool Socket { get; set; }
    public string? SocketPath { get; set; }
    public string? TcpListener { get; set; }
    public string? HttpListener { get; set; }
    /// <summary>steward.audit_log as written: null (unset: on for the agent, off for clients), true or false.</summary>
    public bool? AuditLog { get; set; }
    public string? AuditPath { get; set; }
    public long AuditMaxSize { get; set; }
    public int AuditKeep { get; set; }
    public string? Metrics { get; set; }

    public override string ToString() =>
        $"stream {Stream}, results {ResultsBucket}, methods {(Methods.Count == 0 ? "(none)" : string.Join(",", Methods.Keys))}{(Central is null ? "" : ", central " + Central)}";
}

/// <summary>The herder: section in effect (its defaults when the file has none).</summary>
public sealed class RemoteOpsHerderInfo
{
    /// <summary>Configured environments, name → command line (the built-ins are not listed).</summary>
    public Dictionary<string, string[]> Environments { get; set; } = new(StringComparer.Ordinal);
    public string Sandbox { get; set; } = "";
    public TimeSpan MaxTimeout { get; set; }
    /// <summary>Bytes.</summary>
    public long MemoryLimit { get; set; }
    /// <summary>Public keys whose tokens herder believes.</summary>
    public string[] TokenIssuers { get; set; } = [];
    public bool RequireToken { get; set; }
    public int CreditsPerSecond { get; set; }
    public string LedgerBucket { get; set; } = "";
    /// <summary>0: the daemon proxy is off.</summary>
    public int ProxyPort { get; set; }
    public string Browser { get; set; } = "";
    public TimeSpan LogRetention { get; set; }

    public override string ToString() =>
        $"sandbox {Sandbox}, max timeout {MaxTimeout}, memory {MemoryLimit / (1024 * 1024)} MiB, ledger {LedgerBucket}, tokens {(RequireToken ? "required" : "optional")}{(ProxyPort > 0 ? $", proxy port {ProxyPort}" : "")}";
}
