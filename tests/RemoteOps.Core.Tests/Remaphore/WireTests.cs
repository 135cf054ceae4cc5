using Base58 = SimpleBase.Base58; // the reference implementation the tests hold ours to
using System.Security.Cryptography;
using System.Text;
using NSec.Cryptography;
using RemoteOps.Identity;
using RemoteOps.Remaphore;
using SimpleBase;

namespace RemoteOps.Core.Tests.Remaphore;

public class WireTests
{
    // RFC 8032, test 1: a fixed Ed25519 key, so the expected bytes are fixed too.
    private static readonly byte[] Seed = Convert.FromHexString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    private static readonly byte[] Public = Convert.FromHexString("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");

    [Fact]
    public void Encoder_matches_a_message_built_by_hand_from_the_original_rules()
    {
        using var key = SigningKey.FromSeed(Seed);
        const long time = 0x17f1c8a3b2d4e001;
        var uuid = Encoding.UTF8.GetBytes("upload_done");

        var wire = RemaphoreWire.Encode(key, "com.crypto.**", time, uuid, "ping", false, "hello, world");

        // By hand: destination, hex(unix nanos), hex(uuid), verb, "_" (no reply asked), payload (commas allowed).
        var pre = "com.crypto.**,17f1c8a3b2d4e001,75706c6f61645f646f6e65,ping,_,hello, world";
        using var nsecKey = Key.Import(SignatureAlgorithm.Ed25519, Seed, KeyBlobFormat.RawPrivateKey);
        var signature = SignatureAlgorithm.Ed25519.Sign(nsecKey, Encoding.UTF8.GetBytes(pre));
        var expected = Base58.Bitcoin.Encode(Public) + "," + Base58.Bitcoin.Encode(signature) + "," + pre;

        Assert.Equal(expected, Encoding.UTF8.GetString(wire));
        Assert.Equal(Encoding.UTF8.GetBytes(expected), wire);
        Assert.StartsWith("FVen3X669xLzsi6N2V91DoiyzHzg1uAgqiT8jZ9nS96Z,", expected);
    }

    [Fact]
    public void Request_flag_is_Q_and_a_reply_has_an_empty_destination()
    {
        using var key = SigningKey.FromSeed(Seed);
        var request = Encoding.UTF8.GetString(RemaphoreWire.Encode(key, "**", 0x10, [0xab, 0x01], "status", true, ""));
        Assert.EndsWith(",**,10,ab01,status,Q,", request);
        var reply = Encoding.UTF8.GetString(RemaphoreWire.Encode(key, "", 0x10, [0xab], RemaphoreWire.ReplyVerb, false, "0,ok"));
        Assert.EndsWith(",,10,ab,reply,_,0,ok", reply);
    }

    [Fact]
    public void Decoder_reads_the_same_bytes_back()
    {
        using var key = SigningKey.FromSeed(Seed);
        var pre = "com.crypto.*.us,17f1c8a3b2d4e001,75706c6f61645f646f6e65,ping,Q,a,b,c";
        var sig = Base58.Bitcoin.Encode(key.Sign(Encoding.UTF8.GetBytes(pre)));
        var raw = Encoding.UTF8.GetBytes(key.PublicBase58 + "," + sig + "," + pre);

        Assert.True(RemaphoreWire.TryDecode(raw, out var m, out var error), error);
        Assert.Equal(key.PublicBase58, m.SenderBase58);
        Assert.Equal(Public, m.SenderKey);
        Assert.Equal("com.crypto.*.us", m.Destination);
        Assert.Equal(0x17f1c8a3b2d4e001, m.TimeNanos);
        Assert.Equal("upload_done", Encoding.UTF8.GetString(m.Uuid));
        Assert.Equal("ping", m.Verb);
        Assert.True(m.RequestReply);
        Assert.Equal("a,b,c", m.Payload);
        Assert.Equal(Encoding.UTF8.GetBytes(pre), m.SignedBytes.ToArray());
        Assert.Equal(SHA256.HashData(raw), m.Hash);
        Assert.True(SigningKey.Verify(m.SenderKey, m.SignedBytes, m.Signature));
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("a,b")]
    [InlineData("a,b,c,d,e,f,g,h")]
    public void Decoder_rejects_garbage(string text)
    {
        Assert.False(RemaphoreWire.TryDecode(Encoding.UTF8.GetBytes(text), out _, out var error));
        Assert.NotEmpty(error);
    }

