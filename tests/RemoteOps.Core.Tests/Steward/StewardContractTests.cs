using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using RemoteOps.Identity;
using RemoteOps.Messaging;
using RemoteOps.Steward;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>The shared steward contract: which status moves are allowed, every NATS name, and signed records.</summary>
public class StewardContractTests
{
    private static readonly StewardStatus[] All = Enum.GetValues<StewardStatus>();

    // ---- node names ----

    [Theory]
    [InlineData("com.acme.>")]
    [InlineData("com.>.web1")]
    [InlineData("com..acme")]
    [InlineData("")]
    public void A_node_name_that_a_subject_would_read_as_a_wildcard_is_refused_everywhere(string name)
    {
        Assert.False(StewardSubjects.TryValidateNode(name, out var problem));
        Assert.NotEmpty(problem);
        Assert.ThrowsAny<Exception>(() => StewardTargets.Check(name));
    }

    [Fact]
    public void A_command_addressed_to_a_wildcard_node_does_not_decode()
    {
        using var key = SigningKey.Generate();
        var wire = StewardCodec.Encode(new StewardCommand { MessageId = "m1", Node = "com.acme.>", Method = StewardMethod.Ping }, key);
        Assert.False(StewardCodec.Instance.TryDecode(wire, out _, out var problem));
        Assert.Contains("node", problem);
        Assert.True(StewardSubjects.TryValidateNode("com.acme.web1", out _));
        // A pattern is a target (expanded against the registry), never a node's own name.
        Assert.False(StewardSubjects.TryValidateNode("com.acme.*", out _));
    }

    [Fact]
    public void ReplyByAgent_travels_signed_and_only_as_true()
    {
        using var key = SigningKey.Generate();
        var command = new StewardCommand { MessageId = "m1", Node = "com.acme.web1", Method = StewardMethod.Ping, ReplyByAgent = true };
        var wire = StewardCodec.Encode(command, key);
        Assert.True(StewardCodec.Instance.TryDecode(wire, out var decoded, out _));
        Assert.True(decoded.ReplyByAgent);
        Assert.True(decoded.SameContent(command with { Sender = key.PublicBase58 }));
        // Absent means false; an explicit false (or anything else) is not what the encoder writes.
        Assert.True(StewardCodec.Instance.TryDecode(StewardCodec.Encode(command with { ReplyByAgent = false }, key), out var plain, out _));
        Assert.False(plain.ReplyByAgent);
        var text = Encoding.UTF8.GetString(wire).Replace("\"replyByAgent\":true", "\"replyByAgent\":false");
        Assert.False(StewardCodec.Instance.TryDecode(Encoding.UTF8.GetBytes(text), out _, out var problem));
        Assert.NotEmpty(problem);
    }

    // ---- StewardStatuses ----

    [Fact]
    public void The_lifecycle_moves_are_allowed()
    {
        (StewardStatus, StewardStatus)[] allowed =
        [
            (StewardStatus.Queued, StewardStatus.Delivered), (StewardStatus.Delivered, StewardStatus.Running),
            (StewardStatus.Running, StewardStatus.Running), (StewardStatus.Running, StewardStatus.Succeeded),
            (StewardStatus.Running, StewardStatus.Failed), (StewardStatus.Running, StewardStatus.TimedOut),
            (StewardStatus.Queued, StewardStatus.Denied), (StewardStatus.Queued, StewardStatus.NoAck),
            (StewardStatus.Queued, StewardStatus.Cancelled), (StewardStatus.Delivered, StewardStatus.Failed),
        ];
        foreach (var (from, to) in allowed) Assert.True(StewardStatuses.MayMove(from, to), $"{from} -> {to}");
    }

