namespace RemoteOps.Config;

/// <summary>The effective configuration: one YAML file shared by every RemoteOps capability. Immutable: derive a
/// variant with <c>with</c>. Keys are snake_case in YAML, following the remaphore seed. The shared top level
/// (connection, identity and trust) is here; each tool's settings are a <see cref="ConfigSection"/>.</summary>
public sealed record RemoteOpsConfig
{
    /// <summary>Where the config was read from; null when built in memory.</summary>
    public string? SourcePath { get; init; }

    // Connection
    public IReadOnlyList<string> Servers { get; init; } = ["nats://127.0.0.1:4222"];
    public string? Credentials { get; init; }
    public string? NkeySeedFile { get; init; }
    public string? User { get; init; }
    public string? Password { get; init; }
    public string? Token { get; init; }
    public TlsConfig? Tls { get; init; }
    /// <summary>The subject prefix of this client's reply inboxes; null: NATS's default, _INBOX. A per-user prefix lets
    /// the server's permissions keep each user to its own replies (steward's pulled commands travel on them).</summary>
    public string? InboxPrefix { get; init; }

    // Identity and trust, shared by every tool that signs or verifies
    /// <summary>This node's name, reverse-dotted.</summary>
    public string? Destination { get; init; }
    public TimeSpan AllowSkew { get; init; } = TimeSpan.FromSeconds(5);
    public string? DefaultIdentity { get; init; }
    public IReadOnlyList<IdentityConfig> Identities { get; init; } = [];
    public IReadOnlyList<PeerConfig> Peers { get; init; } = [];
    /// <summary>Largest payload accepted for sending or acting on.</summary>
    public int MaxPayload { get; init; } = 64 * 1024;
    /// <summary>JetStream replicas of every stream and bucket the module creates, 1..5 (a cluster's largest).</summary>
    public int Replicas { get; init; } = 1;

    /// <summary>The tool sections the file gave (or a test built in memory); <see cref="Section{T}"/> supplies
    /// the defaults of any other.</summary>
    public IReadOnlyList<ConfigSection> Sections { get; init; } = [];

    /// <summary>The section of type <typeparamref name="T"/>, or its defaults when the config has none.</summary>
    public T Section<T>() where T : ConfigSection, new() => FindSection(typeof(T)) as T ?? DefaultSection<T>.Value;

    /// <summary>The section of exactly this type, or null.</summary>
    public ConfigSection? FindSection(Type sectionType)
    {
        foreach (var section in Sections)
            if (section.GetType() == sectionType) return section;
        return null;
    }

    /// <summary>A copy with <paramref name="section"/> in place of any section of its type.</summary>
    public RemoteOpsConfig WithSection(ConfigSection section) =>
        this with { Sections = [.. Sections.Where(s => s.GetType() != section.GetType()), section] };

    /// <summary>A copy with the section of type <typeparamref name="T"/> changed, e.g.
    /// <c>config.WithSection&lt;MySection&gt;(s =&gt; s with { Name = "b" })</c>.</summary>
    public RemoteOpsConfig WithSection<T>(Func<T, T> change) where T : ConfigSection, new() => WithSection(change(Section<T>()));

    /// <summary>Scopes of the trust store and the keys each tool section grants them (seaport.authorized → "seaport").</summary>
    public IEnumerable<KeyValuePair<string, IReadOnlyList<string>>> TrustGrants => Sections.SelectMany(s => s.TrustGrantsFor(this));

    /// <summary>Identity key of this config for connection sharing: same servers and credentials share one connection.</summary>
    public string ConnectionKey =>
        string.Join("|", Servers) + "|" + Credentials + "|" + NkeySeedFile + "|" + User + "|" + Password?.GetHashCode() + "|" + Token?.GetHashCode()
        + "|" + Tls?.Ca + "|" + Tls?.Cert + "|" + Tls?.Key + "|" + InboxPrefix;

    // Not the record's generated ToString: that would print the password, token and private keys.
    public override string ToString() => $"RemoteOpsConfig {SourcePath ?? "(built in)"}";

    // Defaults are immutable, so one instance per type serves every config.
    private static class DefaultSection<T> where T : ConfigSection, new()
    {
        public static readonly T Value = new();
    }
}

public sealed record TlsConfig
{
    public string? Ca { get; init; }
    public string? Cert { get; init; }
    public string? Key { get; init; }
}

/// <summary>A local identity: an Ed25519 key pair (base58) and the verbs it may send.</summary>
public sealed record IdentityConfig
{
    public string Public { get; init; } = "";
    public string? Private { get; init; }
    public string? PrivateFile { get; init; }
    public IReadOnlyList<string> Verbs { get; init; } = [];
    /// <summary>Line in the config file, for error messages.</summary>
    public int Line { get; init; }

    // Not the generated ToString, which would print the private key.
    public override string ToString() => $"IdentityConfig {Public}";
}

/// <summary>A known peer: its destination, public key and the verbs it may send to us.</summary>
public sealed record PeerConfig
{
    public string Destination { get; init; } = "";
    public string Public { get; init; } = "";
    public IReadOnlyList<string> Verbs { get; init; } = [];
    public int Line { get; init; }
}
