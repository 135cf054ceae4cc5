using System.Text.RegularExpressions;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Steward;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>The steward example config (examples/steward/config.yaml) and the steward section of the built-in example
/// (New-RemoteOpsConfig): both load, use every key of the contract, and serve Ping and OpProcessList to every known
/// peer, and nothing that runs code.</summary>
public class StewardExampleConfigTests
{
    private static readonly string ExamplePath = Path.Combine(Repo.Root, "examples", "steward", "config.yaml");

    private static readonly StewardMethod[] Served = [StewardMethod.Ping, StewardMethod.OpProcessList]; // in catalogue order

    [Fact]
    public void The_example_loads_and_serves_exactly_Ping_and_OpProcessList_to_every_peer()
    {
        var warnings = new List<string>();
        var config = ConfigLoader.Load(ExamplePath, warnings.Add);
        Assert.Empty(warnings);
        Assert.Equal("com.acme.web1", config.Destination);
        Assert.Equal(1, config.Replicas);
        var s = config.Steward;
        Assert.Equal(("com.acme.central", "steward", "steward_results", "steward_nodes"), (s.Central, s.Stream, s.ResultsBucket, s.NodesBucket));
        Assert.Equal("/var/lib/remoteops/steward", s.EffectiveDataDirectory);
        Assert.Equal((TimeSpan.FromSeconds(5), 3, TimeSpan.FromSeconds(10), 1048576, TimeSpan.FromSeconds(30)),
            (s.AckTimeout, s.Retries, s.MethodTimeout, s.MaxOutput, s.HelloInterval));
        Assert.Equal(Served, s.Methods.Keys.Order());
        Assert.All(s.Methods.Values, allowed => Assert.Equal([StewardConfigReader.AnyPeer], allowed));

        // Every known peer may call both; nobody may call anything else, and an unknown key nothing at all.
        var trust = TrustStore.For(config);
        Assert.Equal(2, config.Peers.Count);
        foreach (var peer in config.Peers)
            foreach (var method in Enum.GetValues<StewardMethod>())
                Assert.Equal(Served.Contains(method), StewardConfig.IsAllowed(s, trust, method, peer.Public));
        using var stranger = SigningKey.Generate();
        Assert.False(StewardConfig.IsAllowed(s, trust, StewardMethod.Ping, stranger.PublicBase58));
    }

    [Fact]
    public void The_example_uses_every_steward_key()
    {
        var text = File.ReadAllText(ExamplePath);
        Assert.Matches(new Regex(@"^replicas: ", RegexOptions.Multiline), text);
        Assert.Matches(new Regex(@"^steward:", RegexOptions.Multiline), text);
        foreach (var key in new StewardConfigReader().Keys)
            Assert.Matches(new Regex($@"^  {key}:\s", RegexOptions.Multiline), text);
    }

    /// <summary>The contract keys of the issue, as the built-in example shows them.</summary>
    private static readonly string[] ContractKeys =
        ["central", "stream", "results_bucket", "data_directory", "ack_timeout", "retries", "method_timeout", "max_output", "methods"];

    [Fact]
    public void The_built_in_example_documents_the_steward_section_and_it_loads_when_uncommented()
    {
        using var k = SigningKey.Generate();
        var text = ExampleConfig.Text(["nats://127.0.0.1:4222"], "local.me", k.PublicBase58, "keys/x.key");
        Assert.Matches(new Regex(@"^# replicas: .*\n#replicas: 1$", RegexOptions.Multiline), text);
        Assert.Matches(new Regex(@"^#steward:$", RegexOptions.Multiline), text);
        foreach (var key in new StewardConfigReader().Keys)
        {
            Assert.Matches(new Regex($@"^#   {key} ", RegexOptions.Multiline), text); // documented
            Assert.Matches(new Regex($@"^#  {key}: ", RegexOptions.Multiline), text); // shown
        }
        Assert.Subset(new StewardConfigReader().Keys.ToHashSet(), ContractKeys.ToHashSet());

        // As written (commented), steward serves nothing; uncommented, exactly Ping and OpProcessList to every peer.
        Assert.Empty(ConfigLoader.Parse(text, "/etc/remoteops/config.yaml").Steward.Methods);
        var uncommented = string.Join("\n", text.Split('\n').Select(l => Regex.IsMatch(l, @"^#(?:[a-z_]|  [a-z_])") ? l[1..] : l));
        var c = ConfigLoader.Parse(uncommented, "/etc/remoteops/config.yaml");
        Assert.Equal(1, c.Replicas);
        var s = c.Steward;
        Assert.Equal("local.me", s.Central);
        Assert.Equal(Served, s.Methods.Keys.Order());
        Assert.All(s.Methods.Values, allowed => Assert.Equal([StewardConfigReader.AnyPeer], allowed));
        Assert.True(StewardConfig.IsAllowed(s, TrustStore.For(c), StewardMethod.Ping, k.PublicBase58));
        Assert.False(StewardConfig.IsAllowed(s, TrustStore.For(c), StewardMethod.CliCommand, k.PublicBase58));
        Assert.Equal(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local/state/remoteops/steward"), s.EffectiveDataDirectory);
    }
}
