using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Remaphore;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Remaphore;

public class RemaphoreConfigConverterTests
{
    [Fact]
    public void Converts_a_seed_format_config_with_several_servers_identities_and_peers()
    {
        using var a = SigningKey.Generate();
        using var b = SigningKey.Generate();
        using var p1 = SigningKey.Generate();
        using var p2 = SigningKey.Generate();
        // As remaphore -C writes it (Go's 64-byte private keys, "[verb, verb]"), plus comments and odd spacing it accepts.
        var conf = $"""
            # remaphore config
            server: nats://nats1:4222
            server: nats://nats2:4222
            Server: nats://nats3:4222
            credentials: /etc/remaphore/remaphore.creds
            subject: remaphore
            default_identity: {b.PublicBase58}
            destination: com.crypto.us.left
            allow_skew: 10s

            [ Identities ]
            {a.PublicBase58} {a.ExportGoPrivateBase58()} [Ping, upload_done]
            {b.PublicBase58} {b.ExportGoPrivateBase58()} [*]   # the admin key

            [ Peers ]
            com.crypto.us.right {p1.PublicBase58} [ping]
            com.crypto.eu.*   {p2.PublicBase58}  [ping, upload_done, *]
            """;
        var result = RemaphoreConfigConverter.Convert(conf, "/etc/remaphore/remaphore.conf");
        Assert.Empty(result.Warnings);
        Assert.Equal((3, 2, 2), (result.Servers, result.Identities, result.Peers));

        var c = ConfigLoader.Parse(result.Yaml, "/home/u/.config/remoteops/config.yaml");
        Assert.Equal(["nats://nats1:4222", "nats://nats2:4222", "nats://nats3:4222"], c.Servers);
        Assert.Equal("/etc/remaphore/remaphore.creds", c.Credentials);
        Assert.Equal("remaphore", c.Subject);
        Assert.Equal(b.PublicBase58, c.DefaultIdentity);
        Assert.Equal("com.crypto.us.left", c.Destination);
        Assert.Equal(TimeSpan.FromSeconds(10), c.AllowSkew);
        Assert.Equal(2, c.Identities.Count);
        Assert.Equal(a.PublicBase58, c.Identities[0].Public);
        Assert.Equal(a.ExportGoPrivateBase58(), c.Identities[0].Private);
        Assert.Equal(["ping", "upload_done"], c.Identities[0].Verbs); // lower-cased, as remaphore does
        Assert.Equal(["*"], c.Identities[1].Verbs);
        Assert.Equal(2, c.Peers.Count);
        Assert.Equal(("com.crypto.us.right", p1.PublicBase58), (c.Peers[0].Destination, c.Peers[0].Public));
        Assert.Equal(["ping"], c.Peers[0].Verbs);
        Assert.Equal(("com.crypto.eu.*", p2.PublicBase58), (c.Peers[1].Destination, c.Peers[1].Public));
        Assert.Equal(["ping", "upload_done", "*"], c.Peers[1].Verbs);
        // The converted keys sign as the originals.
        Assert.Equal(a.PublicBase58, IdentityStore.LoadKey(c.Identities[0]).PublicBase58);
    }

    [Fact]
    public void Remaphore_defaults_are_made_explicit()
    {
        using var a = SigningKey.Generate();
        using var b = SigningKey.Generate();
        var conf = $"server: nats://n:4222\n[ Identities ]\n{a.PublicBase58} {a.ExportGoPrivateBase58()} [x]\n{b.PublicBase58} {b.ExportGoPrivateBase58()} [y]\n";
        var result = RemaphoreConfigConverter.Convert(conf, "/r.conf");
        var c = ConfigLoader.Parse(result.Yaml, "/c.yaml");
        Assert.Equal(TimeSpan.FromSeconds(3), c.AllowSkew); // remaphore's validateConfig default
        Assert.Equal(a.PublicBase58, c.DefaultIdentity);     // remaphore's default: the first identity
        Assert.Contains(result.Warnings, w => w.Contains("destination"));
        Assert.Empty(c.Peers);
    }

    [Fact]
    public void Unknown_keys_sections_and_lines_are_warnings_as_remaphore_ignores_them()
    {
        var conf = "server: nats://n:4222\ncolour: blue\nnot a key value line\n[ Extras ]\n";
        var result = RemaphoreConfigConverter.Convert(conf, "/r.conf");
        Assert.Contains(result.Warnings, w => w.StartsWith("Line 2:") && w.Contains("colour"));
        Assert.Contains(result.Warnings, w => w.StartsWith("Line 3:"));
        Assert.Contains(result.Warnings, w => w.StartsWith("Line 4:") && w.Contains("[ Extras ]"));
        Assert.Equal(["nats://n:4222"], ConfigLoader.Parse(result.Yaml, "/c.yaml").Servers);
    }

    [Fact]
    public void Values_that_yaml_would_misread_are_quoted()
    {
        using var a = SigningKey.Generate();
        var conf = $"server: nats://n:4222\ncredentials: /path with spaces/#not-a-comment-in-yaml\ndestination: yes\n[ Peers ]\n** {a.PublicBase58} [*]\n";
        var result = RemaphoreConfigConverter.Convert(conf, "/r.conf");
        var c = ConfigLoader.Parse(result.Yaml, "/c.yaml");
        Assert.Equal("/path with spaces/", c.Credentials); // remaphore cuts at '#', and so do we
        Assert.Equal("yes", c.Destination);
        Assert.Equal("**", c.Peers[0].Destination);
    }