    [Fact]
    public void No_move_goes_back_leaves_a_final_status_or_lets_the_sender_end_a_taken_message()
    {
        foreach (var from in All)
            foreach (var to in All)
            {
                var may = StewardStatuses.MayMove(from, to);
                if (StewardStatuses.IsFinal(from)) Assert.False(may, $"{from} is final, yet -> {to}");
                if (to < from) Assert.False(may, $"{from} -> {to} goes back");
                if (to == from && to != StewardStatus.Running) Assert.False(may, $"{from} -> {from}");
                if (to == StewardStatus.Queued) Assert.False(may, $"{from} -> Queued (Queued is only created)");
                // NoAck and Cancelled are the sender's; once the node took the message, a late one must not win.
                if (StewardStatuses.IsSenderStatus(to) && from != StewardStatus.Queued) Assert.False(may, $"{from} -> {to}");
            }
        Assert.Equal([StewardStatus.Succeeded, StewardStatus.Failed, StewardStatus.TimedOut, StewardStatus.NoAck, StewardStatus.Denied, StewardStatus.Cancelled],
            All.Where(StewardStatuses.IsFinal));
        Assert.Equal([StewardStatus.Queued, StewardStatus.NoAck, StewardStatus.Cancelled], All.Where(StewardStatuses.IsSenderStatus));
    }

    // ---- StewardSubjects ----

    [Fact]
    public void Names_derive_from_the_section()
    {
        var s = StewardSubjects.For(new StewardConfig { Stream = "fleet", ResultsBucket = "res", NodesBucket = "nodes" });
        Assert.Equal(("fleet", "res", "nodes"), (s.Stream, s.ResultsBucket, s.NodesBucket));
        Assert.Equal("fleet.cmd.com.acme.web1", s.Command("com.acme.web1"));
        Assert.Equal("fleet.cmd.>", s.AllCommands);
        Assert.Equal("fleet.out.0197", s.Output("0197"));
        Assert.Equal("fleet.out.>", s.AllOutput);
    }

    [Theory]
    [InlineData("com.acme.web1", "node_com_acme_web1")]
    [InlineData("web-1", "node_web-1")]
    [InlineData("a_b", "node__x615f62")]                       // '_' is not plain: would meet "a.b"
    [InlineData("a.b", "node_a_b")]
    [InlineData("x636f6d2e61636d652e77656231", "node_x636f6d2e61636d652e77656231")] // plain, and never an escape
    public void Consumer_names_read_as_the_node_where_they_can(string node, string expected) =>
        Assert.Equal(expected, StewardSubjects.ConsumerName(node));

    /// <summary>Node names as the config accepts them: valid destinations without wildcards, plain and otherwise, short
    /// and long.</summary>
    private static readonly Gen<string> Nodes = Gen.OneOf(
            Gen.Elements("com", "acme", "web1", "a", "x", "node_", "a-b", "A", "é", "µ", "%", "/", "\\", ">", "_", "x61", "h", "_x", "_xc3a9", "xc3a9")
                .ArrayOf().Where(a => a.Length > 0).Select(a => string.Join(".", a)),
            FuzzText.Text(30).Select(t => new string(t.Where(c => !char.IsWhiteSpace(c) && !char.IsControl(c) && c is not (',' or '*')).ToArray())),
            Gen.Choose(190, 260).Select(n => new string('a', n)),
            Gen.Choose(95, 140).Select(n => string.Join(".", Enumerable.Repeat("é", n))))
        .Where(n => DestinationPattern.TryValidateName(n, out _));

    [Property(MaxTest = 500)]
    public Property Every_node_gets_a_valid_consumer_name() =>
        Prop.ForAll(Nodes.ToArbitrary(), node =>
        {
            var name = StewardSubjects.ConsumerName(node);
            Assert.StartsWith("node_", name);
            Assert.InRange(name.Length, 6, 255);
            Assert.All(name, c => Assert.True(char.IsAsciiLetterOrDigit(c) || c is '_' or '-', $"'{c}' in {name}"));
        });

