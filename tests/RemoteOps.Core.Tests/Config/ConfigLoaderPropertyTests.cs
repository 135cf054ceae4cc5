using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Seaport;

namespace RemoteOps.Core.Tests.Config;

/// <summary>Whatever the text, the loader's only outcomes are a config or a located <see cref="ConfigException"/>.
/// Through <see cref="ConfigLoader.ParseCore"/>, without the loader's last-resort conversion, so a leak fails here.</summary>
public class ConfigLoaderPropertyTests
{
    private const string File = "/cfg/config.yaml";
    private static readonly SigningKey A = SigningKey.Generate();

    // Every shared key and both tools' keys, valid: mutations of it reach every reader.
    private static readonly string Valid = $"""
        servers:
          - nats://a:4222
          - tls://b:4443
        credentials: /etc/remoteops/x.creds
        nkey_seed_file: user.nk
        user: alice
        password: pw
        token: tok
        tls:
          ca: /tls/ca.pem
          cert: ~/cert.pem
          key: key.pem
        subject: fleet
        destination: com.example.host1
        allow_skew: 1m30s
        default_identity: {A.PublicBase58}
        identities:
          - public: {A.PublicBase58}
            private: {A.ExportSeedBase58()}
            verbs: [ping, upload]
        peers:
          - destination: com.example.host2
            public: {A.PublicBase58}
            verbs: "*"
        latch_bucket: my_latch
        max_payload: 1024
        seaport:
          bucket: reg
          heartbeat: 2s
          timeout: 7s
          range: [30000, 30100]
          authorized: [{A.PublicBase58}]
        """;

    /// <summary>Parses; true when it gave a config, false for a located ConfigException; anything else fails the test.</summary>
    private static bool ParsesOrIsLocated(string yaml)
    {
        try
        {
            ConfigLoader.ParseCore(yaml, File, warn: null);
            return true;
        }
        catch (ConfigException e)
        {
            Assert.Equal(File, e.File);
            Assert.InRange(e.Line, 0, yaml.Count(c => c == '\n') + 2);
            Assert.Contains(File, e.Message);
            return false;
        }
    }

    [Fact]
    public void The_valid_text_the_mutations_start_from_loads()
    {
        var c = ConfigLoader.ParseCore(Valid, File, null);
        Assert.Equal(2, c.Servers.Count);
        Assert.Equal(TimeSpan.FromSeconds(7), c.Seaport.EffectiveTimeout);
    }

    [Property(MaxTest = 500)]
    public Property Random_text_gives_a_config_or_a_ConfigException() =>
        Prop.ForAll(FuzzText.Text(200).ToArbitrary(), text => { ParsesOrIsLocated(text); });

    [Property(MaxTest = 1000)]
    public Property Mutated_config_gives_a_config_or_a_ConfigException() =>
        Prop.ForAll(FuzzText.Mutations(Valid, 6).ToArbitrary(), text => { ParsesOrIsLocated(text); });

    /// <summary>Nesting past the loader's limit (64 levels): always refused, whatever the shape.</summary>
    private static readonly Gen<string> Nesting = NestingOf(Gen.OneOf(Gen.Choose(65, 200), Gen.Choose(65, 30000)));

    /// <summary>Nesting within the limit: a config (e.g. "servers: [x]") or a located error, nothing else.</summary>
    private static readonly Gen<string> ShallowNesting = NestingOf(Gen.Choose(1, 64));

    private static Gen<string> NestingOf(Gen<int> depths) =>
        from depth in depths
        from unit in Gen.Elements("[", "{a: ", "- ", "-\n", "? ", "[{", "{a: [")
        from indent in Gen.Elements(true, false)
        from close in Gen.Elements(true, false)
        select Nest(depth, unit, indent, close);

    private static string Nest(int depth, string unit, bool indent, bool close)
    {
        var sb = new System.Text.StringBuilder("servers: ");
        for (int i = 0; i < depth; i++) sb.Append(indent && unit.EndsWith('\n') ? unit + new string(' ', Math.Min(i, 200)) : unit);
        sb.Append('x');
        if (close)
            for (int i = 0; i < depth; i++) sb.Append(unit.Contains('{') ? "}" : unit.Contains('[') ? "]" : "");
        return sb.Append('\n').ToString();
    }

    [Property(MaxTest = 100)]
    public Property Any_nesting_gives_a_ConfigException_never_a_stack_overflow() =>
        Prop.ForAll(Nesting.ToArbitrary(), text => Assert.False(ParsesOrIsLocated(text)));

    [Property(MaxTest = 100)]
    public Property Nesting_within_the_limit_gives_a_config_or_a_located_error() =>
        Prop.ForAll(ShallowNesting.ToArbitrary(), text => { ParsesOrIsLocated(text); });

