using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RemoteOps.Core.Tests.Remaphore;
using RemoteOps.Identity;
using RemoteOps.Messaging;
using RemoteOps.Steward;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>The Queued record's revision that travels with a command (<see cref="StewardQueuedHint"/>): it opens only
/// for the message and sender it was signed for, and the record a node rebuilds from the command is the one its sender
/// stored.</summary>
public class StewardQueuedHintPropertyTests
{
    private static readonly SigningKey Sender = SigningKey.Generate();
    private static readonly SigningKey Other = SigningKey.Generate();

    private static StewardOutgoing Build(TimeSpan ack, int retries, TimeSpan? replyMethodTimeout, bool replyToConsole) =>
        StewardClient.Build(new StewardRequest
        {
            Method = StewardMethod.CliCommand, MethodArgs = ["true", "a b"], AckTimeout = ack, Retries = retries, MethodTimeout = TimeSpan.FromMinutes(1),
            ReplyMethod = replyToConsole ? StewardMethod.ToConsole : null, ReplyMethodTimeout = replyMethodTimeout,
        }, "com.test.node1", new StewardConfig(), Sender, DateTimeOffset.UtcNow);

    /// <summary>The command as the node decodes it from the wire.</summary>
    private static StewardCommand Decoded(StewardOutgoing o) => Envelope<StewardCommand>.Open(StewardCodec.Instance, o.Wire).Message!;

    [Fact]
    public void A_hint_opens_only_for_the_message_and_the_sender_it_was_signed_for()
    {
        var o = Build(TimeSpan.FromSeconds(5), 2, TimeSpan.FromSeconds(90), false);
        var command = Decoded(o);
        var hint = StewardQueuedHint.Encode(Sender, command.MessageId, 42, TimeSpan.FromSeconds(90));
        Assert.True(StewardQueuedHint.TryOpen(hint, command, out var revision, out var replyTimeout));
        Assert.Equal(42UL, revision);
        Assert.Equal(TimeSpan.FromSeconds(90), replyTimeout);

        Assert.False(StewardQueuedHint.TryOpen(hint, command with { MessageId = StewardSubjects.NewMessageId() }, out _, out _));
        Assert.False(StewardQueuedHint.TryOpen(StewardQueuedHint.Encode(Other, command.MessageId, 42, TimeSpan.FromSeconds(90)), command, out _, out _));
        // Another revision, or another reply timeout, with the signature kept: not what was signed.
        Assert.False(StewardQueuedHint.TryOpen("43" + hint[2..], command, out _, out _));
        Assert.False(StewardQueuedHint.TryOpen(hint.Replace(" 900000000 ", " - "), command, out _, out _));
        // The same value spelled another way (a leading zero) is refused: one spelling per value.
        Assert.False(StewardQueuedHint.TryOpen("0" + hint, command, out _, out _));
        Assert.False(StewardQueuedHint.TryOpen(hint.Insert(hint.Length - 10, "\n"), command, out _, out _));
        Assert.False(StewardQueuedHint.TryOpen(null, command, out _, out _));
        Assert.False(StewardQueuedHint.TryOpen("", command, out _, out _));
    }

    [Property(MaxTest = 300)]
    public Property Random_text_never_opens_and_never_throws() =>
        Prop.ForAll(FuzzText.Text(200).ToArbitrary(), text =>
        {
            var command = Decoded(Build(TimeSpan.FromSeconds(5), 0, null, false));
            Assert.False(StewardQueuedHint.TryOpen(text, command, out _, out _), FuzzText.Show(text));
        });

    private static readonly StewardCommand MutatedCommand = Decoded(Build(TimeSpan.FromSeconds(5), 1, TimeSpan.FromMinutes(2), false));
    private static readonly string MutatedHint = StewardQueuedHint.Encode(Sender, MutatedCommand.MessageId, 1234, TimeSpan.FromMinutes(2));

    [Property(MaxTest = 1000)]
    public Property An_edited_hint_never_opens() =>
        Prop.ForAll(FuzzText.Mutations(MutatedHint, 3).ToArbitrary(), edited =>
        {
            if (edited == MutatedHint) return;
            Assert.False(StewardQueuedHint.TryOpen(edited, MutatedCommand, out _, out _), FuzzText.Show(edited));
        });