    [Theory]
    [InlineData("server: nats://n:4222\n[ Identities ]\nonlyonefield\n", 3, "identities")]
    [InlineData("server: nats://n:4222\n[ Identities ]\n{A} {APRIV}\n", 3, "identities")]
    [InlineData("server: nats://n:4222\n[ Identities ]\n{A} {APRIV} ping\n", 3, "identities")]
    [InlineData("server: nats://n:4222\n[ Identities ]\nbadkey {APRIV} [ping]\n", 3, "identities")]
    [InlineData("server: nats://n:4222\n[ Identities ]\n{A} notakey [ping]\n", 3, "identities")]
    [InlineData("server: nats://n:4222\n[ Identities ]\n{A} {BPRIV} [ping]\n", 3, "identities")]
    [InlineData("server: nats://n:4222\n\n[ Peers ]\n# comment\ncom.x.y notakey [ping]\n", 5, "peers")]
    [InlineData("server: nats://n:4222\n[ Peers ]\ncom.x.y {A}\n", 3, "peers")]
    [InlineData("server: nats://n:4222\ndefault_identity: xyz\n", 2, "default_identity")]
    [InlineData("server: nats://n:4222\nallow_skew: 5 minutes\n", 2, "allow_skew")]
    [InlineData("allow_skew: 5s\n", 0, "server")]
    [InlineData("", 0, "server")]
    public void What_remaphore_rejects_is_an_error_naming_the_line(string template, int line, string key)
    {
        using var a = SigningKey.Generate();
        using var b = SigningKey.Generate();
        var conf = template.Replace("{A}", a.PublicBase58).Replace("{APRIV}", a.ExportGoPrivateBase58()).Replace("{BPRIV}", b.ExportGoPrivateBase58());
        var e = Assert.Throws<ConfigException>(() => RemaphoreConfigConverter.Convert(conf, "/etc/remaphore/remaphore.conf"));
        Assert.Equal(line, e.Line);
        Assert.Equal(key, e.Key);
        Assert.Contains("/etc/remaphore/remaphore.conf", e.Message);
    }

    [Fact]
    public void Accepts_32_byte_private_keys_and_crlf_line_ends()
    {
        using var a = SigningKey.Generate();
        var conf = $"server: nats://n:4222\r\n[ identities ]\r\n{a.PublicBase58}\t{a.ExportSeedBase58()}\t[ ping , pong ]\r\n";
        var c = ConfigLoader.Parse(RemaphoreConfigConverter.Convert(conf, "/r.conf").Yaml, "/c.yaml");
        Assert.Equal(["ping", "pong"], c.Identities[0].Verbs);
        Assert.Equal(a.ExportSeedBase58(), c.Identities[0].Private);
    }

    [Fact]
    public void A_missing_file_is_an_error()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<ConfigException>(() => RemaphoreConfigConverter.ConvertFile(dir.File("remaphore.conf")));
        Assert.Contains("does not exist", e.Message);
    }

    [Theory]
    [InlineData("server: http://x:4222\n", 1, "server")]
    [InlineData("server: nats://a:4222\ndestination: a..b\n", 2, "destination")]
    [InlineData("server: nats://a:4222\nsubject: a b\n", 2, "subject")]
    [InlineData("server: nats://a:4222\nallow_skew: 100000d\n", 2, "allow_skew")]
    [InlineData("server: nats://a:4222\ndefault_identity: 3v96V3EgjiuXjmdkb5a4RjjtqfLoZCD657uyqrYZ1Xam\n", 2, "default_identity")]
    // A verb list with a stray bracket: "d [ping" holds white space, which the verb rule refuses (found by the property test).
    [InlineData("server: nats://a:4222\n[ Peers ]\ncom.x Dqyio5D287m36rGf2vVh11dBarWgBHrcq7QRsKxmiNsg [ping,D [ping, upload]\n", 3, "peers")]
    public void Values_the_yaml_loader_would_refuse_are_refused_on_their_remaphore_conf_line(string conf, int line, string key)
    {
        var e = Assert.Throws<ConfigException>(() => RemaphoreConfigConverter.Convert(conf, "/r.conf"));
        Assert.Equal(line, e.Line);
        Assert.Equal(key, e.Key);
    }

    [Fact]
    public void Characters_yaml_does_not_allow_unescaped_are_escaped_so_the_converted_file_loads()
    {
        var result = RemaphoreConfigConverter.Convert("server: nats://a:4222\n[ Peers ]\nx\ufeffy\ufffez 3v96V3EgjiuXjmdkb5a4RjjtqfLoZCD657uyqrYZ1Xam [*]\n", "/r.conf");
        var c = ConfigLoader.Parse(result.Yaml, "/c.yaml");
        Assert.Equal("x\ufeffy\ufffez", Assert.Single(c.Peers).Destination);
    }
}
