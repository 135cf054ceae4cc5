using System.Text;
using FsCheck;
using FsCheck.Fluent;
using RemoteOps.Steward;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>The agent's small parsers and its output cap, held to their contract on generated input.</summary>
public class StewardAgentPropertyTests
{
    private static readonly FsCheck.Config Cases = FsCheck.Config.QuickThrowOnFailure.WithMaxTest(300);

    [Fact]
    public void The_output_cap_keeps_a_valid_prefix_within_the_budget_and_counts_every_dropped_byte()
    {
        var gen = from text in ArbMap.Default.ArbFor<string>().Generator
                  from max in Gen.Choose(1, 64)
                  select (text: text ?? "", max);
        Check.One(Cases, Prop.ForAll(gen.ToArbitrary(), t =>
        {
            var bytes = Encoding.UTF8.GetByteCount(t.text);
            var (capped, dropped) = StewardOutputCap.Apply(t.text, t.max);
            if (bytes <= t.max) return capped == t.text && dropped == 0;
            var marker = StewardOutputCap.Marker(dropped);
            if (!capped.EndsWith(marker, StringComparison.Ordinal)) return false;
            var kept = capped[..^marker.Length];
            var keptBytes = Encoding.UTF8.GetByteCount(kept);
            // The kept part is the text's own start (cut at a character boundary), and nothing is lost uncounted.
            return keptBytes <= t.max && keptBytes + dropped == Encoding.UTF8.GetByteCount(Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(t.text)))
                && Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(t.text)).StartsWith(kept, StringComparison.Ordinal);
        }));
    }

    [Fact]
    public void A_proc_stat_line_gives_field_22_even_with_spaces_and_parentheses_in_the_name_and_garbage_gives_null()
    {
        var gen = from comm in ArbMap.Default.ArbFor<string>().Generator
                  from start in Gen.Choose(0, int.MaxValue)
                  select ((comm ?? "").Replace("\0", ""), (long)start);
        Check.One(Cases, Prop.ForAll(gen.ToArbitrary(), t =>
        {
            var fields = string.Join(' ', Enumerable.Range(3, 20).Select(i => i == 22 ? t.Item2.ToString() : i == 3 ? "S" : "7"));
            return DetachedCommand.ParseStartTime($"1234 ({t.Item1}) {fields} 0 0") == t.Item2;
        }));
        Check.One(Cases, Prop.ForAll(ArbMap.Default.ArbFor<string>(), s => DetachedCommand.ParseStartTime(s ?? "") is null or >= 0));
        Assert.Null(DetachedCommand.ParseStartTime(""));
        Assert.Null(DetachedCommand.ParseStartTime("12 (x)"));
    }
}
