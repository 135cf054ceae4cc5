namespace RemoteOps.Config;

/// <summary>The effective configuration: one YAML file shared by every RemoteOps capability.
/// Keys are snake_case in YAML, following the remaphore seed.</summary>
public sealed class RemoteOpsConfig
{
    /// <summary>Where the config was read from; null when built in memory.</summary>
    public string? SourcePath { get; set; }

    // Connection
    public List<string> Servers { get; set; } = new() { "nats://127.0.0.1:4222" };
    public string? Credentials { get; set; }
    public string? NkeySeedFile { get; set; }
    public string? User { get; set; }
    public string? Password { get; set; }
    public string? Token { get; set; }
    public TlsConfig? Tls { get; set; }

    // Remaphore
    public string Subject { get; set; } = "remaphore";
    public string? Destination { get; set; }
    public TimeSpan AllowSkew { get; set; } = TimeSpan.FromSeconds(5);
    public string? DefaultIdentity { get; set; }
    public List<IdentityConfig> Identities { get; set; } = new();
    public List<PeerConfig> Peers { get; set; } = new();
    /// <summary>JetStream key-value bucket holding latched signals (Send-Remaphore -Latch).</summary>
    public string LatchBucket { get; set; } = "remaphore_latch";
    /// <summary>Largest payload accepted for sending or acting on.</summary>
    public int MaxPayload { get; set; } = 64 * 1024;

    public SeaportConfig Seaport { get; set; } = new();

    /// <summary>Scopes of the trust store and the keys granted each (seaport.authorized → "seaport").</summary>
    public IReadOnlyList<KeyValuePair<string, IReadOnlyList<string>>> TrustGrants => [new("seaport", Seaport.Authorized)];

    /// <summary>Identity key of this config for connection sharing: same servers and credentials share one connection.</summary>
    public string ConnectionKey =>
        string.Join("|", Servers) + "|" + Credentials + "|" + NkeySeedFile + "|" + User + "|" + Password?.GetHashCode() + "|" + Token?.GetHashCode()
        + "|" + Tls?.Ca + "|" + Tls?.Cert + "|" + Tls?.Key;
}

public sealed class TlsConfig
{
    public string? Ca { get; set; }
    public string? Cert { get; set; }
    public string? Key { get; set; }
}

/// <summary>A local identity: an Ed25519 key pair (base58) and the verbs it may send.</summary>
public sealed class IdentityConfig
{
    public string Public { get; set; } = "";
    public string? Private { get; set; }
    public string? PrivateFile { get; set; }
    public List<string> Verbs { get; set; } = new();
    /// <summary>Line in the config file, for error messages.</summary>
    public int Line { get; set; }
}

/// <summary>A known peer: its destination, public key and the verbs it may send to us.</summary>
public sealed class PeerConfig
{
    public string Destination { get; set; } = "";
    public string Public { get; set; } = "";
    public List<string> Verbs { get; set; } = new();
    public int Line { get; set; }
}

public sealed class SeaportConfig
{
    public string Bucket { get; set; } = "seaport";
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(15);
    /// <summary>Null means 3 x heartbeat, as in seaport.</summary>
    public TimeSpan? Timeout { get; set; }
    /// <summary>Port range for assignment; the default stays below the Linux (32768+) and Windows (49152+) ephemeral ranges.</summary>
    public int[] Range { get; set; } = { 20000, 32767 };
    public List<string> Authorized { get; set; } = new();

    public TimeSpan EffectiveTimeout => Timeout ?? Heartbeat * 3;
}
