using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RemoteOps.Messaging;

namespace RemoteOps.Core.Tests.Messaging;

public class DestinationPatternPropertyTests
{
    private static readonly Gen<string> Segment = Gen.OneOf(
        Gen.Elements("com", "crypto", "host", "us", "a", "*", "**", "h*", "*t", "h*t", "", "**x", "a*b*c", "é", "a b", "a,b"),
        FuzzText.Text(6));

    // Dotted names and patterns from those segments, and raw random text.
    private static readonly Gen<string> Dotted = Gen.OneOf(
        Gen.Choose(1, 6).SelectMany(n => Segment.ArrayOf(n)).Select(s => string.Join('.', s)),
        FuzzText.Text(30));

    [Property(MaxTest = 1000)]
    public Property TryValidate_and_Matches_never_throw() =>
        Prop.ForAll(Dotted.ToArbitrary(), Dotted.ToArbitrary(), (destination, pattern) =>
        {
            DestinationPattern.TryValidate(pattern, out var problem);
            DestinationPattern.TryValidateName(destination, out _);
            DestinationPattern.Matches(destination, pattern);
            if (!DestinationPattern.TryValidate(pattern, out _)) Assert.NotEmpty(problem);
        });

    [Property(MaxTest = 1000)]
    public Property A_valid_name_matches_itself_and_everything_matches_all() =>
        Prop.ForAll(Dotted.ToArbitrary(), name =>
        {
            if (!DestinationPattern.TryValidateName(name, out _)) return;
            Assert.True(DestinationPattern.Matches(name, name), name);
            Assert.True(DestinationPattern.Matches(name, DestinationPattern.All), name);
            // One more segment never matches the name itself; its parent's ** does.
            Assert.False(DestinationPattern.Matches(name + ".x", name), name);
            Assert.True(DestinationPattern.Matches(name + ".x", name + ".**"), name);
        });

    [Property(MaxTest = 1000)]
    public Property A_segment_star_matches_exactly_the_names_whose_segment_has_its_prefix_and_suffix() =>
        Prop.ForAll(Dotted.ToArbitrary(), Gen.Choose(0, 5).ToArbitrary(), Gen.Choose(0, 5).ToArbitrary(), (name, cut1, cut2) =>
        {
            if (!DestinationPattern.TryValidateName(name, out _)) return;
            var segments = name.Split('.');
            var i = cut1 % segments.Length;
            var s = segments[i];
            int pre = Math.Min(cut2, s.Length), post = Math.Min(cut1, s.Length - pre);
            segments[i] = s[..pre] + "*" + s[(s.Length - post)..];
            var pattern = string.Join('.', segments);
            Assert.True(DestinationPattern.TryValidate(pattern, out var problem), problem);
            Assert.True(DestinationPattern.Matches(name, pattern), $"{name} ~ {pattern}");
        });
}