    private static readonly Gen<string> Number = Gen.OneOf(
        Gen.Choose(0, int.MaxValue).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        Gen.Elements("0", "-1", "1e300", "NaN", "-0", "99999999999999999999999999", "9223372036854775807", "0x10", "1_000", "٣", "1.5", " 7 "),
        from digits in Gen.Choose(1, 40) from d in Gen.Choose(0, 9).ArrayOf(digits) select string.Concat(d));

    private static readonly Gen<string> DurationText =
        from n in Number
        from unit in Gen.Elements("", "ns", "us", "µs", "ms", "s", "m", "h", "d", "x", ":00", "d1h")
        select n + unit;

    [Property(MaxTest = 500)]
    public Property Durations_are_in_range_or_a_ConfigException_naming_the_key() =>
        Prop.ForAll(DurationText.ToArbitrary(), Gen.Elements("allow_skew", "seaport.heartbeat", "seaport.timeout").ToArbitrary(), (text, key) =>
        {
            var yaml = key.StartsWith("seaport.", StringComparison.Ordinal) ? $"seaport:\n  {key[8..]}: \"{text}\"\n" : $"{key}: \"{text}\"\n";
            try
            {
                var c = ConfigLoader.ParseCore(yaml, File, null);
                var value = key switch { "allow_skew" => c.AllowSkew, "seaport.heartbeat" => c.Seaport.Heartbeat, _ => c.Seaport.EffectiveTimeout };
                Assert.InRange(value, TimeSpan.Zero, SeaportConfigReader.MaxTimeout);
                _ = c.Seaport.EffectiveTimeout; // 3 x heartbeat cannot overflow
            }
            catch (ConfigException e)
            {
                Assert.Equal(key, e.Key);
            }
        });

    [Property(MaxTest = 300)]
    public Property Numbers_are_in_range_or_a_ConfigException_naming_the_key() =>
        Prop.ForAll(Number.ToArbitrary(), text =>
        {
            try { Assert.InRange(ConfigLoader.ParseCore($"max_payload: \"{text}\"\n", File, null).MaxPayload, 1, 8 * 1024 * 1024); }
            catch (ConfigException e) { Assert.Equal("max_payload", e.Key); }
        });

    // A double-quoted YAML scalar's content: printable ASCII as is, anything else (NUL, non-ASCII, lone surrogates) escaped.
    private static readonly Gen<string> Scalar = FuzzText.Text(60).Select(s => string.Concat(s.Select(c =>
        c is >= ' ' and <= '~' and not ('"' or '\\') ? c.ToString() : $"\\u{(int)c:x4}")));

    [Property(MaxTest = 500)]
    public Property Any_value_of_a_key_gives_a_config_or_a_ConfigException_naming_the_key() =>
        Prop.ForAll(Scalar.ToArbitrary(), Gen.Elements("servers", "destination", "default_identity", "credentials", "subject", "inbox_prefix", "latch_bucket", "peers.public", "identities.public", "identities.private_file", "tls.ca", "seaport.bucket", "seaport.authorized").ToArbitrary(), (value, key) =>
        {
            var quoted = $"\"{value}\"";
            var yaml = key switch
            {
                "peers.public" => $"peers:\n  - destination: a.b\n    public: {quoted}\n",
                "identities.public" => $"identities:\n  - public: {quoted}\n    private: x\n",
                "identities.private_file" => $"identities:\n  - public: {A.PublicBase58}\n    private_file: {quoted}\n",
                "tls.ca" => $"tls:\n  ca: {quoted}\n",
                "seaport.bucket" => $"seaport:\n  bucket: {quoted}\n",
                "seaport.authorized" => $"seaport:\n  authorized: {quoted}\n",
                _ => $"{key}: {quoted}\n",
            };
            try { ConfigLoader.ParseCore(yaml, File, null); }
            catch (ConfigException e)
            {
                // A lone surrogate cannot be a character: YAML refuses the escape, before any key is read.
                var loneSurrogate = e.Key is null && e.Message.Contains("not valid YAML", StringComparison.Ordinal) && value.Contains("\\ud", StringComparison.Ordinal);
                Assert.True(loneSurrogate || (e.Key ?? "").StartsWith(key.Split('.')[0], StringComparison.Ordinal), $"{FuzzText.Show(yaml)}: {e.Message}");
            }
        });
}

public class ConfigLoaderLineTests
{
    [Theory]
    [InlineData("servers: [nats://a:4222]\u2028\u2028\u2028subject: [a\n", 1)]
    [InlineData("servers: [nats://a:4222]\n\u2028\u2028nope: 1\n", 2)]
    public void Lines_are_counted_as_the_file_has_them_not_as_YAML_1_1_breaks_them(string yaml, int line)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(yaml, "/cfg/lines.yaml"));
        Assert.Equal(line, e.Line);
    }
}
