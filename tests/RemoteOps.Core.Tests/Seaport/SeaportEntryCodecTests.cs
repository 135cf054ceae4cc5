using System.Text;
using RemoteOps.Identity;
using RemoteOps.Seaport;

namespace RemoteOps.Core.Tests.Seaport;

public class SeaportEntryCodecTests
{
    private static readonly TrustStore Anyone = new([]);

    private static SeaportEntry Entry(string id = "abc") => new()
    {
        Id = id, Name = "web", Version = "1.2.3", Host = "h1", Port = 20001,
        Ports = new Dictionary<string, int> { ["http"] = 20001, ["metrics"] = 20002 },
        Meta = new Dictionary<string, string> { ["zone"] = "eu", ["ünïcode"] = "✓ \"quoted\"\n" },
        Registered = 1_700_000_000_000, Time = 1_700_000_001_000, TimeoutMs = 45_000,
    };

    [Fact]
    public void An_encoded_entry_decodes_to_itself_signed_by_the_key()
    {
        using var key = SigningKey.Generate();
        var value = SeaportEntryCodec.Encode(Entry(), key);
        var decoded = SeaportEntryCodec.Decode("s.abc", value, Anyone, out var problem);
        Assert.Null(problem);
        Assert.NotNull(decoded);
        Assert.Equal(key.PublicBase58, decoded.Signer);
        Assert.True(decoded.SameContent(Entry()));
        Assert.Equal(Entry().Registered, decoded.Registered);
        Assert.Equal(45_000, decoded.TimeoutMs);
        Assert.True(decoded.Live);
    }

    [Fact]
    public void Any_changed_byte_breaks_the_signature()
    {
        using var key = SigningKey.Generate();
        var value = SeaportEntryCodec.Encode(Entry(), key);
        var json = Array.IndexOf(value, (byte)'\n') + 1;
        for (int i = json; i < value.Length; i++)
        {
            var tampered = (byte[])value.Clone();
            tampered[i] ^= 0x01;
            Assert.Null(SeaportEntryCodec.Decode("s.abc", tampered, Anyone, out var problem));
            Assert.NotNull(problem);
        }
    }

    [Fact]
    public void An_entry_moved_to_another_key_is_rejected()
    {
        using var key = SigningKey.Generate();
        var value = SeaportEntryCodec.Encode(Entry("abc"), key);
        Assert.Null(SeaportEntryCodec.Decode("s.other", value, Anyone, out var problem));
        Assert.Contains("signature", problem); // the key is inside the signed bytes
    }

    [Fact]
    public void Authorized_keys_limit_whose_entries_count()
    {
        using var trusted = SigningKey.Generate();
        using var stranger = SigningKey.Generate();
        var authorized = new TrustStore([], [KeyValuePair.Create("seaport", (IReadOnlyList<string>)[trusted.PublicBase58])]);
        Assert.NotNull(SeaportEntryCodec.Decode("s.abc", SeaportEntryCodec.Encode(Entry(), trusted), authorized, out _));
        Assert.Null(SeaportEntryCodec.Decode("s.abc", SeaportEntryCodec.Encode(Entry(), stranger), authorized, out var problem));
        Assert.Contains("not in seaport.authorized", problem);
    }

    [Theory]
    [InlineData("")]
    [InlineData("no newline at all")]
    [InlineData("\n{}")]
    [InlineData("sig\n{}")]
    [InlineData("sig\nnot json")]
    [InlineData("3yZe7d\n{\"id\":\"abc\"}")]
    [InlineData("3yZe7d\n{\"id\":\"abc\",\"name\":\"web\",\"version\":\"1\",\"host\":\"h\",\"port\":99999,\"ports\":{},\"meta\":{},\"registered\":0,\"time\":0,\"timeout\":1,\"signer\":\"x\",\"live\":true}")]
    public void Corrupt_values_are_rejected_with_a_reason_not_an_exception(string text)
    {
        Assert.Null(SeaportEntryCodec.Decode("s.abc", Encoding.UTF8.GetBytes(text), Anyone, out var problem));
        Assert.False(string.IsNullOrEmpty(problem));
    }

    [Fact]
    public void An_oversize_value_is_rejected()
    {
        var value = new byte[SeaportEntryCodec.MaxValueBytes + 1];
        Assert.Null(SeaportEntryCodec.Decode("s.abc", value, Anyone, out var problem));
        Assert.Contains("bytes", problem);
    }
}
