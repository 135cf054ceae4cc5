using System.Text;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>A steward of its own (stream and buckets named for the test) on a shared server, with config files for the
/// sender (central) and for nodes, each a peer of the other.</summary>
public sealed class StewardSpace : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..10];

    public StewardSpace(string url) => Url = url;

    public string Url { get; }
    public string Directory => _dir.Path;
    public string DataDirectory => _dir.File("data");
    public TestKeyPair CentralKey { get; } = new();
    public Dictionary<string, TestKeyPair> Nodes { get; } = new(StringComparer.Ordinal);

    public string Stewardsection(string extra = "") =>
        $"steward:\n  stream: st_{_suffix}\n  results_bucket: sr_{_suffix}\n  nodes_bucket: sn_{_suffix}\n  data_directory: {DataDirectory}\n{extra}";

    /// <summary>The sender's config (destination com.acme.central); every node named so far is a peer.</summary>
    public string Sender(string name = "central", string extra = "")
    {
        var yaml = Identity(CentralKey, "com.acme.central");
        yaml.AppendLine("peers:");
        foreach (var (node, key) in Nodes) yaml.AppendLine($"  - destination: {node}\n    public: {key.Public}\n    verbs: [\"*\"]");
        if (Nodes.Count == 0) yaml.AppendLine("  []");
        yaml.Append(Stewardsection(extra));
        return Write(name, yaml.ToString().Replace("peers:\n  []", "peers: []"));
    }

    /// <summary>A node's config: its own identity, the sender a peer; <paramref name="extra"/> is added to its steward section.</summary>
    public string Node(string node, string extra = "")
    {
        if (!Nodes.TryGetValue(node, out var key)) Nodes[node] = key = new TestKeyPair();
        var yaml = Identity(key, node);
        yaml.AppendLine($"peers:\n  - destination: com.acme.central\n    public: {CentralKey.Public}\n    verbs: [\"*\"]");
        yaml.Append(Stewardsection(extra));
        return Write("node-" + node, yaml.ToString());
    }

    private StringBuilder Identity(TestKeyPair key, string destination)
    {
        var yaml = new StringBuilder();
        yaml.AppendLine($"servers: [{Url}]");
        yaml.AppendLine($"destination: {destination}");
        yaml.AppendLine($"default_identity: {key.Public}");
        yaml.AppendLine("identities:");
        yaml.AppendLine($"  - public: {key.Public}");
        yaml.AppendLine($"    private: {key.Private}");
        yaml.AppendLine("    verbs: [\"*\"]");
        return yaml;
    }

    private string Write(string name, string text)
    {
        var path = _dir.File(name + ".yaml");
        File.WriteAllText(path, text);
        return path;
    }

    public void Dispose()
    {
        CentralKey.Dispose();
        foreach (var k in Nodes.Values) k.Dispose();
        _dir.Dispose();
    }
}
