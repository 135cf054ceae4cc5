using RemoteOps.Config;
using RemoteOps.Remaphore;
using RemoteOps.Seaport;
using RemoteOps.Steward;
using YamlDotNet.RepresentationModel;

namespace RemoteOps.Core.Tests.Config;

/// <summary>A fifth tool, as a test would write one: its section is read, listed and described without any edit of
/// the shared loader.</summary>
public sealed record DemoConfig : ConfigSection
{
    public string Greeting { get; init; } = "hello";

    // The output model has no demo property; borrowing User (only when set in the file, so configs in other tests
    // are described as before) shows the describer reaching a section it never named.
    public override void Describe(RemoteOpsConfigInfo info)
    {
        if (Greeting != "hello") info.User ??= "demo:" + Greeting;
    }
}

public sealed class DemoConfigReader : ConfigSectionReader<DemoConfig>
{
    public override string Tool => "demo";
    public override string? SectionName => "demo";
    public override IReadOnlyList<string> Keys { get; } = ["greeting"];

    protected override DemoConfig Read(DemoConfig current, string key, YamlNode value, ConfigReader reader) =>
        current with { Greeting = reader.String(value, key) ?? current.Greeting };
}

/// <summary>A tool whose keys sit at the top level, as remaphore's do.</summary>
public sealed record FlatDemoConfig : ConfigSection
{
    public int Depth { get; init; } = 1;
}

public sealed class FlatDemoConfigReader : ConfigSectionReader<FlatDemoConfig>
{
    public override string Tool => "flatdemo";
    public override IReadOnlyList<string> Keys { get; } = ["flat_depth"];

    protected override FlatDemoConfig Read(FlatDemoConfig current, string key, YamlNode value, ConfigReader reader) =>
        current with { Depth = reader.Int(value, key, 1, 9) };
}

public class ConfigSectionsTests
{
    static ConfigSectionsTests()
    {
        ConfigSections.Register(new DemoConfigReader());
        ConfigSections.Register(new FlatDemoConfigReader());
    }

    private static RemoteOpsConfig Parse(string yaml) => ConfigLoader.Parse(yaml, "/cfg/config.yaml");

    [Fact]
    public void A_registered_section_is_read()
    {
        var c = Parse("servers: [nats://a:4222]\ndemo:\n  greeting: hi\nflat_depth: 3\n");
        Assert.Equal("hi", c.Section<DemoConfig>().Greeting);
        Assert.Equal(3, c.Section<FlatDemoConfig>().Depth);
    }

    [Fact]
    public void An_absent_section_yields_its_defaults()
    {
        var c = Parse("servers: [nats://a:4222]\n");
        Assert.Equal("hello", c.Section<DemoConfig>().Greeting);
        Assert.Equal(1, c.Section<FlatDemoConfig>().Depth);
        Assert.Equal("seaport", c.Seaport.Bucket);
        Assert.Equal("remaphore", c.Subject);
        Assert.Equal("remaphore_latch", c.LatchBucket);
        Assert.Empty(c.Sections);
    }

