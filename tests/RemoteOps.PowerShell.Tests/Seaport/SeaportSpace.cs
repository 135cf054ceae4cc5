using System.Text;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>A seaport registry of its own (a bucket named for the test) on a shared server, with config files for
/// identities that use it. Short heartbeats keep expiry tests quick.</summary>
public sealed class SeaportSpace : IDisposable
{
    private readonly TempDir _dir = new();

    public SeaportSpace(NatsServer server, string heartbeat = "200ms", string? timeout = null) : this(server.Url, heartbeat, timeout)
    {
        Server = server;
    }

    /// <summary>A space on a server that may not exist (for unreachable-server tests).</summary>
    public SeaportSpace(string url, string heartbeat = "200ms", string? timeout = null)
    {
        Url = url;
        Bucket = "sp_" + Guid.NewGuid().ToString("N")[..10];
        Heartbeat = heartbeat;
        Timeout = timeout;
    }

    public NatsServer Server { get; } = null!;
    public string Url { get; }
    public string Bucket { get; }
    public string Heartbeat { get; }
    public string? Timeout { get; }
    public string Directory => _dir.Path;

    /// <summary>A config for a new identity; <paramref name="authorized"/> fills seaport.authorized.</summary>
    public (string ConfigPath, TestKeyPair Key) Node(string name, IEnumerable<string>? authorized = null, TestKeyPair? key = null, string? range = null)
    {
        key ??= new TestKeyPair();
        var yaml = new StringBuilder();
        yaml.AppendLine($"servers: [{Url}]");
        yaml.AppendLine($"default_identity: {key.Public}");
        yaml.AppendLine("identities:");
        yaml.AppendLine($"  - public: {key.Public}");
        yaml.AppendLine($"    private: {key.Private}");
        yaml.AppendLine("    verbs: [\"*\"]");
        yaml.AppendLine("seaport:");
        yaml.AppendLine($"  bucket: {Bucket}");
        yaml.AppendLine($"  heartbeat: {Heartbeat}");
        if (Timeout is not null) yaml.AppendLine($"  timeout: {Timeout}");
        if (range is not null) yaml.AppendLine($"  range: {range}");
        if (authorized is not null) yaml.AppendLine($"  authorized: [{string.Join(", ", authorized)}]");
        var path = _dir.File(name + ".yaml");
        File.WriteAllText(path, yaml.ToString());
        return (path, key);
    }

    public void Dispose() => _dir.Dispose();
}
