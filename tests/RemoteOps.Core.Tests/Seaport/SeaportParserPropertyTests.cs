using System.Text;
using FsCheck;
using FsCheck.Fluent;
using RemoteOps.Identity;
using RemoteOps.Seaport;

namespace RemoteOps.Core.Tests.Seaport;

/// <summary>The registry's parsers against anything: bytes anyone with write access may put in the bucket, and roles and
/// patterns users type. A bounded number of cases each, so CI stays fast.</summary>
public class SeaportParserPropertyTests
{
    private static readonly FsCheck.Config Cases = FsCheck.Config.QuickThrowOnFailure.WithMaxTest(400);
    private static readonly TrustStore Anyone = new([]);
    private static readonly SigningKey Key = SigningKey.Generate();

    private static readonly byte[] Genuine = SeaportEntryCodec.Encode(new SeaportEntry
    {
        Id = "abc", Name = "web", Version = "1.2.3", Host = "h1", Port = 20001,
        Ports = new Dictionary<string, int> { ["http"] = 20001 }, Meta = new Dictionary<string, string> { ["zone"] = "eu" },
        Registered = 1_700_000_000_000, Time = 1_700_000_001_000, TimeoutMs = 45_000,
    }, Key);

    /// <summary>What the index does with a parsed entry: none of it may throw for a value the codec accepted.</summary>
    private static void UseAsTheIndexDoes(SeaportEntry entry)
    {
        var service = SeaportIndex.ToService(entry, 1, DateTimeOffset.UtcNow);
        _ = DateTimeOffset.UtcNow - service.Registered + service.Timeout * 1.5;
        _ = (DateTimeOffset.UtcNow - DateTimeOffset.FromUnixTimeMilliseconds(entry.Time)).Duration() + service.Timeout;
    }

    /// <summary>Parse and Decode: an entry or a reason, never an exception.</summary>
    private static void NeverThrows(byte[] value)
    {
        var parsed = SeaportEntryCodec.Parse(value, out var problem);
        if (parsed is null) Assert.False(string.IsNullOrEmpty(problem));
        else UseAsTheIndexDoes(parsed);
        var decoded = SeaportEntryCodec.Decode("s.abc", value, Anyone, out problem);
        if (decoded is null) Assert.False(string.IsNullOrEmpty(problem));
    }

