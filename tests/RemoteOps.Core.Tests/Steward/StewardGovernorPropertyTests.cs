using FsCheck;
using FsCheck.Fluent;
using RemoteOps.Identity;
using RemoteOps.Steward;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>Properties of the governor's parsers: the name check, the governor field of a request and of a signed command.</summary>
public class StewardGovernorPropertyTests
{
    private static readonly FsCheck.Config Cases = FsCheck.Config.QuickThrowOnFailure.WithMaxTest(300);
    private static readonly SigningKey Key = SigningKey.Generate();

    private static bool Shaped(string s) =>
        s.Length is >= 1 and <= StewardGovernors.MaxNameLength && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');

    private static readonly Gen<string> Names = Gen.OneOf(
        ArbMap.Default.ArbFor<string>().Generator.Select(s => s ?? ""),
        Gen.Elements("a", "deploy", "db-patch", "x_1", "a.b", "a b", "é", "-", "_", new string('z', 64), new string('z', 65), "a\n", "*", ">"),
        Gen.Choose(1, 70).SelectMany(n => Gen.ArrayOf(Gen.Elements("aZ09_-.* \n\té>".ToCharArray()), n)).Select(c => new string(c)));

    [Fact]
    public void A_name_is_accepted_exactly_when_it_is_1_to_64_letters_digits_underscores_and_dashes() =>
        Prop.ForAll(Arb.From(Names), name =>
        {
            var ok = StewardGovernors.TryValidateName(name, out var problem);
            Assert.Equal(Shaped(name), ok);
            Assert.Equal(ok, problem.Length == 0);
        }).Check(Cases);

    [Fact]
    public void Any_governor_in_a_request_file_is_the_request_or_one_StewardArgumentException() =>
        Prop.ForAll(Arb.From(Names), name =>
        {
            var json = System.Text.Json.JsonSerializer.Serialize(new { toNode = "com.acme.web1", method = "Ping", governor = name });
            try { Assert.Equal(name, Assert.Single(StewardRequestParser.Parse(json)).Governor); Assert.True(Shaped(name)); }
            catch (StewardArgumentException e) { Assert.False(Shaped(name)); Assert.Contains("governor", e.Message); }
        }).Check(Cases);

    [Fact]
    public void A_signed_command_round_trips_its_governor_and_a_forged_one_never_throws() =>
        Prop.ForAll(Arb.From(Names), name =>
        {
            var command = new StewardCommand { MessageId = "m1", Node = "n1", Method = StewardMethod.Ping, Time = 1, Governor = Shaped(name) ? name : "ok" };
            var wire = StewardCodec.Encode(command, Key);
            Assert.True(StewardCodec.Instance.TryDecode(wire, out var decoded, out _));
            Assert.Equal(command.Governor, decoded.Governor);
            // The same bytes with any text as the governor: decoded (a valid name) or refused with a problem, never thrown.
            var text = System.Text.Encoding.UTF8.GetString(wire);
            var forged = text.Replace($"\"governor\":\"{command.Governor}\"", $"\"governor\":{System.Text.Json.JsonSerializer.Serialize(name)}");
            var ok = StewardCodec.Instance.TryDecode(System.Text.Encoding.UTF8.GetBytes(forged), out var back, out var problem);
            Assert.Equal(Shaped(name), ok);
            if (ok) Assert.Equal(name, back.Governor); else Assert.NotEmpty(problem);
        }).Check(Cases);
}