    [Property(MaxTest = 300)]
    public Property The_node_rebuilds_exactly_the_record_its_sender_stored() =>
        Prop.ForAll((
            from ackTicks in Gen.Choose(1, int.MaxValue)
            from retries in Gen.Choose(0, StewardConfigReader.MaxRetries)
            from replyTicks in Gen.OneOf(Gen.Constant<long?>(null), Gen.Choose(0, int.MaxValue).Select(t => (long?)t * 1000))
            from toConsole in Gen.Elements(true, false)
            select (ackTicks, retries, replyTicks, toConsole)).ToArbitrary(),
            c =>
            {
                var (ackTicks, retries, replyTicks, toConsole) = c;
                // Timeouts with sub-millisecond parts too: the wire carries whole milliseconds, and both sides agree.
                var ack = TimeSpan.FromTicks(10_000 + ackTicks);
                var replyTimeout = replyTicks is { } t ? TimeSpan.FromTicks(t) : (TimeSpan?)null;
                var o = Build(ack, retries, replyTimeout, toConsole);
                var command = Decoded(o);
                var rebuilt = StewardRecord.Queued(command, StewardRecordHash.OfWire(o.Wire), replyTimeout);
                Assert.Equal(JsonSerializer.Serialize(o.Record), JsonSerializer.Serialize(rebuilt));
                Assert.Equal(o.Record.Expires - o.Record.Created, StewardAgent.DeliveryWindow(command));

                var hint = StewardQueuedHint.Encode(Sender, command.MessageId, (ulong)ackTicks, replyTimeout);
                Assert.True(StewardQueuedHint.TryOpen(hint, command, out var revision, out var opened), hint);
                Assert.Equal((ulong)ackTicks, revision);
                Assert.Equal(replyTimeout, opened);
            });
}

/// <summary>The hint on a real agent: a message sent with it runs and keeps its sender's record's fields; a hint that is
/// replayed after a cancel, or altered, is not acted on (the record is read, and a cancelled message never runs).</summary>
public class StewardQueuedHintAgentTests(NatsFixture nats) : IClassFixture<NatsFixture>
{
    private static StewardOutgoing Touch(StewardTestBed bed, string marker, TimeSpan? replyMethodTimeout = null) =>
        StewardClient.Build(new StewardRequest
        {
            Method = StewardMethod.CliCommand, MethodArgs = ["touch", marker], AckTimeout = TimeSpan.FromMilliseconds(30_000.7), Retries = 1,
            ReplyMethod = StewardMethod.ToConsole, ReplyMethodTimeout = replyMethodTimeout,
        }, StewardTestBed.NodeName, bed.SenderConfig.Steward, bed.SenderKey, DateTimeOffset.UtcNow);

    [Fact]
    public async Task A_message_sent_with_its_records_revision_runs_and_keeps_every_field_of_its_senders_record()
    {
        await using var bed = new StewardTestBed(nats.Server.Url);
        var client = await StewardClient.OpenAsync(bed.SenderConfig, null, default);
        var store = await bed.StoreAsync();
        await bed.StartAgentAsync();
        var o = Touch(bed, Path.Combine(bed.WorkDirectory, "ran"), TimeSpan.FromSeconds(90));
        await using var seen = await store.Connection.SubscribeCoreAsync<byte[]>(store.Subjects.Command(StewardTestBed.NodeName));
        // Every write of the record, as it is published (the bucket keeps only the last).
        await using var writes = await store.Connection.SubscribeCoreAsync<byte[]>(store.RecordSubject(o.Record.MessageId));
        await client.SendOneAsync(o, bed.SenderKey, default);

        // The command carries its Queued record's revision, signed by its sender.
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var sent = await seen.Msgs.ReadAsync(limit.Token);
        var queued = await store.GetAsync(o.Record.MessageId, default);
        Assert.True(StewardQueuedHint.TryOpen(sent.Headers?[StewardQueuedHint.Header], Envelope<StewardCommand>.Open(StewardCodec.Instance, o.Wire).Message!, out var revision, out var replyTimeout));
        Assert.Equal(TimeSpan.FromSeconds(90), replyTimeout);

        var final = await bed.AwaitAsync(o.Record.MessageId);
        Assert.True(final.Status == StewardStatus.Succeeded, $"{final.Status} {final.Error}");
        Assert.True(File.Exists(Path.Combine(bed.WorkDirectory, "ran")));
        Assert.Equal(1, final.Attempts);
        Assert.Equal(o.Record.Created, final.Created);
        Assert.Equal(o.Record.Expires, final.Expires);
        Assert.Equal(TimeSpan.FromSeconds(90), final.ReplyMethodTimeout);
        Assert.Equal(StewardMethod.ToConsole, final.ReplyMethod);
        // The Delivered record the node wrote is its sender's record, moved: every field kept but status, attempts, time.
        StewardRecord? delivered = null;
        while (delivered is null)
        {
            var write = await writes.Msgs.ReadAsync(limit.Token);
            if (store.Open(write.Data, 0, o.Record.MessageId) is { Valid: true, Record: { Status: StewardStatus.Delivered } r }) delivered = r;
        }
        Assert.Equal(JsonSerializer.Serialize(o.Record with { Status = StewardStatus.Delivered, Attempts = 1, Updated = delivered.Updated }), JsonSerializer.Serialize(delivered));
        // The revision it named was the Queued record's (read before the node moved it, or, when the node was quicker, older than what is there now).
        Assert.True(queued is { Record.Status: StewardStatus.Queued } q ? q.Revision == revision : revision < queued!.Value.Revision);
    }

