namespace RemoteOps.Seaport;

/// <summary>A live registration in the seaport registry, as Register-/Get-/Wait-SeaportService write it.</summary>
public sealed class SeaportService
{
    /// <summary>The registration's id: its key in the registry (random hex unless -Id named it).</summary>
    public string Id { get; set; } = "";
    /// <summary>name@version, as registered.</summary>
    public string Role { get; set; } = "";
    public string Name { get; set; } = "";
    /// <summary>The semver version ("" when the role had none).</summary>
    public string Version { get; set; } = "";
    public string HostName { get; set; } = "";
    /// <summary>The (first) port.</summary>
    public int Port { get; set; }
    /// <summary>Named ports (-PortName); a single unnamed port is listed as "port".</summary>
    public IDictionary<string, int> Ports { get; set; } = new Dictionary<string, int>();
    public IDictionary<string, string> Meta { get; set; } = new Dictionary<string, string>();
    /// <summary>When the service was first registered (UTC).</summary>
    public DateTimeOffset Registered { get; set; }
    /// <summary>Public key (base58) of the identity that signed the current entry.</summary>
    public string Signer { get; set; } = "";
    /// <summary>When the registry last heard from the service (server time of the last heartbeat), UTC.</summary>
    public DateTimeOffset LastSeen { get; set; }
    /// <summary>How long the service may stay silent before it counts as expired.</summary>
    public TimeSpan Timeout { get; set; }
    /// <summary>The key-value revision of the entry.</summary>
    public ulong Revision { get; set; }

    public override string ToString() => $"{Role} {HostName}:{Port}";
}

/// <summary>What Watch-SeaportService reports.</summary>
public enum SeaportAction
{
    Registered,
    Updated,
    Freed,
    Expired,
}

/// <summary>One change in the registry, as Watch-SeaportService streams it.</summary>
public sealed class SeaportEvent
{
    public SeaportAction Action { get; set; }
    public SeaportService Service { get; set; } = new();
    /// <summary>When it happened (server time of the change; for Expired, when the timeout ran out), UTC.</summary>
    public DateTimeOffset Time { get; set; }

    public override string ToString() => $"{Action} {Service}";
}
