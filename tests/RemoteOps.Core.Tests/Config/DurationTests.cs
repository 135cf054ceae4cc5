using RemoteOps.Config;

namespace RemoteOps.Core.Tests.Config;

public class DurationTests
{
    [Theory]
    [InlineData("1h2m3s4ms", 3723004)]
    [InlineData("5s", 5000)]
    [InlineData("250ms", 250)]
    [InlineData("1m30s", 90000)]
    [InlineData("1.5h", 5400000)]
    [InlineData("2d", 172800000)]
    [InlineData("30", 30000)]
    [InlineData("0.5", 500)]
    [InlineData("0", 0)]
    [InlineData("00:01:30", 90000)]
    [InlineData("1.02:00:00", 93600000)]
    [InlineData(" 5s ", 5000)]
    public void Parses_go_durations_seconds_and_timespans(string text, long milliseconds)
    {
        Assert.True(Duration.TryParse(text, out var value), text);
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
        Assert.Equal(value, Duration.Parse(text));
    }

    [Fact]
    public void Parses_sub_millisecond_units()
    {
        Assert.Equal(TimeSpan.FromTicks(15), Duration.Parse("1500ns"));
        Assert.Equal(TimeSpan.FromTicks(20), Duration.Parse("2us"));
        Assert.Equal(TimeSpan.FromTicks(20), Duration.Parse("2µs"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("-5s")]
    [InlineData("-1")]
    [InlineData("5x")]
    [InlineData("s")]
    [InlineData("1h 2m")]
    [InlineData("soon")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("1e300")]
    [InlineData("99999999999h")]
    [InlineData("-00:00:01")]
    public void Rejects_what_is_not_a_duration(string? text)
    {
        Assert.False(Duration.TryParse(text, out var value));
        Assert.Equal(TimeSpan.Zero, value);
        if (text is not null) Assert.Throws<FormatException>(() => Duration.Parse(text));
    }

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(5000, "5s")]
    [InlineData(90000, "1m30s")]
    [InlineData(3723004, "1h2m3.004s")]
    [InlineData(250, "0.25s")]
    public void Formats_as_go_and_round_trips(long milliseconds, string expected)
    {
        var t = TimeSpan.FromMilliseconds(milliseconds);
        Assert.Equal(expected, Duration.Format(t));
        Assert.Equal(t, Duration.Parse(Duration.Format(t)));
    }
}
