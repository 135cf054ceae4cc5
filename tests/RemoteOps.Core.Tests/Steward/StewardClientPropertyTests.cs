using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;
using RemoteOps.Steward;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>Properties of the sender's parsers: message fields (as the cmdlet binds them) read as the seed's JSON is,
/// and target expansion.</summary>
public class StewardClientPropertyTests
{
    private static readonly FsCheck.Config Cases = FsCheck.Config.QuickThrowOnFailure.WithMaxTest(300);
    private static readonly SigningKey Key = SigningKey.Generate();

    private static readonly Gen<TimeSpan?> Durations = Gen.OneOf(Gen.Constant((TimeSpan?)null),
        Gen.Choose(0, 24 * 3600).Select(s => (TimeSpan?)TimeSpan.FromSeconds(s)),
        Gen.Choose(0, int.MaxValue).Select(ms => (TimeSpan?)TimeSpan.FromMilliseconds(ms % (24 * 3600 * 1000))));

    [Fact]
    public void Fields_read_as_the_same_message_in_seed_json() =>
        Prop.ForAll(Arb.From(Durations.Zip(Durations)), Arb.From(Gen.Elements(StewardMethods.All.Where(m => !StewardMethods.ReplyMethods.Contains(m) || m == StewardMethod.CliCommand).ToArray())
            .Zip(Gen.Elements("", "REQ", "REQn", "req"))), ArbMap.Default.ArbFor<NonNull<string>[]>(), (timeouts, named, args) =>
        {
            var (ack, methodTimeout) = timeouts;
            var (method, prefix) = named;
            var fields = new StewardRequestFields
            {
                ToNodes = ["com.acme.web1"], Method = prefix + method, MethodArgs = args?.Select(a => a.Get).ToArray() ?? [],
                AckTimeout = ack, MethodTimeout = methodTimeout, ReplyMethod = "REQToFile", Directory = "d", FileName = "f",
            };
            StewardRequest request;
            try { request = fields.ToRequest(); }
            catch (StewardArgumentException) { return; } // e.g. an argument that is not valid text: refused, never thrown otherwise
            Assert.Equal(method, request.Method);
            Assert.Equal(ack, request.AckTimeout);
            Assert.Equal(methodTimeout, request.MethodTimeout);
            Assert.Equal(fields.MethodArgs, request.MethodArgs);
            Assert.Equal(StewardMethod.ToFile, request.ReplyMethod);
            // And the same message written as the seed's JSON parses the same.
            var json = JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["toNode"] = "com.acme.web1", ["method"] = prefix + method, ["methodArgs"] = fields.MethodArgs, ["replyMethod"] = "REQToFile",
                ["directory"] = "d", ["fileName"] = "f",
                ["ACKTimeout"] = ack is { } a ? Duration.Format(a) : null, ["methodTimeout"] = methodTimeout is { } m ? Duration.Format(m) : null,
            }.Where(kv => kv.Value is not null).ToDictionary());
            var seed = Assert.Single(StewardRequestParser.Parse(json));
            Assert.True(seed.Targets.SequenceEqual(request.Targets) && seed.Method == request.Method && seed.AckTimeout == request.AckTimeout
                && seed.MethodTimeout == request.MethodTimeout && seed.MethodArgs.SequenceEqual(request.MethodArgs));
        }).Check(Cases);

    [Fact]
    public void Any_text_as_a_field_is_a_request_or_one_StewardArgumentException() =>
        Prop.ForAll(ArbMap.Default.ArbFor<string>(), ArbMap.Default.ArbFor<string>(), ArbMap.Default.ArbFor<string>(), (method, reply, operation) =>
        {
            var fields = new StewardRequestFields { ToNodes = ["n"], Method = method, ReplyMethod = reply, OperationJson = operation };
            try { fields.ToRequest(); }
            catch (StewardArgumentException e) { Assert.False(string.IsNullOrWhiteSpace(e.Message)); }
        }).Check(Cases);

    [Fact]
    public void Build_gives_a_window_of_ack_timeout_times_retries_plus_one_and_a_command_that_verifies() =>
        Prop.ForAll(Arb.From(Gen.Choose(1, 3600 * 1000)), Arb.From(Gen.Choose(0, 100)), (ackMs, retries) =>
        {
            var now = DateTimeOffset.UtcNow;
            var request = new StewardRequest { ToNode = "n", Method = StewardMethod.Ping, AckTimeout = TimeSpan.FromMilliseconds(ackMs), Retries = retries };
            var o = StewardClient.Build(request, "com.acme.n", new StewardConfig(), Key, now);
            Assert.Equal(TimeSpan.FromMilliseconds(ackMs) * (retries + 1), o.Record.Expires - o.Record.Created);
            Assert.True(StewardSubjects.IsMessageId(o.Record.MessageId));
            var envelope = Envelope<StewardCommand>.Open(StewardCodec.Instance, o.Wire);
            Assert.True(envelope.SignatureValid);
            Assert.Equal(o.Record.MessageId, envelope.Message!.MessageId);
            Assert.Equal(retries, envelope.Message.Retries);
        }).Check(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(100));

    private static readonly Gen<string> Segment = Gen.Elements("com", "acme", "web1", "web2", "eu", "db", "x");
    private static readonly Gen<string> Names = Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(Segment, n)).Select(s => string.Join('.', s));
    private static readonly Gen<string> Patterns = Gen.OneOf(Names,
        Names.Select(n => n + ".*"), Names.Select(n => n + ".**"), Names.Select(n => n + ".w*"), Gen.Constant("**"));

    [Fact]
    public void Expansion_keeps_names_as_given_and_gives_exactly_the_online_matches_of_a_pattern_each_once() =>
        Prop.ForAll(Arb.From(Gen.ListOf(Patterns)), Arb.From(Gen.ListOf(Names.Zip(ArbMap.Default.GeneratorFor<bool>()))), (targets, registry) =>
        {
            var now = DateTimeOffset.UtcNow;
            var nodes = registry.Select(r => new StewardNodeRecord
            {
                Name = r.Item1, PublicKey = "k", Started = now, Interval = TimeSpan.FromSeconds(10),
                LastSeen = r.Item2 ? now : now - TimeSpan.FromMinutes(1),
            }).ToArray();
            var set = StewardTargets.Expand(targets, nodes, now);
            Assert.Equal(set.Nodes.Count, set.Nodes.Distinct().Count());
            foreach (var t in targets.Where(t => !t.Contains('*'))) Assert.Contains(t, set.Nodes);
            var online = nodes.Where(n => n.IsOnline(now)).Select(n => n.Name).ToHashSet();
            var expected = targets.Where(t => !t.Contains('*'))
                .Concat(targets.Where(t => t.Contains('*')).SelectMany(p => online.Where(n => DestinationPattern.Matches(n, p))))
                .ToHashSet();
            Assert.Equal(expected.Order(), set.Nodes.Order());
            // Every registry node a pattern matched and that is not sent to is named offline, exactly once.
            var matched = nodes.Select(n => n.Name).Where(n => targets.Any(t => t.Contains('*') && DestinationPattern.Matches(n, t))).ToHashSet();
            Assert.Equal(matched.Except(set.Nodes).Order(StringComparer.Ordinal), set.Offline.Select(o => o.Name));
            Assert.All(set.Offline, o => Assert.DoesNotContain(o.Name, online));
        }).Check(Cases);
}