    [Property(MaxTest = 500)]
    public Property Distinct_nodes_get_distinct_consumer_names() =>
        Prop.ForAll(Nodes.ToArbitrary(), Nodes.ToArbitrary(), (a, b) =>
            a == b ? StewardSubjects.ConsumerName(a) == StewardSubjects.ConsumerName(b) : StewardSubjects.ConsumerName(a) != StewardSubjects.ConsumerName(b));

    [Fact]
    public void Names_that_differ_only_by_dot_or_underscore_or_escape_stay_apart()
    {
        string[] nodes = ["a.b", "a_b", "a-b", "ab", "x612e62", "x615f62", "_x615f62", "é", "xc3a9", new string('a', 201), new string('a', 200), "é." + new string('a', 200)];
        Assert.Equal(nodes.Length, nodes.Select(StewardSubjects.ConsumerName).Distinct().Count());
    }

    [Fact]
    public async Task The_server_takes_the_consumer_name_of_any_node()
    {
        await using var server = await NatsServer.StartAsync();
        await using var nats = new NatsConnection(new NatsOpts { Url = server.Url });
        var js = new NatsJSContext(nats);
        await js.CreateStreamAsync(new StreamConfig("steward", ["steward.cmd.>"]));
        foreach (var node in new[] { "com.acme.web1", "a_b", new string('a', 200), new string('a', 300), string.Join(".", Enumerable.Repeat("é", 150)), "com.acme.wéb-1/2" })
        {
            var name = StewardSubjects.ConsumerName(node);
            var consumer = await js.CreateOrUpdateConsumerAsync("steward", new ConsumerConfig(name) { DurableName = name, AckPolicy = ConsumerConfigAckPolicy.Explicit });
            Assert.Equal(name, consumer.Info.Name);
        }
    }

    [Theory]
    [InlineData("com.acme.web1", "com.acme.web1")]
    [InlineData("com.acme.wéb", "_x636f6d2e61636d652e77c3a962")]
    [InlineData("_x636f6d2e61636d652e77c3a962", "_x5f783633366636643265363136333664363532653737633361393632")]
    [InlineData("x636f6d2e61636d652e77c3a962", "x636f6d2e61636d652e77c3a962")]
    public void Node_keys_read_as_the_node_where_they_can(string node, string expected) =>
        Assert.Equal(expected, StewardStore.NodeKey(node));

    [Property(MaxTest = 500)]
    public Property Distinct_nodes_get_distinct_registry_keys() =>
        Prop.ForAll(Nodes.ToArbitrary(), Nodes.ToArbitrary(), (a, b) =>
        {
            Assert.True(KvBuckets.IsKey(StewardStore.NodeKey(a)), StewardStore.NodeKey(a));
            Assert.Equal(a == b, StewardStore.NodeKey(a) == StewardStore.NodeKey(b));
        });

    [Fact]
    public void New_message_ids_are_ids_and_key_tokens()
    {
        var ids = Enumerable.Range(0, 100).Select(_ => StewardSubjects.NewMessageId()).ToArray();
        Assert.All(ids, id => Assert.True(StewardSubjects.IsMessageId(id)));
        Assert.All(ids, id => Assert.True(KvBuckets.IsKey(id)));
        Assert.Equal(ids.Length, ids.Distinct().Count());
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("a", true)]
    [InlineData("A-z_09", true)]
    [InlineData("a.b", false)]   // a subject separator: would be two tokens
    [InlineData("a*", false)]
    [InlineData("a>", false)]
    [InlineData("a b", false)]
    [InlineData("é", false)]
    public void IsMessageId(string? id, bool expected) => Assert.Equal(expected, StewardSubjects.IsMessageId(id));

    [Fact]
    public void A_message_id_is_at_most_128_characters()
    {
        Assert.True(StewardSubjects.IsMessageId(new string('a', 128)));
        Assert.False(StewardSubjects.IsMessageId(new string('a', 129)));
    }

