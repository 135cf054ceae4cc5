using System.Text.RegularExpressions;
using RemoteOps.Config;
using RemoteOps.Herder;
using RemoteOps.Identity;
using RemoteOps.Remaphore;
using RemoteOps.Seaport;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Config;

// File modes are Unix; the suites run on Linux (CI) and macOS.
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class ExampleConfigTests
{
    private static readonly string[] EveryKey =
    [
        "servers", "credentials", "nkey_seed_file", "user", "password", "token", "tls", "ca", "cert", "key",
        "subject", "inbox_prefix", "destination", "allow_skew", "default_identity", "identities", "public", "private", "private_file",
        "verbs", "peers", "latch_bucket", "max_payload", "seaport", "bucket", "heartbeat", "timeout", "range", "authorized",
        "herder", "environments", "sandbox", "max_timeout", "memory_limit", "token_issuers", "require_token", "credits_per_second",
        "ledger_bucket", "log_retention", "proxy_port", "browser",
    ];

    [Fact]
    public void The_example_loads_and_its_identity_signs()
    {
        using var dir = new TempDir();
        var path = dir.File("sub/dir/config.yaml");
        var result = ExampleConfig.Write(path, force: false, ["nats://127.0.0.1:14222", "nats://other:4222"], "com.example.me");
        Assert.Equal(path, result.ConfigPath);
        var c = ConfigLoader.Load(path, w => Assert.Fail(w));
        Assert.Equal(["nats://127.0.0.1:14222", "nats://other:4222"], c.Servers);
        Assert.Equal("com.example.me", c.Destination);
        Assert.Equal(result.PublicKey, c.DefaultIdentity);
        var id = Assert.Single(c.Identities);
        Assert.Equal(Path.Combine(dir.Path, "sub", "dir", "keys", result.PublicKey + ".key"), result.PrivateKeyFile);
        Assert.Equal(result.PrivateKeyFile, id.PrivateFile);
        Assert.Contains($"private_file: keys/{result.PublicKey}.key", File.ReadAllText(path));
        Assert.Equal(["*"], id.Verbs);
        var (_, key) = IdentityStore.Resolve(c, verb: "anything");
        Assert.Equal(result.PublicKey, key.PublicBase58);
        var peer = Assert.Single(c.Peers);
        Assert.Equal(("com.example.me", result.PublicKey), (peer.Destination, peer.Public));
        Assert.Equal(SecureFile.OwnerOnly, File.GetUnixFileMode(result.PrivateKeyFile) & (UnixFileMode)0x1FF);
        Assert.Equal(SecureFile.OwnerOnly, File.GetUnixFileMode(path) & (UnixFileMode)0x1FF);
    }

    [Fact]
    public void Every_key_is_documented_and_each_commented_setting_is_valid_when_uncommented()
    {
        var text = ExampleConfig.Text(["nats://127.0.0.1:4222"], "local.me", "PUBKEY", "keys/x.key");
        foreach (var key in EveryKey)
        {
            Assert.Matches(new Regex($@"^# (?:  )?{key}[: ]", RegexOptions.Multiline), text); // documented
            Assert.Matches(new Regex($@"^ *(?:- )?#? *{key}:", RegexOptions.Multiline), text); // shown
        }

        // Uncomment the sample settings ("# key: value" and their indented children) and the result must still load.
        using var k = SigningKey.Generate();
        var real = ExampleConfig.Text(["nats://127.0.0.1:4222"], "local.me", k.PublicBase58, "keys/x.key");
        var uncommented = string.Join("\n", real.Split('\n').Select(l =>
            Regex.IsMatch(l, @"^#(?:[a-z_]|  [a-z_])") ? l[1..] : l));
        var c = ConfigLoader.Parse(uncommented, "/etc/remoteops/config.yaml");
        Assert.Equal("/etc/remoteops/remoteops.creds".Replace("/etc/remoteops", Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config/remoteops")), c.Credentials);
        Assert.Equal("remoteops", c.User);
        Assert.NotNull(c.Password);
        Assert.NotNull(c.Token);
        Assert.Equal("/etc/remoteops/ca.pem", c.Tls!.Ca);
        Assert.Equal("remaphore_latch", c.LatchBucket);
        Assert.Equal(65536, c.MaxPayload);
        Assert.Equal(TimeSpan.FromSeconds(45), c.Seaport.EffectiveTimeout);
        Assert.Equal([k.PublicBase58], c.Seaport.Authorized);
        Assert.Equal(TimeSpan.FromDays(7), c.Herder.LogRetention);
    }

    [Fact]
    public void An_existing_file_is_kept_unless_forced()
    {
        using var dir = new TempDir();
        var path = dir.File("config.yaml");
        File.WriteAllText(path, "mine: true\n");
        Assert.Throws<ConfigFileExistsException>(() => ExampleConfig.Write(path, force: false));
        Assert.Equal("mine: true\n", File.ReadAllText(path));
        ExampleConfig.Write(path, force: true);
        Assert.Contains("servers:", File.ReadAllText(path));
    }

    [Fact]
    public void The_default_destination_is_reverse_dotted()
    {
        Assert.Matches(@"^local\.[a-z0-9_-]+$", ExampleConfig.DefaultDestination());
    }
}
