using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RemoteOps.Identity;
using Reference = SimpleBase.Base58;

namespace RemoteOps.Core.Tests.Identity;

public class Base58PropertyTests
{
    private static readonly Gen<byte[]> Data = Gen.OneOf(
        FuzzText.Bytes(100),
        Gen.Elements(32, 64).SelectMany(n => Gen.Choose(0, 255).Select(b => (byte)b).ArrayOf(n)),
        // Leading zero bytes are '1's: the codec's one special case.
        from zeros in Gen.Choose(0, 5) from rest in FuzzText.Bytes(40) select new byte[zeros].Concat(rest).ToArray());

    [Property(MaxTest = 1000)]
    public Property Encode_decodes_back_and_equals_the_reference() =>
        Prop.ForAll(Data.ToArbitrary(), data =>
        {
            var text = Base58.Encode(data);
            Assert.Equal(Reference.Bitcoin.Encode(data), text);
            Assert.True(Base58.TryDecode(text.AsSpan(), out var back));
            Assert.Equal(data, back);
            Assert.True(Base58.TryDecode(System.Text.Encoding.ASCII.GetBytes(text).AsSpan(), out var fromBytes));
            Assert.Equal(data, fromBytes);
        });

    private static readonly Gen<string> Texts = Gen.OneOf(
        FuzzText.Text(120),
        Gen.Choose(0, 60).SelectMany(n => Gen.Elements("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0OIlé\u0080\u00ff\uffff ".ToCharArray()).ArrayOf(n)).Select(c => new string(c)));

    [Property(MaxTest = 1000)]
    public Property TryDecode_never_throws_and_what_it_decodes_encodes_back() =>
        Prop.ForAll(Texts.ToArbitrary(), text =>
        {
            if (Base58.TryDecode(text.AsSpan(), out var bytes)) Assert.Equal(text, Base58.Encode(bytes));
            Base58.TryDecode(System.Text.Encoding.Latin1.GetBytes(text.Select(c => c > 0xff ? '?' : c).ToArray()).AsSpan(), out _);
            // Public keys, as the config and the wire decode them: non-ASCII is refused, never an IndexOutOfRangeException.
            SigningKey.TryDecodePublic(text, out _);
        });

    [Fact]
    public void Non_ascii_in_a_key_is_refused()
    {
        Assert.False(Base58.TryDecode("3v96V3EgjiuXjmdkb5a4Rjjtq\u00e9LoZCD657uyqrYZ1Xam".AsSpan(), out _));
        Assert.False(Base58.TryDecode([0x33, 0xc3, 0xa9, 0x80, 0xff], out _));
        Assert.False(SigningKey.TryDecodePublic("\uffff\u0080é", out _));
    }

    [Fact]
    public void Long_inputs_use_the_heap_not_the_stack()
    {
        var zeros = new byte[1_000_000];
        var text = Base58.Encode(zeros);
        Assert.Equal(new string('1', zeros.Length), text);
        Assert.True(Base58.TryDecode(text.AsSpan(), out var back));
        Assert.Equal(zeros, back);
        var random = new byte[2_000];
        new Random(7).NextBytes(random);
        Assert.True(Base58.TryDecode(Base58.Encode(random).AsSpan(), out var randomBack));
        Assert.Equal(random, randomBack);
    }
}