    [Property(MaxTest = 500)]
    public Property IsMessageId_accepts_exactly_short_runs_of_letters_digits_dash_and_underscore() =>
        Prop.ForAll(Gen.OneOf(FuzzText.Text(140), Gen.Elements("a", "0", "-", "_", "Z").ArrayOf().Select(a => string.Concat(a))).ToArbitrary(), id =>
        {
            var expected = id.Length is > 0 and <= 128 && id.All(c => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-' or '_');
            Assert.Equal(expected, StewardSubjects.IsMessageId(id));
            // What it accepts is one subject token and one key: it can name a key and an output subject.
            if (expected) Assert.True(KvBuckets.IsKey(id) && !id.Contains('.'));
        });

    // ---- SignedJson ----

    private static StewardChunk Chunk => new() { MessageId = "m1", Node = "com.acme.web1", Sequence = 7, Line = "héllo \"world\"\n", Time = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000) };

    [Fact]
    public void A_record_opens_as_written_with_its_signer()
    {
        using var key = SigningKey.Generate();
        var raw = SignedJson.Encode(Chunk, key, StewardChunk.Domain);
        Assert.True(SignedJson.TryOpen<StewardChunk>(raw, StewardChunk.Domain, 4096, out var back, out var signer, out var problem), problem);
        Assert.Equal(Chunk, back);
        Assert.Equal(key.PublicBase58, signer);
        Assert.Equal("", problem);
    }

    [Fact]
    public void Every_changed_byte_is_refused()
    {
        using var key = SigningKey.Generate();
        var raw = SignedJson.Encode(Chunk, key, StewardChunk.Domain);
        for (var i = 0; i < raw.Length; i++)
            foreach (var flip in new byte[] { 0x01, 0x20, 0x80 })
            {
                var tampered = (byte[])raw.Clone();
                tampered[i] ^= flip;
                Assert.False(SignedJson.TryOpen<StewardChunk>(tampered, StewardChunk.Domain, 4096, out _, out var signer, out var problem), $"byte {i} ^ {flip:x2} accepted");
                Assert.Equal("", signer);
                Assert.NotEqual("", problem);
            }
    }

    [Fact]
    public void A_record_of_another_domain_is_refused()
    {
        using var key = SigningKey.Generate();
        // The same bytes signed as a node record, or as a result: never an output chunk.
        foreach (var domain in new[] { StewardNodeRecord.Domain, StewardRecord.Domain, new SignatureDomain("steward-command") })
        {
            var raw = SignedJson.Encode(Chunk, key, domain);
            Assert.False(SignedJson.TryOpen<StewardChunk>(raw, StewardChunk.Domain, 4096, out _, out _, out var problem));
            Assert.Equal("bad signature", problem);
        }
    }

    [Fact]
    public void Another_signer_line_is_refused()
    {
        using var key = SigningKey.Generate();
        using var other = SigningKey.Generate();
        var text = Encoding.ASCII.GetString(SignedJson.Encode(Chunk, key, StewardChunk.Domain));
        var swapped = Encoding.ASCII.GetBytes(text.Replace(key.PublicBase58, other.PublicBase58));
        Assert.False(SignedJson.TryOpen<StewardChunk>(swapped, StewardChunk.Domain, 4096, out _, out _, out var problem));
        Assert.Equal("bad signature", problem);
        // Its signature, with the other's key and body: still not the other's.
        var resigned = SignedJson.Encode(Chunk, other, StewardChunk.Domain);
        var mixed = Encoding.ASCII.GetBytes(text.Split('\n')[0] + "\n" + Encoding.ASCII.GetString(resigned).Split('\n', 2)[1]);
        Assert.False(SignedJson.TryOpen<StewardChunk>(mixed, StewardChunk.Domain, 4096, out _, out _, out problem));
    }

