using RemoteOps.Messaging;
using RemoteOps.Remaphore;

namespace RemoteOps.Core.Tests.Remaphore;

public class DestinationPatternTests
{
    [Theory]
    // The seed's examples.
    [InlineData("com.crypto.host.us", "com.crypto.host.us", true)]
    [InlineData("com.crypto.host.us", "com.crypto.*.us", true)]
    [InlineData("com.crypto.host.us", "com.crypto.**", true)]
    [InlineData("com.crypto.host.us", "**", true)]
    // Segment wildcards: prefix, suffix, both.
    [InlineData("com.crypto.host.us", "com.crypto.ho*.us", true)]
    [InlineData("com.crypto.host.us", "com.crypto.*st.us", true)]
    [InlineData("com.crypto.host.us", "com.crypto.h*t.us", true)]
    [InlineData("com.crypto.host.us", "com.crypto.x*.us", false)]
    [InlineData("com.crypto.ht.us", "com.crypto.ho*ht.us", false)]
    // Segment counts.
    [InlineData("com.crypto.host.us", "com.crypto", false)]
    [InlineData("com.crypto.host.us", "com.crypto.host.us.eu", false)]
    [InlineData("com.crypto.host.us", "com.*.us", false)]
    [InlineData("com.crypto", "com.crypto.**", false)]   // ** needs at least one more segment
    [InlineData("com.crypto.host.us", "org.**", false)]
    [InlineData("com.crypto.host.us", "*.crypto.host.us", true)]
    // A destination with a wildcard never matches (original: MatchWildcards).
    [InlineData("com.*", "com.*", false)]
    public void Matches_like_the_original(string destination, string pattern, bool expected)
    {
        Assert.True(DestinationPattern.TryValidate(pattern, out var problem), problem);
        Assert.Equal(expected, DestinationPattern.Matches(destination, pattern));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("a..b", "empty")]
    [InlineData(".a", "empty")]
    [InlineData("a.", "empty")]
    [InlineData("a.**.b", "last")]
    [InlineData("a*b*c", "wildcards")]
    [InlineData("a.b**", "wildcards")]
    [InlineData("***", "wildcards")]
    [InlineData("a,b", "comma")]
    [InlineData("a b", "white space")]
    public void Malformed_patterns_are_clear_errors(string pattern, string problem)
    {
        var e = Assert.Throws<DestinationPatternException>(() => DestinationPattern.Validate(pattern));
        Assert.Contains(problem, e.Message);
        Assert.Contains($"'{pattern}'", e.Message);
    }

    [Fact]
    public void A_node_name_cannot_hold_wildcards()
    {
        Assert.True(DestinationPattern.TryValidateName("com.crypto.us.left", out _));
        Assert.False(DestinationPattern.TryValidateName("com.*.left", out var problem));
        Assert.Contains("wildcard", problem);
    }
}