    [Fact]
    public void Random_bytes_never_throw() =>
        Check.One(Cases, Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), NeverThrows));

    [Fact]
    public void Random_text_after_a_signature_line_never_throws() =>
        Check.One(Cases, Prop.ForAll(ArbMap.Default.ArbFor<string>(), text => NeverThrows(Encoding.UTF8.GetBytes("3yZe7d\n" + text))));

    [Fact]
    public void Mutated_genuine_entries_never_throw()
    {
        // Flip, overwrite, cut and splice bytes of a genuine value.
        var mutation = from position in Gen.Choose(0, Genuine.Length - 1)
                       from value in Gen.Choose(0, 255)
                       from kind in Gen.Choose(0, 3)
                       select (position, (byte)value, kind);
        Check.One(Cases, Prop.ForAll(mutation.ArrayOf().ToArbitrary(), mutations =>
        {
            var value = (byte[])Genuine.Clone();
            foreach (var (position, b, kind) in mutations)
            {
                var at = Math.Min(position, value.Length - 1);
                if (at < 0) break;
                value = kind switch
                {
                    0 => Set(value, at, (byte)(value[at] ^ b)),
                    1 => Set(value, at, b),
                    2 => value[..at],
                    _ => [.. value[..at], b, .. value[at..]],
                };
            }
            NeverThrows(value);
        }));
    }

    private static byte[] Set(byte[] value, int at, byte b)
    {
        value[at] = b;
        return value;
    }

    private static string Json(string field, string number, string signer = "zzzz") =>
        "{\"id\":\"abc\",\"name\":\"web\",\"version\":\"1.0.0\",\"host\":\"h\","
        + $"\"port\":{(field == "port" ? number : "1")},\"ports\":{{\"p\":{(field == "ports" ? number : "1")}}},\"meta\":{{}},"
        + $"\"registered\":{(field == "registered" ? number : "0")},\"time\":{(field == "time" ? number : "0")},"
        + $"\"timeout\":{(field == "timeout" ? number : "60000")},\"signer\":\"{signer}\",\"live\":true}}";

    [Theory]
    [InlineData("9223372036854775807")]
    [InlineData("-9223372036854775808")]
    [InlineData("9223372036854775808")]
    [InlineData("1e308")]
    [InlineData("-1")]
    [InlineData("0.5")]
    [InlineData("253402300800000")]
    [InlineData("2147483648")]
    public void Numbers_at_the_extremes_are_rejected_or_usable_never_thrown(string number)
    {
        foreach (var field in new[] { "port", "ports", "registered", "time", "timeout" })
            NeverThrows(Encoding.UTF8.GetBytes("3yZe7d\n" + Json(field, number)));
        // Int64 max and min are out of every field's range.
        if (number is "9223372036854775807" or "-9223372036854775808")
            foreach (var field in new[] { "port", "ports", "registered", "time", "timeout" })
                Assert.Null(SeaportEntryCodec.Parse(Encoding.UTF8.GetBytes("3yZe7d\n" + Json(field, number)), out _));
    }

    [Fact]
    public void Any_number_in_any_field_is_rejected_or_usable() =>
        Check.One(Cases, Prop.ForAll(Gen.Elements("port", "ports", "registered", "time", "timeout").ToArbitrary(), ArbMap.Default.ArbFor<long>(),
            (field, n) => NeverThrows(Encoding.UTF8.GetBytes("3yZe7d\n" + Json(field, n.ToString(System.Globalization.CultureInfo.InvariantCulture))))));

    [Fact]
    public void Any_signer_is_rejected_or_verified_never_thrown() =>
        Check.One(Cases, Prop.ForAll(ArbMap.Default.ArbFor<string>(), signer =>
            NeverThrows(Encoding.UTF8.GetBytes("3yZe7d\n" + Json("", "", System.Text.Json.JsonEncodedText.Encode(signer ?? "").ToString())))));

    [Fact]
    public void A_non_ascii_signer_is_a_reason_not_an_exception()
    {
        foreach (var signer in new[] { "é", "ééééééééééééééééééééééééééééééééééééééééééé", "\u0661\u0662", "😀" })
        {
            Assert.Null(SeaportEntryCodec.Decode("s.abc", Encoding.UTF8.GetBytes("3yZe7d\n" + Json("", "", signer)), Anyone, out var problem));
            Assert.Contains("signer", problem);
        }
    }

    private static void OnlyArgumentErrors(Action parse)
    {
        try { parse(); }
        catch (SeaportArgumentException) { }
    }

    [Fact]
    public void Role_and_pattern_parsers_throw_nothing_but_argument_errors()
    {
        var text = ArbMap.Default.ArbFor<string>();
        Check.One(Cases, Prop.ForAll(text, s => OnlyArgumentErrors(() => SeaportRole.Parse(s))));
        Check.One(Cases, Prop.ForAll(text, s => OnlyArgumentErrors(() => SeaportPattern.Parse(s).Matches("web", "1.2.3"))));
        // Texts near the grammar: role characters, '@', versions and range operators.
        var near = Gen.Elements("web", "a", "@", "1", ".", "x", "*", "^", "~", ">=", "<", " ", "-", "+", "rc", "||", "v", "é")
            .ArrayOf().Select(parts => string.Concat(parts)).ToArbitrary();
        Check.One(Cases, Prop.ForAll(near, s => OnlyArgumentErrors(() => SeaportRole.Parse(s))));
        Check.One(Cases, Prop.ForAll(near, s => OnlyArgumentErrors(() => SeaportPattern.Parse(s).Matches("web", "1.2.3-rc.1"))));
    }

    [Fact]
    public void Valid_roles_round_trip()
    {
        const string nameChars = "abcxyzABZ0189._-/:";
        var name = Gen.Elements(nameChars.ToCharArray()).ArrayOf().Where(c => c.Length is > 0 and <= 40).Select(c => new string(c));
        var number = Gen.Choose(0, 100000);
        var pre = Gen.Elements("", "-rc.1", "-beta", "-0.3.7", "-x.7.z.92");
        var build = Gen.Elements("", "+build.5", "+20130313144700", "+exp.sha.5114f85");
        var role = from n in name
                   from versioned in Gen.Elements(true, false)
                   from major in number from minor in number from patch in number
                   from p in pre from b in build
                   select versioned ? $"{n}@{major}.{minor}.{patch}{p}{b}" : n;
        Check.One(Cases, Prop.ForAll(role.ToArbitrary(), text =>
        {
            var parsed = SeaportRole.Parse(text);
            Assert.Equal(text, parsed.ToString());
            Assert.Equal(parsed, SeaportRole.Parse(parsed.ToString()));
            Assert.True(SeaportPattern.Parse(parsed.Name).Matches(parsed.Name, parsed.VersionText));
        }));
    }
}
