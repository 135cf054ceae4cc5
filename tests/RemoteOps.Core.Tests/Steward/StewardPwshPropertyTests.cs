using System.Text;
using FsCheck;
using FsCheck.Fluent;
using RemoteOps.Steward;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>The agent's parser of a pwsh worker's stdout (<see cref="StewardPwsh.Records"/>), on generated lines: the
/// worker's own tagged records and whatever else a script writes to the console.</summary>
public class StewardPwshPropertyTests
{
    private static readonly FsCheck.Config Cases = FsCheck.Config.QuickThrowOnFailure.WithMaxTest(200);
    private const string Nonce = "0123456789ABCDEF";

    private static Gen<string> Line =>
        Gen.OneOf(
            ArbMap.Default.ArbFor<string>().Generator.Select(s => (s ?? "").Replace("\n", "").Replace("\r", "")),
            from tag in Gen.Elements("O", "E", "T", "W", "V", "D", "I", "M", "Z", "Q")
            from body in ArbMap.Default.ArbFor<string>().Generator
            from broken in Gen.Elements(false, false, false, true)
            select Nonce + tag + ":" + (broken ? (body ?? "") + "!" : Convert.ToBase64String(Encoding.UTF8.GetBytes(body ?? ""))));

    [Fact]
    public void Every_line_becomes_at_most_one_numbered_tagged_chunk_all_within_the_cap_and_nothing_throws()
    {
        var gen = from lines in Gen.ListOf(Line)
                  from cap in Gen.Choose(StewardConfigReader.MinMaxOutput, 4000)
                  select (lines: lines.ToArray(), cap);
        Check.One(Cases, Prop.ForAll(gen.ToArbitrary(), t =>
        {
            var published = new List<(long Sequence, string Chunk)>();
            var records = new StewardPwsh.Records(Nonce, t.cap, (seq, chunk, _) => { published.Add((seq, chunk)); return Task.CompletedTask; });
            foreach (var line in t.lines) records.AddAsync(line, default).GetAwaiter().GetResult();
            var beforeFinish = published.Count;
            records.FinishAsync(default).GetAwaiter().GetResult();
            var numbered = published.Select((p, i) => p.Sequence == i + 1).All(x => x);
            var tagged = published.All(p => p.Chunk.Length >= 2 && p.Chunk[1] == ':' && StewardPwsh.Tags.Contains(p.Chunk[0]));
            // Everything together, the terminating error and the warning included, stays within the cap.
            var keptBytes = published.Sum(p => (long)Encoding.UTF8.GetByteCount(p.Chunk));
            // The dropped-records warning comes exactly when something was dropped, and last.
            var warned = published.Count == beforeFinish + (records.Dropped > 0 ? 1 : 0);
            return numbered && tagged && keptBytes <= t.cap && warned && beforeFinish <= t.lines.Length && records.Sequence == published.Count;
        }));
    }

    [Fact]
    public void A_stray_console_line_is_a_string_object_in_CliXml()
    {
        var published = new List<string>();
        var records = new StewardPwsh.Records(Nonce, 10_000, (_, chunk, _) => { published.Add(chunk); return Task.CompletedTask; });
        records.AddAsync("plain <text> & a_x0041_ \u0001", default).GetAwaiter().GetResult();
        Assert.Equal(["O:" + StewardPwsh.CliXmlString("plain <text> & a_x0041_ \u0001")], published);
        Assert.Contains("<S>plain &lt;text&gt; &amp; a_x005F_x0041_x005F_ _x0001_</S>", published[0]);
        Assert.Equal(1, records.Objects);
    }
}
