using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Config;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class ConfigCheckerTests
{
    [Fact]
    public void A_sound_config_passes_every_check_and_each_check_names_its_target()
    {
        using var dir = new TempDir();
        using var a = SigningKey.Generate();
        using var b = SigningKey.Generate();
        SecureFile.WriteAllText(dir.File("a.key"), a.ExportGoPrivateBase58(), overwrite: false);
        File.WriteAllText(dir.File("ca.pem"), "x");
        var config = ConfigLoader.Parse($"""
            servers: [nats://a:4222, "localhost:4223"]
            destination: com.example.me
            tls:
              ca: ca.pem
            identities:
              - public: {a.PublicBase58}
                private_file: a.key
              - public: {b.PublicBase58}
                private: {b.ExportSeedBase58()}
            peers:
              - destination: com.example.you
                public: {b.PublicBase58}
            seaport:
              authorized: [{a.PublicBase58}]
            """, dir.File("config.yaml"));

        var checks = ConfigChecker.Check(config);

        Assert.All(checks, c => Assert.True(c.Passed, c.ToString()));
        Assert.Equal(["Server", "Server", "Destination", "Identity", "Identity", "File", "PeerKey", "TrustedKey"], checks.Select(c => c.Check));
        Assert.Equal(a.PublicBase58, checks[3].Target);
        Assert.Equal(dir.File("ca.pem"), checks[5].Target);
        Assert.All(checks, c => Assert.Equal(dir.File("config.yaml"), c.Path));
    }

    [Fact]
    public void A_private_key_of_another_pair_a_missing_key_file_and_missing_files_fail_with_the_reason()
    {
        using var dir = new TempDir();
        using var a = SigningKey.Generate();
        using var other = SigningKey.Generate();
        using var c = SigningKey.Generate();
        Directory.CreateDirectory(dir.File("creds"));
        var config = ConfigLoader.Parse($"""
            credentials: creds
            nkey_seed_file: missing.nk
            identities:
              - public: {a.PublicBase58}
                private: {other.ExportSeedBase58()}
              - public: {c.PublicBase58}
                private_file: nope.key
              - public: {other.PublicBase58}
                private: not-base58-0OIl
            """, dir.File("config.yaml"));

        var failed = ConfigChecker.Check(config).Where(x => !x.Passed).ToList();

        Assert.Equal(5, failed.Count);
        Assert.Contains(failed, x => x.Check == "Identity" && x.Target == a.PublicBase58 && x.Message.Contains($"belongs to {other.PublicBase58}"));
        Assert.Contains(failed, x => x.Check == "Identity" && x.Target == c.PublicBase58 && x.Message.Contains("nope.key"));
        Assert.Contains(failed, x => x.Check == "Identity" && x.Target == other.PublicBase58 && x.Message.Contains("not usable"));
        Assert.Contains(failed, x => x.Check == "File" && x.Message.Contains("is a directory"));
        Assert.Contains(failed, x => x.Check == "File" && x.Message.Contains("does not exist"));
    }

    [Fact]
    public void A_config_built_in_memory_is_held_to_the_same_rules_as_a_file()
    {
        var config = new RemoteOpsConfig { Servers = ["http://x"], Destination = "a..b", Peers = [new PeerConfig { Destination = "p", Public = "abc" }] };
        var failed = ConfigChecker.Check(config).Where(x => !x.Passed).Select(x => x.Check).ToList();
        Assert.Equal(["Server", "Destination", "PeerKey"], failed);
    }
}
