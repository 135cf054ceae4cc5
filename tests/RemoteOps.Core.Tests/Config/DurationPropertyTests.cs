using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RemoteOps.Config;

namespace RemoteOps.Core.Tests.Config;

public class DurationPropertyTests
{
    // Every tick count from 0 to TimeSpan.MaxValue, weighted towards the small values configs hold and the extremes.
    private static readonly Gen<TimeSpan> Any = Gen.OneOf(
        Gen.Choose(0, int.MaxValue).Select(i => TimeSpan.FromTicks(i)),
        Gen.Choose(0, int.MaxValue).Select(i => TimeSpan.FromMilliseconds(i)),
        from hi in Gen.Choose(0, int.MaxValue) from lo in Gen.Choose(0, int.MaxValue) select TimeSpan.FromTicks(((long)hi << 32 | (uint)lo) & long.MaxValue),
        Gen.Elements(TimeSpan.Zero, TimeSpan.MaxValue, TimeSpan.FromTicks(1), TimeSpan.FromTicks(long.MaxValue - 1)));

    [Property(MaxTest = 1000)]
    public Property Format_parses_back_to_the_same_value() =>
        Prop.ForAll(Any.ToArbitrary(), t =>
        {
            var text = Duration.Format(t);
            Assert.True(Duration.TryParse(text, out var back), text);
            Assert.Equal(t, back);
        });

    private static readonly Gen<string> DurationLike = Gen.OneOf(
        FuzzText.Text(40),
        from n in Gen.Choose(1, 30) from parts in Gen.Elements("1", "9", "99999999999", "0.5", ".", "e", "d", "h", "m", "s", "ms", "ns", "µs", ":", "-", " ", "1e308").ArrayOf(n) select string.Concat(parts));

    [Property(MaxTest = 1000)]
    public Property TryParse_never_throws_and_gives_a_non_negative_value_or_false() =>
        Prop.ForAll(DurationLike.ToArbitrary(), text =>
        {
            if (Duration.TryParse(text, out var value)) Assert.True(value >= TimeSpan.Zero, text);
            else Assert.Equal(TimeSpan.Zero, value);
        });

    [Property(MaxTest = 300)]
    public Property Format_never_throws_for_any_value_negative_included() =>
        Prop.ForAll(Gen.Choose(int.MinValue, int.MaxValue).Select(i => TimeSpan.FromTicks((long)i * 4294967311L)).ToArbitrary(), t =>
            Assert.False(string.IsNullOrEmpty(Duration.Format(t))));

    [Fact]
    public void The_extremes_format_and_the_largest_values_are_refused_not_thrown()
    {
        Assert.Equal("-256204778h48m5.4775808s", Duration.Format(TimeSpan.MinValue));
        Assert.Equal("256204778h48m5.4775807s", Duration.Format(TimeSpan.MaxValue));
        Assert.False(Duration.TryParse("256204778h48m5.4775808s", out _));
        Assert.False(Duration.TryParse("922337203685.4775807", out _));
        Assert.False(Duration.TryParse("10000000000000000000000000000000d", out _));
        Assert.True(Duration.TryParse("10000000d", out var big));
        Assert.Equal(TimeSpan.FromDays(10000000), big);
    }
}
