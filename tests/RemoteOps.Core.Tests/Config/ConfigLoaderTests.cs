using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Remaphore;
using RemoteOps.Seaport;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Config;

// File modes are Unix; the suites run on Linux (CI) and macOS.
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class ConfigLoaderTests
{
    private static ConfigException Fails(string yaml, string file = "/cfg/config.yaml") =>
        Assert.Throws<ConfigException>(() => ConfigLoader.Parse(yaml, file));

    private static void AssertLocated(ConfigException e, int line, string? key)
    {
        Assert.Equal(line, e.Line);
        Assert.Equal(key, e.Key);
        Assert.Contains(e.File, e.Message);
        if (line > 0) Assert.Contains($"line {line}", e.Message);
        if (key is not null) Assert.Contains($"key '{key}'", e.Message);
    }

    [Fact]
    public void Every_key_is_read()
    {
        using var a = SigningKey.Generate();
        using var b = SigningKey.Generate();
        var yaml = $"""
            servers:
              - nats://a:4222
              - nats://b:4222
            credentials: /etc/remoteops/x.creds
            nkey_seed_file: /etc/remoteops/user.nk
            user: alice
            password: pw
            token: tok
            tls:
              ca: /tls/ca.pem
              cert: /tls/cert.pem
              key: /tls/key.pem
            subject: fleet
            destination: com.example.host1
            allow_skew: 1m30s
            default_identity: {a.PublicBase58}
            identities:
              - public: {a.PublicBase58}
                private: {a.ExportSeedBase58()}
                verbs: [ping, upload]
              - public: {b.PublicBase58}
                private_file: /keys/b.key
                verbs: "*"
            peers:
              - destination: com.example.host2
                public: {b.PublicBase58}
                verbs: [ping]
            latch_bucket: my_latch
            max_payload: 1024
            seaport:
              bucket: reg
              heartbeat: 2s
              timeout: 7s
              range: [30000, 30100]
              authorized: [{a.PublicBase58}, {b.PublicBase58}]
            """;
        var c = ConfigLoader.Parse(yaml, "/cfg/config.yaml");
        Assert.Equal("/cfg/config.yaml", c.SourcePath);
        Assert.Equal(["nats://a:4222", "nats://b:4222"], c.Servers);
        Assert.Equal("/etc/remoteops/x.creds", c.Credentials);
        Assert.Equal("/etc/remoteops/user.nk", c.NkeySeedFile);
        Assert.Equal("alice", c.User);
        Assert.Equal("pw", c.Password);
        Assert.Equal("tok", c.Token);
        Assert.Equal("/tls/ca.pem", c.Tls!.Ca);
        Assert.Equal("/tls/cert.pem", c.Tls.Cert);
        Assert.Equal("/tls/key.pem", c.Tls.Key);
        Assert.Equal("fleet", c.Subject);
        Assert.Equal("com.example.host1", c.Destination);
        Assert.Equal(TimeSpan.FromSeconds(90), c.AllowSkew);
        Assert.Equal(a.PublicBase58, c.DefaultIdentity);
        Assert.Equal(2, c.Identities.Count);
        Assert.Equal(a.PublicBase58, c.Identities[0].Public);
        Assert.Equal(a.ExportSeedBase58(), c.Identities[0].Private);
        Assert.Equal(["ping", "upload"], c.Identities[0].Verbs);
        Assert.Equal(18, c.Identities[0].Line);
        Assert.Equal("/keys/b.key", c.Identities[1].PrivateFile);
        Assert.Equal(["*"], c.Identities[1].Verbs);
        var peer = Assert.Single(c.Peers);
        Assert.Equal("com.example.host2", peer.Destination);
        Assert.Equal(b.PublicBase58, peer.Public);
        Assert.Equal(["ping"], peer.Verbs);
        Assert.Equal("my_latch", c.LatchBucket);
        Assert.Equal(1024, c.MaxPayload);
        Assert.Equal("reg", c.Seaport.Bucket);
        Assert.Equal(TimeSpan.FromSeconds(2), c.Seaport.Heartbeat);
        Assert.Equal(TimeSpan.FromSeconds(7), c.Seaport.EffectiveTimeout);
        Assert.Equal([30000, 30100], c.Seaport.Range);
        Assert.Equal([a.PublicBase58, b.PublicBase58], c.Seaport.Authorized);
    }

    [Fact]
    public void Seed_style_single_server_key_and_comma_separated_lists_are_accepted()
    {
        var c = ConfigLoader.Parse("server: nats://x:4222\nseaport:\n  authorized: k1, k2\n", "/c.yaml");
        Assert.Equal(["nats://x:4222"], c.Servers);
        Assert.Equal(["k1", "k2"], c.Seaport.Authorized);
    }

    [Fact]
    public void Defaults_apply_to_an_empty_file_and_a_comment_only_file()
    {
        foreach (var text in new[] { "", "   \n", "# only a comment\n# another\n" })
        {
            var c = ConfigLoader.Parse(text, "/c.yaml");
            Assert.Equal(["nats://127.0.0.1:4222"], c.Servers);
            Assert.Equal("remaphore", c.Subject);
            Assert.Equal(TimeSpan.FromSeconds(5), c.AllowSkew);
            Assert.Equal("remaphore_latch", c.LatchBucket);
            Assert.Equal(64 * 1024, c.MaxPayload);
            Assert.Equal("seaport", c.Seaport.Bucket);
            Assert.Equal(TimeSpan.FromSeconds(15), c.Seaport.Heartbeat);
            Assert.Equal(TimeSpan.FromSeconds(45), c.Seaport.EffectiveTimeout);
            Assert.Equal([20000, 32767], c.Seaport.Range);
            Assert.Empty(c.Identities);
            Assert.Empty(c.Peers);
        }
    }

    [Fact]
    public void Bad_yaml_names_file_and_line()
    {
        var e = Fails("servers:\n  - nats://a:4222\nsubject: [unclosed\n");
        Assert.True(e.Line >= 3, e.Message);
        Assert.Contains("not valid YAML", e.Message);
        Assert.Contains("/cfg/config.yaml", e.Message);
        Assert.DoesNotContain("   at ", e.Message);
    }

    [Fact]
    public void Tabs_for_indentation_are_bad_yaml_not_a_crash()
    {
        var e = Fails("tls:\n\tca: x\n");
        Assert.Contains("not valid YAML", e.Message);
        Assert.True(e.Line > 0);
    }

    [Fact]
    public void A_duplicate_key_names_its_line()
    {
        var e = Fails("subject: a\nsubject: b\n");
        Assert.Equal(2, e.Line);
        Assert.Equal("subject", e.Key);
        Assert.Contains("more than once", e.Message);
    }

    [Theory]
    [InlineData("subjekt: x\n", 1, "subjekt")]
    [InlineData("subject: x\ntls:\n  cafile: /x\n", 3, "tls.cafile")]
    [InlineData("identities:\n  - verbs: [a]\n    secret: y\n", 3, "identities.secret")]
    [InlineData("peers:\n  - destination: a\n    key: y\n", 3, "peers.key")]
    [InlineData("seaport:\n  ttl: 5s\n", 2, "seaport.ttl")]
    public void Unknown_keys_are_errors_naming_line_and_key(string yaml, int line, string key)
    {
        var e = Fails(yaml);
        AssertLocated(e, line, key);
        Assert.Contains("unknown key", e.Message);
    }

    [Theory]
    [InlineData("servers:\n  a: b\n", 2, "servers")]
    [InlineData("identities: just-a-string\n", 1, "identities")]
    [InlineData("peers: {a: b}\n", 1, "peers")]
    [InlineData("allow_skew: [1, 2]\n", 1, "allow_skew")]
    [InlineData("tls: /path/only\n", 1, "tls")]
    [InlineData("subject:\n  a: b\n", 2, "subject")]
    [InlineData("max_payload: lots\n", 1, "max_payload")]
    [InlineData("seaport: 5\n", 1, "seaport")]
    [InlineData("seaport:\n  range: 20000\n", 2, "seaport.range")]
    [InlineData("identities:\n  - just-a-key\n", 2, "identities")]
    public void Wrong_types_are_errors_naming_line_and_key(string yaml, int line, string key)
    {
        var e = Fails(yaml);
        AssertLocated(e, line, key);
    }

    [Theory]
    [InlineData("allow_skew: 5 parsecs\n", 1, "allow_skew")]
    [InlineData("allow_skew: -5s\n", 1, "allow_skew")]
    [InlineData("seaport:\n  heartbeat: soon\n", 2, "seaport.heartbeat")]
    [InlineData("seaport:\n  timeout: 1x\n", 2, "seaport.timeout")]
    public void Bad_durations_are_errors_naming_line_and_key(string yaml, int line, string key)
    {
        var e = Fails(yaml);
        AssertLocated(e, line, key);
        Assert.Contains("duration", e.Message);
    }

    [Theory]
    [InlineData("seaport:\n  range: [30000, 20000]\n", 2, "seaport.range")]
    [InlineData("seaport:\n  range: [20000]\n", 2, "seaport.range")]
    [InlineData("seaport:\n  range: [20000, 30000, 40000]\n", 2, "seaport.range")]
    [InlineData("seaport:\n  range: [0, 100]\n", 2, "seaport.range")]
    [InlineData("seaport:\n  range: [100, 70000]\n", 2, "seaport.range")]
    [InlineData("max_payload: 0\n", 1, "max_payload")]
    [InlineData("max_payload: 99999999\n", 1, "max_payload")]
    public void Out_of_range_numbers_are_errors_naming_line_and_key(string yaml, int line, string key)
    {
        var e = Fails(yaml);
        AssertLocated(e, line, key);
    }

    [Theory]
    [InlineData("subject: \"a b\"\n")]
    [InlineData("subject: a.*\n")]
    [InlineData("subject: a..b\n")]
    [InlineData("subject: a.>\n")]
    [InlineData("subject: .a\n")]
    public void Invalid_subjects_are_errors(string yaml)
    {
        var e = Fails(yaml);
        AssertLocated(e, 1, "subject");
    }

    [Fact]
    public void An_empty_server_list_is_an_error()
    {
        var e = Fails("servers: []\n");
        Assert.Equal("servers", e.Key);
    }

    [Fact]
    public void Identities_and_peers_need_their_keys()
    {
        using var k = SigningKey.Generate();
        AssertLocated(Fails("identities:\n  - private: x\n"), 2, "identities.public");
        AssertLocated(Fails($"identities:\n  - public: {k.PublicBase58}\n    verbs: [a]\n"), 2, "identities.private");
        AssertLocated(Fails("peers:\n  - destination: a.b\n"), 2, "peers.public");
    }

    [Fact]
    public void Malformed_public_keys_are_errors_naming_line_and_key()
    {
        using var k = SigningKey.Generate();
        AssertLocated(Fails("identities:\n  - public: not-base58-0OIl\n    private: x\n"), 2, "identities.public");
        AssertLocated(Fails("peers:\n  - destination: a\n    public: abc\n"), 3, "peers.public");
        AssertLocated(Fails("default_identity: abc\n"), 1, "default_identity");
        // A well-formed key that names no configured identity.
        AssertLocated(Fails($"default_identity: {k.PublicBase58}\n"), 1, "default_identity");
    }

    [Fact]
    public void Relative_paths_are_relative_to_the_config_file_and_tilde_is_home()
    {
        using var dir = new TempDir();
        var file = dir.File("config.yaml");
        var c = ConfigLoader.Parse("credentials: creds/x.creds\nnkey_seed_file: ../user.nk\ntls:\n  ca: ~/ca.pem\n  cert: /abs/cert.pem\n", file);
        Assert.Equal(Path.Combine(dir.Path, "creds", "x.creds"), c.Credentials);
        Assert.Equal(Path.GetFullPath(Path.Combine(dir.Path, "..", "user.nk")), c.NkeySeedFile);
        Assert.Equal(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), "ca.pem"), c.Tls!.Ca);
        Assert.Equal("/abs/cert.pem", c.Tls.Cert);
    }

    [Fact]
    public void Load_reads_a_file_and_resolves_its_relative_private_file()
    {
        using var dir = new TempDir();
        using var k = SigningKey.Generate();
        Directory.CreateDirectory(dir.File("keys"));
        SecureFile.WriteAllText(dir.File("keys/me.key"), k.ExportGoPrivateBase58(), overwrite: false);
        File.WriteAllText(dir.File("config.yaml"), $"identities:\n  - public: {k.PublicBase58}\n    private_file: keys/me.key\n    verbs: [ping]\n");
        var warnings = new List<string>();
        var c = ConfigLoader.Load(dir.File("config.yaml"), warnings.Add);
        Assert.Equal(dir.File("config.yaml"), c.SourcePath);
        Assert.Equal(Path.Combine(dir.Path, "keys", "me.key"), c.Identities[0].PrivateFile);
        Assert.Empty(warnings);
        Assert.Equal(k.PublicBase58, IdentityStore.LoadKey(c.Identities[0]).PublicBase58);
    }

    [Fact]
    public void A_missing_file_asked_for_by_name_is_an_error()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(dir.File("nope.yaml")));
        Assert.Equal(dir.File("nope.yaml"), e.File);
        Assert.Equal(0, e.Line);
        Assert.Contains("does not exist", e.Message);
        Assert.Contains("New-RemoteOpsConfig", e.Message);
    }

    [Fact]
    public void An_explicit_path_wins_over_the_environment_and_default()
    {
        Assert.Equal("/x/y.yaml", ConfigLoader.ResolvePath("/x/y.yaml"));
        Assert.EndsWith("config.yaml", ConfigLoader.DefaultPath);
        Assert.Contains("remoteops", ConfigLoader.DefaultPath, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_private_key_file_readable_by_others_gets_a_warning()
    {
        using var dir = new TempDir();
        using var k = SigningKey.Generate();
        File.WriteAllText(dir.File("open.key"), k.ExportGoPrivateBase58());
        File.SetUnixFileMode(dir.File("open.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.WriteAllText(dir.File("config.yaml"), $"identities:\n  - public: {k.PublicBase58}\n    private_file: open.key\n");
        var warnings = new List<string>();
        ConfigLoader.Load(dir.File("config.yaml"), warnings.Add);
        var warning = Assert.Single(warnings);
        Assert.Contains(dir.File("open.key"), warning);
        Assert.Contains("chmod 600", warning);

        File.SetUnixFileMode(dir.File("open.key"), SecureFile.OwnerOnly);
        warnings.Clear();
        ConfigLoader.Load(dir.File("config.yaml"), warnings.Add);
        Assert.Empty(warnings);
    }

    // Issue 7: each input below once let a .NET exception out of the loader (or was accepted and failed later).

    [Fact]
    public void An_unclosed_flow_list_followed_by_a_key_names_the_bracket_line()
    {
        var e = Fails("servers: [a\nsubject: x\n");
        AssertLocated(e, 1, null);
        Assert.Contains("not valid YAML", e.Message);
    }

    [Theory]
    [InlineData("[", 100_000)]
    [InlineData("- ", 50_000)]
    [InlineData("{a: ", 50_000)]
    public void Deep_nesting_is_refused_before_it_can_overflow_the_stack(string unit, int depth)
    {
        var e = Fails(string.Concat(Enumerable.Repeat(unit, depth)) + "x\n");
        Assert.Contains("nests deeper", e.Message);
        Assert.Equal(1, e.Line);
    }

    [Theory]
    [InlineData("? &x [*x]\n: v\n", 1)]
    [InlineData("servers: &s [nats://a:4222]\nseaport:\n  authorized: *s\n", 1)]
    [InlineData("servers: [nats://a:4222]\nsubject: *nope\n", 2)]
    public void Anchors_and_aliases_are_refused_a_self_reference_never_recurses(string yaml, int line)
    {
        var e = Fails(yaml);
        AssertLocated(e, line, null);
        Assert.Matches("anchors|aliases", e.Message);
    }

    [Theory]
    [InlineData("default_identity: 3v96V3EgjiuXjmdkb5a4Rjjtq\u00e9LoZCD657uyqrYZ1Xam\n", 1, "default_identity")]
    [InlineData("peers:\n  - destination: a\n    public: \"\\u0080\\uffff\u00e9\"\n", 3, "peers.public")]
    [InlineData("identities:\n  - public: \u00e9\u00e9\n    private: x\n", 2, "identities.public")]
    public void Non_ascii_in_a_public_key_is_an_error_naming_the_key(string yaml, int line, string key)
    {
        AssertLocated(Fails(yaml), line, key);
    }

    [Theory]
    [InlineData("seaport:\n  heartbeat: 10000000d\n", 2, "seaport.heartbeat")]
    [InlineData("seaport:\n  heartbeat: 10ms\n", 2, "seaport.heartbeat")]
    [InlineData("seaport:\n  timeout: 4d\n", 2, "seaport.timeout")]
    [InlineData("allow_skew: 100000d\n", 1, "allow_skew")]
    [InlineData("allow_skew: 25h\n", 1, "allow_skew")]
    [InlineData("allow_skew: 99999999999999999999999999999999d\n", 1, "allow_skew")]
    public void Durations_out_of_their_range_are_errors_naming_the_range(string yaml, int line, string key)
    {
        var e = Fails(yaml);
        AssertLocated(e, line, key);
        Assert.Matches("out of range|not a duration", e.Message);
    }

    [Fact]
    public void The_largest_durations_in_range_load_and_their_arithmetic_does_not_overflow()
    {
        var c = ConfigLoader.Parse("allow_skew: 1d\nseaport:\n  heartbeat: 1d\n", "/c.yaml");
        Assert.Equal(TimeSpan.FromDays(1), c.AllowSkew);
        Assert.Equal(TimeSpan.FromDays(3), c.Seaport.EffectiveTimeout);
    }

    [Theory]
    [InlineData("credentials: \"a\\0b\"\n", "credentials")]
    [InlineData("nkey_seed_file: \"\\0\"\n", "nkey_seed_file")]
    [InlineData("tls:\n  ca: \"x\\u0001\"\n", "tls.ca")]
    public void A_control_character_in_a_path_is_an_error_naming_the_key(string yaml, string key)
    {
        var e = Fails(yaml);
        Assert.Equal(key, e.Key);
        Assert.Contains("control character", e.Message);
    }

    [Theory]
    [InlineData("servers: not a url\n", 1)]
    [InlineData("servers:\n  - nats://a:4222\n  - http://b:4222\n", 3)]
    [InlineData("servers: [\"https://x\"]\n", 1)]
    [InlineData("server: nats://:4222\n", 1)]
    [InlineData("servers: [\"nats://a:0\"]\n", 1)]
    [InlineData("servers: [\"nats://a:99999\"]\n", 1)]
    public void A_server_that_is_not_a_NATS_URL_is_an_error_at_load(string yaml, int line)
    {
        var e = Fails(yaml);
        AssertLocated(e, line, yaml.StartsWith("server:", StringComparison.Ordinal) ? "server" : "servers");
        Assert.Contains("not a NATS server URL", e.Message);
    }

    [Fact]
    public void The_server_forms_NATS_accepts_load()
    {
        var c = ConfigLoader.Parse("servers: [nats://a:4222, \"tls://b\", \"ws://c:8080/nats\", \"wss://d\", \"localhost:4222\", e, \"[::1]:4222\", \"nats://u:p@f:4222\"]\n", "/c.yaml");
        Assert.Equal(8, c.Servers.Count);
    }

    [Theory]
    [InlineData("a..b")]
    [InlineData("a.*")]
    [InlineData(".a")]
    [InlineData("**")]
    [InlineData("a,b")]
    public void A_destination_that_is_not_a_node_name_is_an_error_at_load(string destination)
    {
        var e = Fails($"destination: \"{destination}\"\n");
        AssertLocated(e, 1, "destination");
        Assert.Contains("not a destination", e.Message);
    }

    [Theory]
    [InlineData("latch_bucket: \"a.b\"\n", 1, "latch_bucket")]
    [InlineData("seaport:\n  bucket: \"a b\"\n", 2, "seaport.bucket")]
    public void A_bucket_name_the_server_would_refuse_is_an_error_at_load(string yaml, int line, string key)
    {
        AssertLocated(Fails(yaml), line, key);
    }

    [Theory]
    [InlineData("servers:\n  - nats://a:4222\nsubject: [unclosed\n", 3)]
    [InlineData("tls:\n\tca: x\n", 2)]
    [InlineData("servers: [nats://a:4222]\n\nseaport:\n  bucket: x\n\theartbeat: 2s\n", 5)]
    [InlineData("a: b\nc: 'unterminated\nd: e\n", 2)]
    [InlineData("subject: x\nseaport: {bucket: y\n\n", 2)]
    [InlineData("subject: x\n  bucket: y\n", 2)]
    public void A_syntax_error_names_the_line_it_is_on(string yaml, int line)
    {
        var e = Fails(yaml);
        AssertLocated(e, line, null);
        Assert.Contains("not valid YAML", e.Message);
    }

    [Fact]
    public void A_directory_as_the_config_path_says_it_is_a_directory()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(dir.Path));
        Assert.Contains("is a directory", e.Message);
        Assert.DoesNotContain("does not exist", e.Message);
    }

    [Fact]
    public void A_config_path_with_a_NUL_is_an_error_not_an_ArgumentException()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load("/tmp/a\0b.yaml"));
        Assert.Equal(0, e.Line);
        Assert.Contains("not a valid path", Assert.Throws<ConfigException>(() => ConfigLoader.LoadCached("/tmp/a\0b.yaml")).Message);
    }
}