    [Theory]
    [InlineData("", "empty record")]
    [InlineData("no newline at all", "not signed")]
    [InlineData("\nx", "not signed")]
    [InlineData("0OIl\nx\n{}", "no base58 Ed25519 signature")]
    public void Malformed_records_say_why(string text, string expected)
    {
        Assert.False(SignedJson.TryOpen<StewardChunk>(Encoding.UTF8.GetBytes(text), StewardChunk.Domain, 4096, out _, out _, out var problem));
        Assert.Equal(expected, problem);
    }

    [Fact]
    public void A_record_over_the_limit_is_refused_before_it_is_read()
    {
        using var key = SigningKey.Generate();
        var raw = SignedJson.Encode(Chunk, key, StewardChunk.Domain);
        Assert.False(SignedJson.TryOpen<StewardChunk>(raw, StewardChunk.Domain, raw.Length - 1, out _, out _, out var problem));
        Assert.StartsWith("record of ", problem);
        Assert.True(SignedJson.TryOpen<StewardChunk>(raw, StewardChunk.Domain, raw.Length, out _, out _, out _));
    }

    [Fact]
    public void A_well_signed_body_that_is_not_the_record_is_corrupt()
    {
        using var key = SigningKey.Generate();
        // Validly signed, but an unknown field (or a node record) where a chunk belongs.
        var node = new StewardNodeRecord { Name = "n", PublicKey = key.PublicBase58, Started = default, LastSeen = default, Interval = TimeSpan.FromSeconds(1) };
        var raw = SignedJson.Encode(node, key, StewardChunk.Domain);
        Assert.False(SignedJson.TryOpen<StewardChunk>(raw, StewardChunk.Domain, 4096, out _, out _, out var problem));
        Assert.StartsWith("corrupt record", problem);
    }

    [Fact]
    public void A_record_with_fields_a_newer_agent_added_still_opens()
    {
        using var key = SigningKey.Generate();
        var newer = new { messageId = "m1", node = "com.a.b", sequence = 1, line = "x", time = DateTimeOffset.UnixEpoch, addedLater = 42 };
        var raw = SignedJson.Encode(newer, key, StewardChunk.Domain);
        Assert.True(SignedJson.TryOpen<StewardChunk>(raw, StewardChunk.Domain, 4096, out var chunk, out var signer, out var problem), problem);
        Assert.Equal("x", chunk.Line);
        Assert.Equal(key.PublicBase58, signer);
    }

    private static readonly byte[] Valid = SignedJson.Encode(Chunk, SigningKey.Generate(), StewardChunk.Domain);

    private static readonly Gen<byte[]> RecordBytes = Gen.OneOf(
        FuzzText.Bytes(300),
        FuzzText.Mutate(Encoding.Latin1.GetString(Valid)).Select(s => Encoding.Latin1.GetBytes(s.Select(c => c > 0xff ? '?' : c).ToArray())),
        FuzzText.Text(200).Select(Encoding.UTF8.GetBytes),
        // A valid signature line in front of random text.
        FuzzText.Text(100).Select(t => Encoding.UTF8.GetBytes(Encoding.ASCII.GetString(Valid).Split('\n')[0] + "\n" + t)));

    [Property(MaxTest = 1000)]
    public Property Random_bytes_never_throw_and_never_open_without_a_signer() =>
        Prop.ForAll(RecordBytes.ToArbitrary(), raw =>
        {
            var opened = SignedJson.TryOpen<StewardChunk>(raw, StewardChunk.Domain, 4096, out var chunk, out var signer, out var problem);
            SignedJson.TryOpen<StewardRecord>(raw, StewardRecord.Domain, 4096, out _, out _, out _);
            SignedJson.TryOpen<StewardNodeRecord>(raw, StewardNodeRecord.Domain, 4096, out _, out _, out _);
            if (opened)
            {
                // Only the untouched record opens (a mutation that changed nothing).
                Assert.Equal(Valid, raw);
                Assert.Equal(Chunk, chunk);
                Assert.NotEqual("", signer);
            }
            else Assert.NotEqual("", problem);
        });
}
