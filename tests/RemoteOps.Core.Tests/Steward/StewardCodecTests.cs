using System.Text;
using FsCheck;
using FsCheck.Fluent;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;
using RemoteOps.Remaphore;
using RemoteOps.Seaport;
using RemoteOps.Steward;

namespace RemoteOps.Core.Tests.Steward;

public class StewardCodecTests
{
    private static readonly SigningKey Central = SigningKey.Generate();
    private static readonly FsCheck.Config Cases = FsCheck.Config.QuickThrowOnFailure.WithMaxTest(300);

    private static StewardCommand Command(long time, string id = "m-1") => new()
    {
        MessageId = id, Node = "com.acme.web1", Method = StewardMethod.CliCommand, Args = ["bash", "-c", "echo é \"x\"\n"],
        ReplyMethod = StewardMethod.ToFile, ReplyArgs = [], AckTimeout = TimeSpan.FromSeconds(5), Retries = 3,
        MethodTimeout = TimeSpan.FromSeconds(10), Directory = "out", FileName = null, Time = time,
    };

    private static readonly byte[] Genuine = StewardCodec.Encode(Command(RemaphoreWire.NowNanos()), Central);

    [Fact]
    public void Encode_then_decode_gives_the_command_back_with_a_valid_signature()
    {
        var command = Command(123_456_789);
        var envelope = Envelope<StewardCommand>.Open(StewardCodec.Instance, StewardCodec.Encode(command, Central));
        Assert.True(envelope.SignatureValid, envelope.Error);
        Assert.True(envelope.Message!.SameContent(command with { Sender = Central.PublicBase58 }));
    }

    [Fact]
    public void A_steward_signature_is_never_a_seaport_entry_or_remaphore_latch_signature_nor_the_reverse()
    {
        var json = Genuine.AsSpan(Array.IndexOf(Genuine, (byte)'\n') + 1).ToArray();
        var stewardSignature = Central.Sign(StewardCodec.CommandDomain, json);
        var key = VerificationKey.Import(Central.PublicBase58)!;
        Assert.True(VerificationKey.Verify(key, StewardCodec.CommandDomain, json, stewardSignature));
        Assert.False(VerificationKey.Verify(key, SeaportEntryCodec.Domain, json, stewardSignature));
        Assert.False(VerificationKey.Verify(key, json, stewardSignature)); // remaphore signs the bytes as they are
        // The same bytes signed for seaport or remaphore do not pass as a steward command.
        foreach (var other in new[] { Central.Sign(SeaportEntryCodec.Domain, json), Central.Sign(json) })
        {
            var forged = Encoding.ASCII.GetBytes(Base58.Encode(other) + "\n").Concat(json).ToArray();
            Assert.False(Envelope<StewardCommand>.Open(StewardCodec.Instance, forged).SignatureValid);
        }
        // And a steward command is neither a remaphore wire message nor a seaport entry.
        Assert.False(RemaphoreWire.TryDecode(Genuine, out _, out _));
        Assert.Null(SeaportEntryCodec.Decode("s.m-1", Genuine, new TrustStore([]), out _));
    }

    private static (EnvelopeVerifier<StewardCommand> Verifier, TrustStore Trust) VerifierFor(params SigningKey[] peers)
    {
        var config = new RemoteOpsConfig
        {
            Peers = peers.Select((k, i) => new PeerConfig { Destination = $"com.acme.p{i}", Public = k.PublicBase58 }).ToArray(),
        }.WithSection(new StewardConfig { Methods = new Dictionary<StewardMethod, IReadOnlyList<string>> { [StewardMethod.CliCommand] = ["com.acme.p0"] } });
        var trust = new TrustStore(config.Peers, config.TrustGrants);
        return (new EnvelopeVerifier<StewardCommand>(trust, TimeSpan.FromSeconds(5), 1 << 20, new ReplayGuard(TimeSpan.FromSeconds(5))), trust);
    }

    private static Verdict<StewardCommand> Verify(EnvelopeVerifier<StewardCommand> verifier, TrustStore trust, byte[] raw, long now) =>
        verifier.Verify(Envelope<StewardCommand>.Open(StewardCodec.Instance, raw), now, Freshness.Live, trust,
            (m, peer, t) => t.Granted(StewardMethods.TrustScope(m.Method)).Contains(peer.Public) ? null : new Refusal(DropReason.ForbiddenVerb, "not allowed"),
            (m, _) => m.Node == "com.acme.web1" ? null : new Refusal(DropReason.WrongDestination, "not for us"));