    [Fact]
    public void Registered_keys_appear_in_the_unknown_key_list()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("demos: x\n"));
        Assert.Equal(1, e.Line);
        Assert.Equal("demos", e.Key);
        var known = e.Message[(e.Message.IndexOf("expected one of: ", StringComparison.Ordinal) + "expected one of: ".Length)..].TrimEnd('.').Split(", ");
        Assert.Equal("servers", known[0]);
        Assert.Contains("demo", known);
        Assert.Contains("flat_depth", known);
        Assert.Contains("seaport", known);
        Assert.Contains("subject", known);
        Assert.Contains("latch_bucket", known);
        Assert.Contains("max_payload", known);
        Assert.Equal(known.Length, known.Distinct().Count());
    }

    [Fact]
    public void Unknown_keys_inside_a_registered_section_list_its_keys()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("demo:\n  greting: hi\n"));
        Assert.Equal(2, e.Line);
        Assert.Equal("demo.greting", e.Key);
        Assert.EndsWith("unknown key; expected one of: greeting.", e.Message);
    }

    [Fact]
    public void A_section_problem_names_its_line_and_key()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("servers: [nats://a:4222]\nflat_depth: 12\n"));
        Assert.Equal(2, e.Line);
        Assert.Equal("flat_depth", e.Key);
    }

    [Fact]
    public void A_reader_cannot_claim_a_shared_key_or_another_tools_key()
    {
        Assert.Throws<InvalidOperationException>(() => ConfigSections.Register(new ClaimsReader("servers")));
        Assert.Throws<InvalidOperationException>(() => ConfigSections.Register(new ClaimsReader("subject")));
        Assert.Throws<InvalidOperationException>(() => ConfigSections.Register(new ClaimsReader("seaport")));
        Assert.DoesNotContain(ConfigSections.Readers, r => r is ClaimsReader);
    }

    [Fact]
    public void Registering_the_same_reader_again_is_harmless()
    {
        var before = ConfigSections.Readers.Count;
        ConfigSections.Register(new DemoConfigReader());
        Assert.Equal(before, ConfigSections.Readers.Count);
    }

    [Fact]
    public void Each_section_describes_itself_into_the_shared_output()
    {
        var c = Parse("servers: [nats://a:4222]\nsubject: fleet\nlatch_bucket: l\nseaport:\n  bucket: reg\n  range: [30000, 30100]\ndemo:\n  greeting: hi\n");
        var info = ConfigDescriber.Describe(c, "/cfg/config.yaml");
        Assert.Equal("fleet", info.Subject);
        Assert.Equal("l", info.LatchBucket);
        Assert.Equal("reg", info.Seaport.Bucket);
        Assert.Equal([30000, 30100], info.Seaport.Range);
        Assert.Equal(TimeSpan.FromSeconds(45), info.Seaport.Timeout);
        Assert.Equal("demo:hi", info.User);

        using var issuer = RemoteOps.Identity.SigningKey.Generate();
        var tools = Parse("servers: [nats://a:4222]\nsteward:\n  stream: jobs\n  central: com.x.central\n  data_directory: /var/lib/st\n  pwsh_command: [dotnet, pwsh]\n"
            + "  methods:\n    Ping: { allowed: ['*'] }\n    PwshScript: { allowed: [com.x.ops] }\n  governors:\n    deploys: 2\n"
            + "herder:\n  sandbox: none\n  max_timeout: 1m\n  token_issuers: [" + issuer.PublicBase58 + "]\n  require_token: true\n  proxy_port: 8080\n  environments:\n    lua: [lua5.4]\n");
        var described = ConfigDescriber.Describe(tools, "/cfg/config.yaml");
        Assert.Equal("jobs", described.Steward.Stream);
        Assert.Equal("com.x.central", described.Steward.Central);
        Assert.Equal("/var/lib/st", described.Steward.DataDirectory);
        Assert.Equal(["dotnet", "pwsh"], described.Steward.PwshCommand);
        Assert.Equal(["*"], described.Steward.Methods["Ping"]);
        Assert.Equal(["com.x.ops"], described.Steward.Methods["PwshScript"]);
        Assert.Equal(2, described.Steward.Governors["deploys"]);
        Assert.Equal("None", described.Herder.Sandbox);
        Assert.Equal(TimeSpan.FromMinutes(1), described.Herder.MaxTimeout);
        Assert.Equal([issuer.PublicBase58], described.Herder.TokenIssuers);
        Assert.True(described.Herder.RequireToken);
        Assert.Equal(8080, described.Herder.ProxyPort);
        Assert.Equal(["lua5.4"], described.Herder.Environments["lua"]);
        Assert.Contains("methods Ping,PwshScript", described.Steward.ToString());

        var defaults = ConfigDescriber.Describe(new RemoteOpsConfig(), null);
        Assert.Equal("steward", defaults.Steward.Stream);
        Assert.Equal("steward_results", defaults.Steward.ResultsBucket);
        Assert.Equal(2, defaults.Steward.PwshWorkers);
        Assert.Empty(defaults.Steward.Methods);
        Assert.Equal(StewardConfig.DefaultDataDirectory(), defaults.Steward.DataDirectory);
        Assert.Equal("Bubblewrap", defaults.Herder.Sandbox);
        Assert.Equal("herder_ledger", defaults.Herder.LedgerBucket);
        Assert.Equal(0, defaults.Herder.ProxyPort);
        Assert.Equal("remaphore", defaults.Subject);
        Assert.Equal("remaphore_latch", defaults.LatchBucket);
        Assert.Equal("seaport", defaults.Seaport.Bucket);
        Assert.Equal([20000, 32767], defaults.Seaport.Range);
    }

    [Fact]
    public void Configs_are_changed_by_copy_not_in_place()
    {
        var c = Parse("servers: [nats://a:4222]\nseaport:\n  bucket: reg\n");
        var changed = c.WithSection<SeaportConfig>(s => s with { Heartbeat = TimeSpan.FromSeconds(2) }) with { Destination = "com.x" };
        Assert.Equal("reg", changed.Seaport.Bucket);
        Assert.Equal(TimeSpan.FromSeconds(2), changed.Seaport.Heartbeat);
        Assert.Equal(TimeSpan.FromSeconds(15), c.Seaport.Heartbeat);
        Assert.Null(c.Destination);
        Assert.Single(changed.Sections);

        // The range is an array for its callers; changing the copy handed out leaves the section as it was.
        c.Seaport.Range[0] = 1;
        Assert.Equal([20000, 32767], c.Seaport.Range);
    }

    [Fact]
    public void Printing_a_config_shows_no_secret()
    {
        var c = new RemoteOpsConfig { Password = "pw-secret", Token = "tok-secret", Identities = [new IdentityConfig { Public = "P", Private = "seed-secret" }] };
        Assert.DoesNotContain("secret", c.ToString());
        Assert.DoesNotContain("secret", c.Identities[0].ToString());
    }

    private sealed record ClaimedConfig : ConfigSection;

    private sealed class ClaimsReader(string key) : ConfigSectionReader<ClaimedConfig>
    {
        public override string Tool => "claims";
        public override IReadOnlyList<string> Keys { get; } = [key];
        protected override ClaimedConfig Read(ClaimedConfig current, string k, YamlNode value, ConfigReader reader) => current;
    }
}
