using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using RemoteOps.Steward;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>The job line the agent hands a pwsh worker (<see cref="StewardPwsh.JobLine"/>): the payload's JSON read in
/// the agent and passed on as base64 fields the worker splits on spaces. Decoded here as the worker's bootstrap decodes
/// it, on generated scripts, arguments, $using: values and input; and any other payload is refused with one problem,
/// never an exception.</summary>
public class StewardPwshJobLineTests
{
    private static readonly FsCheck.Config Cases = FsCheck.Config.QuickThrowOnFailure.WithMaxTest(200);

    private static Gen<string> Text => ArbMap.Default.ArbFor<string>().Generator.Select(s => new string((s ?? "").Where(c => !char.IsSurrogate(c)).ToArray()));

    private static string Decode(string b64) => Encoding.UTF8.GetString(Convert.FromBase64String(b64));

    [Fact]
    public void A_payload_travels_whole_in_fields_the_worker_splits_on_spaces()
    {
        var gen = from script in Text
                  from args in Gen.ListOf(Gen.OneOf(Text, Gen.Constant<string>(null!)))
                  from names in Gen.ListOf(Text)
                  from input in Gen.ListOf(Text)
                  from hasInput in Gen.Elements(true, false)
                  select (script, args: args.ToArray(), @using: names.Distinct().ToDictionary(n => n, n => "v" + n), input: input.ToArray(), hasInput);
        Check.One(Cases, Prop.ForAll(gen.ToArbitrary(), t =>
        {
            var payload = JsonSerializer.Serialize(new { args = t.args, @using = t.@using, input = t.input, t.hasInput });
            var line = StewardPwsh.JobLine("0123456789ABCDEF", t.script, payload, out var problem);
            if (line is null || problem.Length > 0 || line.Contains('\n') || line.Contains('\r')) return false;
            var fields = line.Split(' ');
            var args = fields.Skip(3).Where(f => f.StartsWith('a')).Select(f => Decode(f[1..])).ToArray();
            var input = fields.Skip(3).Where(f => f.StartsWith('i')).Select(f => Decode(f[1..])).ToArray();
            var @using = fields.Skip(3).Where(f => f.StartsWith('u')).Select(f => f[1..].Split('.')).ToDictionary(p => Decode(p[0]), p => Decode(p[1]));
            return fields[0] == "0123456789ABCDEF" && Decode(fields[1]) == t.script && fields[2] == (t.hasInput ? "I" : "-")
                // A null argument is skipped, as the worker always did.
                && args.SequenceEqual(t.args.Where(a => a is not null)) && input.SequenceEqual(t.input)
                && @using.Count == t.@using.Count && t.@using.All(u => @using.TryGetValue(u.Key, out var v) && v == u.Value);
        }));
    }

    [Fact]
    public void Any_other_payload_is_refused_with_one_problem_and_never_throws()
    {
        var shapes = Gen.OneOf(Text,
            from junk in Text select $"{{\"args\": {JsonSerializer.Serialize(junk)}}}",
            from n in Gen.Choose(-5, 5) select $"{{\"input\": [{n}]}}",
            Gen.Elements("[]", "1", "null", "{\"hasInput\": \"yes\"}", "{\"using\": [\"x\"]}", "{\"args\": [[\"x\"]]}", "{", "{\"args\": [\"x\"]"));
        Check.One(Cases, Prop.ForAll(shapes.ToArbitrary(), payload =>
        {
            var line = StewardPwsh.JobLine("n", "1", payload, out var problem);
            // Either a payload it understands (valid JSON of the right shape) or one problem naming the payload.
            return line is not null ? problem.Length == 0 : problem.StartsWith("PwshScript's methodArgs[1] is not its payload", StringComparison.Ordinal);
        }));
        Assert.Null(StewardPwsh.JobLine("n", "1", "{\"args\": 3}", out var p));
        Assert.Contains("arrays of CliXml strings", p);
        Assert.Equal("n " + Convert.ToBase64String(Encoding.UTF8.GetBytes("1")) + " -", StewardPwsh.JobLine("n", "1", null, out _));
    }
}
