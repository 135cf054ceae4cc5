namespace RemoteOps.Steward;

/// <summary>A node of the steward registry, as Get-StewardNode writes it: what its agent said in its last hello. Nodes
/// whose hellos stopped are listed too, with Online = false.</summary>
public sealed class StewardNode
{
    public string Name { get; set; } = "";
    /// <summary>The node's public key (base58); its hellos are signed with it.</summary>
    public string PublicKey { get; set; } = "";
    /// <summary>The agent's version.</summary>
    public string Version { get; set; } = "";
    /// <summary>The RemoteOps module's version the agent runs in (empty when it runs outside the module).</summary>
    public string ModuleVersion { get; set; } = "";
    public string OS { get; set; } = "";
    /// <summary>The OS architecture (X64, Arm64, ...).</summary>
    public string Architecture { get; set; } = "";
    /// <summary>The methods served, sorted.</summary>
    public string[] Methods { get; set; } = [];
    /// <summary>Who may call each method served: peer destinations or '*'.</summary>
    public IReadOnlyDictionary<string, string[]> AllowedSenders { get; set; } = new Dictionary<string, string[]>();
    /// <summary>When the node's last hello was written (UTC).</summary>
    public DateTimeOffset LastSeen { get; set; }
    /// <summary>Whether the last hello is younger than three of the node's own hello intervals.</summary>
    public bool Online { get; set; }
    /// <summary>When the agent started (UTC): its uptime is LastSeen - Started.</summary>
    public DateTimeOffset Started { get; set; }
    /// <summary>When the agent last received a command (UTC); null when none since it started.</summary>
    public DateTimeOffset? LastCommand { get; set; }
    /// <summary>The node's hello interval (steward.hello_interval on that node).</summary>
    public TimeSpan Interval { get; set; }

    public override string ToString() => $"{Name} ({(Online ? "online" : "offline")})";
}
