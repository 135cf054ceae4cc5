using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using RemoteOps.Steward;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>The audit line parser and the steward.metrics endpoint parser on generated input: they never throw, what
/// they accept is whole, and what was written reads back the same.</summary>
public class StewardAuditPropertyTests
{
    private static readonly FsCheck.Config Cases = FsCheck.Config.QuickThrowOnFailure.WithMaxTest(500);

    private static string Line(StewardAuditRecord r) => JsonSerializer.Serialize(r, StewardAuditLog.Json);

    private static readonly Gen<StewardAuditRecord> Records =
        from id in ArbMap.Default.ArbFor<string>().Generator
        from args in ArbMap.Default.ArbFor<string[]>().Generator
        from verdict in Gen.Elements("run", "denied", "duplicate", "dropped", "noack", "cancelled", "sent")
        from ms in Gen.Choose(1, int.MaxValue)
        from bytes in Gen.Choose(0, int.MaxValue)
        from exit in ArbMap.Default.ArbFor<int?>().Generator
        select new StewardAuditRecord
        {
            MessageId = id ?? "", MethodArgs = (args ?? []).Select(a => a ?? "").ToArray(), Verdict = verdict, Time = DateTimeOffset.UnixEpoch.AddMilliseconds(ms) .AddYears(30),
            Node = "com.test.n", Method = "CliCommand", OutputBytes = bytes, ExitCode = exit, Duration = TimeSpan.FromMilliseconds(ms % 100000),
        };

    [Fact]
    public void A_written_record_parses_back_the_same()
    {
        Check.One(Cases, Prop.ForAll(Records.ToArbitrary(), r =>
            StewardAuditLog.TryParse(Line(r), out var back, out _) && Line(back) == Line(r)));
    }

    [Fact]
    public void Random_and_mutated_lines_never_throw_and_an_accepted_one_is_whole()
    {
        static bool Whole(string? line)
        {
            if (!StewardAuditLog.TryParse(line, out var r, out var problem)) return problem.Length > 0;
            return r.MethodArgs is not null && r.ReplyMethodArgs is not null && r.Node is not null && r.MessageId is not null && r.Verdict.Length > 0 && r.Time != default;
        }
        Check.One(Cases, Prop.ForAll(ArbMap.Default.ArbFor<string>(), Whole));
        var mutated = from r in Records
                      from cut in Gen.Choose(0, 400)
                      from junk in ArbMap.Default.ArbFor<string>().Generator
                      from how in Gen.Choose(0, 3)
                      let line = Line(r)
                      let at = Math.Min(cut, line.Length)
                      select how switch
                      {
                          0 => line[..at],
                          1 => line[..at] + junk + line[at..],
                          2 => line.Replace("\"run\"", "\"walk\"").Replace("\"time\"", "\"tim\""),
                          _ => line.Replace("[", "{").Replace(":", ":null,"),
                      };
        Check.One(Cases, Prop.ForAll(mutated.ToArbitrary(), Whole));
        Assert.False(StewardAuditLog.TryParse("null", out _, out _));
        Assert.False(StewardAuditLog.TryParse("""{"verdict":"run"}""", out _, out var noTime));
        Assert.Contains("no time", noTime);
        Assert.True(StewardAuditLog.TryParse("""{"verdict":"run","time":"2026-01-01T00:00:00Z","methodArgs":null,"node":null}""", out var nulls, out _));
        Assert.Equal(([], ""), (nulls.MethodArgs, nulls.Node));
    }

    [Fact]
    public void The_metrics_endpoint_parser_never_throws_and_round_trips()
    {
        Check.One(Cases, Prop.ForAll(ArbMap.Default.ArbFor<string>(), s =>
            !StewardMetricsEndpoint.TryParse(s, out var e, out var problem) ? problem.Length > 0
            : StewardMetricsEndpoint.TryParse(e.ToString(), out var again, out _) && again == e));
        var good = from a in Gen.Choose(0, 255)
                   from b in Gen.Choose(0, 255)
                   from port in Gen.Choose(1, 65535)
                   select ($"127.{a}.{b}.1:{port}", port);
        Check.One(Cases, Prop.ForAll(good.ToArbitrary(), t =>
            StewardMetricsEndpoint.TryParse(t.Item1, out var e, out _) && e.Port == t.port && e.IsLoopback));
        Assert.True(StewardMetricsEndpoint.TryParse("[::1]:9464", out var v6, out _) && v6.IsLoopback && v6.ToString() == "[::1]:9464");
        Assert.True(StewardMetricsEndpoint.TryParse("0.0.0.0:9464", out var any, out _) && any.IsWildcard && !any.IsLoopback && any.ListenerHost == "+");
        Assert.True(StewardMetricsEndpoint.TryParse("localhost:1", out var local, out _) && local.IsLoopback);
        Assert.True(StewardMetricsEndpoint.TryParse("metrics.acme.com:9464", out var named, out _) && !named.IsLoopback);
        foreach (var bad in new[] { "", "9464", ":9464", "host:", "host:0", "host:65536", "host:-1", "::1:9464", "[1.2.3.4]:80", "a b:80", "host:80x" })
            Assert.False(StewardMetricsEndpoint.TryParse(bad, out _, out _), bad);
    }
}