    [Theory]
    [InlineData("dest,0abc,00,ping,_,x", "time")]        // leading zero: not what Go's FormatInt writes
    [InlineData("dest,ABC,00,ping,_,x", "time")]         // upper case
    [InlineData("dest,abc,0,ping,_,x", "uuid")]          // odd hex
    [InlineData("dest,abc,AB,ping,_,x", "uuid")]
    [InlineData("dest,abc,00,ping,R,x", "request")]
    public void Decoder_rejects_non_canonical_fields(string pre, string what)
    {
        using var key = SigningKey.FromSeed(Seed);
        var sig = Base58.Bitcoin.Encode(key.Sign(Encoding.UTF8.GetBytes(pre)));
        var raw = Encoding.UTF8.GetBytes(key.PublicBase58 + "," + sig + "," + pre);
        Assert.False(RemaphoreWire.TryDecode(raw, out _, out var error));
        Assert.Contains(what, error);
    }

    [Fact]
    public void Uuid_rule_keeps_up_to_12_bytes_and_hashes_longer_ones()
    {
        Assert.Equal(Encoding.UTF8.GetBytes("upload_done"), RemaphoreWire.UuidBytes("upload_done"));
        Assert.Equal(Encoding.UTF8.GetBytes("twelve_bytes"), RemaphoreWire.UuidBytes("twelve_bytes"));
        var longer = "thirteen_byte";
        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(longer))[..12], RemaphoreWire.UuidBytes(longer));
        Assert.Equal(12, RemaphoreWire.UuidBytes(null).Length);
        Assert.NotEqual(RemaphoreWire.UuidBytes(null), RemaphoreWire.UuidBytes(null));
        Assert.Equal("upload_done", RemaphoreWire.UuidText(RemaphoreWire.UuidBytes("upload_done")));
        Assert.Equal(24, RemaphoreWire.UuidText(RemaphoreWire.UuidBytes(longer)).Length);
    }

    [Fact]
    public void Subjects_follow_mkSubject()
    {
        Assert.Equal("remaphore.all", RemaphoreWire.MessageSubject("remaphore", null));
        Assert.Equal("remaphore.all", RemaphoreWire.MessageSubject("remaphore", ""));
        Assert.Equal("remaphore.deploy", RemaphoreWire.MessageSubject("remaphore", "deploy"));
        var hash = SHA256.HashData("x"u8);
        Assert.Equal("remaphore." + Convert.ToHexStringLower(hash), RemaphoreWire.ReplySubject("remaphore", hash));
    }

    [Fact]
    public void Time_is_formatted_as_Go_FormatInt_base_16()
    {
        Assert.Equal("0", RemaphoreWire.FormatTime(0));
        Assert.Equal("ff", RemaphoreWire.FormatTime(255));
        Assert.Equal("-ff", RemaphoreWire.FormatTime(-255));
        Assert.Equal("-8000000000000000", RemaphoreWire.FormatTime(long.MinValue));
        Assert.Equal("7fffffffffffffff", RemaphoreWire.FormatTime(long.MaxValue));
    }

    [Fact]
    public void Go_64_byte_private_keys_sign_like_the_seed()
    {
        using var key = SigningKey.FromSeed(Seed);
        using var fromGo = SigningKey.FromBase58(Base58.Bitcoin.Encode([.. Seed, .. Public]));
        var a = RemaphoreWire.Encode(key, "**", 1, [1], "ping", false, "");
        var b = RemaphoreWire.Encode(fromGo, "**", 1, [1], "ping", false, "");
        Assert.Equal(a, b);
    }

    [Fact]
    public void Encoder_refuses_commas_in_destination_and_verb()
    {
        using var key = SigningKey.FromSeed(Seed);
        Assert.Throws<ArgumentException>(() => RemaphoreWire.Encode(key, "a,b", 1, [1], "ping", false, ""));
        Assert.Throws<ArgumentException>(() => RemaphoreWire.Encode(key, "**", 1, [1], "pi,ng", false, ""));
    }
}