    [Fact]
    public void The_shared_verifier_accepts_a_good_command_and_drops_each_bad_one_for_its_reason()
    {
        var other = SigningKey.Generate();
        var (verifier, trust) = VerifierFor(Central, other);
        var now = RemaphoreWire.NowNanos();
        var good = StewardCodec.Encode(Command(now), Central);
        Assert.True(Verify(verifier, trust, good, now).Accepted);
        Assert.Equal(DropReason.Replay, Verify(verifier, trust, good, now).Drop);

        var tampered = (byte[])good.Clone();
        var at = Encoding.UTF8.GetString(tampered).IndexOf("echo", StringComparison.Ordinal);
        tampered[Encoding.UTF8.GetByteCount(Encoding.UTF8.GetString(tampered)[..at])] = (byte)'E';
        Assert.Equal(DropReason.BadSignature, Verify(verifier, trust, tampered, now).Drop);

        var forged = StewardCodec.Encode(Command(now, "m-2") , SigningKey.Generate());
        var text = Encoding.UTF8.GetString(forged).Replace(SenderOf(forged), Central.PublicBase58);
        Assert.Equal(DropReason.BadSignature, Verify(verifier, trust, Encoding.UTF8.GetBytes(text), now).Drop);

        Assert.Equal(DropReason.UnknownSender, Verify(verifier, trust, StewardCodec.Encode(Command(now, "m-3"), SigningKey.Generate()), now).Drop);
        Assert.Equal(DropReason.ForbiddenVerb, Verify(verifier, trust, StewardCodec.Encode(Command(now, "m-4"), other), now).Drop);
        Assert.Equal(DropReason.WrongDestination, Verify(verifier, trust, StewardCodec.Encode(Command(now, "m-5") with { Node = "com.acme.web2" }, Central), now).Drop);
        Assert.Equal(DropReason.ClockSkew, Verify(verifier, trust, StewardCodec.Encode(Command(now - 60_000_000_000L, "m-6"), Central), now).Drop);
        Assert.Equal(DropReason.BadEncoding, Verify(verifier, trust, "garbage"u8.ToArray(), now).Drop);
    }

    private static string SenderOf(byte[] raw) =>
        StewardCodec.Instance.TryDecode(raw, out var m, out _) ? m.Sender : throw new InvalidOperationException();

    private static void DecodeNeverThrows(byte[] raw)
    {
        if (!StewardCodec.Instance.TryDecode(raw, out _, out var problem)) Assert.False(string.IsNullOrEmpty(problem));
    }

    [Fact]
    public void Decode_never_throws_on_random_bytes() =>
        Check.One(Cases, Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), DecodeNeverThrows));

    [Fact]
    public void Decode_never_throws_on_mutated_genuine_commands()
    {
        var text = Encoding.UTF8.GetString(Genuine);
        var mutated = Gen.Choose(1, 4).SelectMany(n => Enumerable.Range(0, n).Aggregate(Gen.Constant(text), (g, _) => g.SelectMany(FuzzText.Mutate)));
        Check.One(Cases, Prop.ForAll(mutated.ToArbitrary(), s => DecodeNeverThrows(Encoding.UTF8.GetBytes(s))));
    }

    [Fact]
    public void Encode_then_decode_round_trips()
    {
        var gen = from id in Gen.Choose(1, 1_000_000)
                  from method in Gen.Elements(StewardMethods.All.ToArray())
                  from args in FuzzText.Text(20).Where(s => System.Text.Unicode.Utf8.IsValid(Encoding.UTF8.GetBytes(s)) && Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(s)) == s).ArrayOf()
                  from ack in Gen.Choose(0, 3_600_000)
                  from retries in Gen.Choose(0, 100)
                  from time in ArbMap.Default.GeneratorFor<long>()
                  select new StewardCommand
                  {
                      MessageId = "m" + id, Node = "com.acme.n" + id, Method = method, Args = args, AckTimeout = TimeSpan.FromMilliseconds(ack),
                      Retries = retries, MethodTimeout = TimeSpan.FromMilliseconds(ack), Directory = args.FirstOrDefault(), Time = time,
                  };
        Check.One(Cases, Prop.ForAll(gen.ToArbitrary(), command =>
        {
            var envelope = Envelope<StewardCommand>.Open(StewardCodec.Instance, StewardCodec.Encode(command, Central));
            Assert.True(envelope.SignatureValid, envelope.Error);
            Assert.True(envelope.Message!.SameContent(command with { Sender = Central.PublicBase58 }));
        }));
    }
}

public class StewardRequestParserPropertyTests
{
    private static readonly FsCheck.Config Cases = FsCheck.Config.QuickThrowOnFailure.WithMaxTest(300);
    private static readonly string[] Seeds =
        Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Steward", "Seed"), "seed*.json").Select(File.ReadAllText).ToArray();

    private static void OnlyStewardErrors(string json)
    {
        try { StewardRequestParser.Parse(json); }
        catch (StewardArgumentException e) { Assert.False(string.IsNullOrEmpty(e.Message)); }
    }

    [Fact]
    public void Random_text_gives_requests_or_a_steward_error() =>
        Check.One(Cases, Prop.ForAll(FuzzText.Text(200).ToArbitrary(), OnlyStewardErrors));

    [Fact]
    public void Mutated_seed_examples_give_requests_or_a_steward_error()
    {
        var mutated = Gen.Elements(Seeds).SelectMany(s => Gen.Choose(1, 4).SelectMany(n => Enumerable.Range(0, n).Aggregate(Gen.Constant(s), (g, _) => g.SelectMany(FuzzText.Mutate))));
        Check.One(Cases, Prop.ForAll(mutated.ToArbitrary(), OnlyStewardErrors));
    }
}
