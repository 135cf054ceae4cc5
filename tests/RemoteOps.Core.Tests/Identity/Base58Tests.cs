
using SimpleBase;

namespace RemoteOps.Core.Tests.Identity;

public class Base58Tests
{
    [Fact]
    public void Matches_the_standard_encoding_for_random_inputs_with_leading_zeros()
    {
        var random = new Random(58);
        for (int i = 0; i < 3000; i++)
        {
            var data = new byte[random.Next(0, 80)];
            random.NextBytes(data);
            for (int z = 0; z < data.Length && random.Next(4) == 0; z++) data[z] = 0;
            var expected = Base58.Bitcoin.Encode(data);
            Assert.Equal(expected, RemoteOps.Identity.Base58.Encode(data));
            Assert.True(RemoteOps.Identity.Base58.TryDecode(expected.AsSpan(), out var back));
            Assert.Equal(data, back);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("1")]
    [InlineData("111")]
    [InlineData("z")]
    [InlineData("2g")]
    public void Round_trips_edge_cases(string text)
    {
        Assert.True(RemoteOps.Identity.Base58.TryDecode(text.AsSpan(), out var bytes));
        Assert.Equal(Base58.Bitcoin.Decode(text), bytes);
        Assert.Equal(text, RemoteOps.Identity.Base58.Encode(bytes));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("O")]
    [InlineData("I")]
    [InlineData("l")]
    [InlineData("abc+")]
    [InlineData("é")]
    public void Rejects_characters_outside_the_alphabet(string text) => Assert.False(RemoteOps.Identity.Base58.TryDecode(text.AsSpan(), out _));
}