    [Fact]
    public async Task A_cancelled_message_never_runs_when_its_hint_is_replayed_or_altered_to_name_the_cancelled_revision()
    {
        await using var bed = new StewardTestBed(nats.Server.Url);
        var client = await StewardClient.OpenAsync(bed.SenderConfig, null, default);
        var store = await bed.StoreAsync();
        string Marker(string name) => Path.Combine(bed.WorkDirectory, name);

        // Sent as usual, then cancelled before any agent runs: its genuine hint names a revision that is gone.
        var replayed = Touch(bed, Marker("replayed"));
        await client.SendOneAsync(replayed, bed.SenderKey, default);
        await client.CancelAsync(replayed.Record.MessageId, default);

        // Queued, cancelled, then published with its hint altered to name the Cancelled record's revision (the
        // signature kept): a compare-and-set on that revision would succeed, so only the signature stands in the way.
        var altered = Touch(bed, Marker("altered"));
        var queuedAt = await store.TryCreateAsync(altered.Record, bed.SenderKey, default);
        var genuine = StewardQueuedHint.Encode(bed.SenderKey, altered.Record.MessageId, queuedAt!.Value, null);
        await client.CancelAsync(altered.Record.MessageId, default);
        var cancelledAt = (await store.GetAsync(altered.Record.MessageId, default))!.Value.Revision;
        await store.PublishCommandAsync(altered.Command, altered.Wire, default, cancelledAt + genuine[genuine.IndexOf(' ')..]);

        // Still queued, its hint altered the same way: the record is read instead, and it runs.
        var control = Touch(bed, Marker("control"));
        var controlAt = await store.TryCreateAsync(control.Record, bed.SenderKey, default);
        var controlHint = StewardQueuedHint.Encode(bed.SenderKey, control.Record.MessageId, controlAt!.Value, null);
        await store.PublishCommandAsync(control.Command, control.Wire, default, controlAt.Value + 7 + controlHint[controlHint.IndexOf(' ')..]);

        await bed.StartAgentAsync();
        var ran = await bed.AwaitAsync(control.Record.MessageId);
        Assert.True(ran.Status == StewardStatus.Succeeded, $"{ran.Status} {ran.Error}\n{bed.LogText}");
        Assert.True(File.Exists(Marker("control")));
        foreach (var id in new[] { replayed.Record.MessageId, altered.Record.MessageId })
        {
            await TestWait.UntilAsync(() => bed.LogText.Contains($"{id} CliCommand: already Cancelled; not run.", StringComparison.Ordinal));
            Assert.Equal(StewardStatus.Cancelled, (await store.GetAsync(id, default))!.Value.Record!.Status);
        }
        Assert.False(File.Exists(Marker("replayed")));
        Assert.False(File.Exists(Marker("altered")));
    }
}
