using System.Text;
using RemoteOps.Config;
using RemoteOps.Core.Tests.Remaphore;
using RemoteOps.Identity;
using RemoteOps.Messaging;
using RemoteOps.Steward;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>The sender side against a real nats-server with JetStream; a test node plays the agent's part in the store.</summary>
public class StewardClientTests(NatsFixture nats) : IClassFixture<NatsFixture>
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private readonly StewardFleet _fleet = new(nats);

    private static StewardRequest Request(StewardMethod method, params string[] args) => new() { ToNode = "x", Method = method, MethodArgs = args };

    private static async Task<List<StewardWaitEvent>> All(IAsyncEnumerable<StewardWaitEvent> events)
    {
        using var limit = new CancellationTokenSource(Limit);
        var list = new List<StewardWaitEvent>();
        await foreach (var e in events.WithCancellation(limit.Token)) list.Add(e);
        return list;
    }

    [Fact]
    public async Task A_sent_message_is_queued_signed_by_the_sender_and_its_command_is_on_the_nodes_subject()
    {
        await using var node = await _fleet.NodeAsync("com.acme.web1");
        var client = await StewardClient.OpenAsync(_fleet.SenderConfig(TimeSpan.FromSeconds(2), retries: 2), null, default);
        var before = DateTimeOffset.UtcNow;
        var sent = await client.SendAsync(Request(StewardMethod.CliCommand, "true"), ["com.acme.web1"], 4, null, default);
        var record = Assert.Single(sent);
        Assert.Equal(StewardStatus.Queued, record.Status);
        Assert.Equal(TimeSpan.FromSeconds(6), record.Expires - record.Created); // 2s × (2 + 1)
        Assert.True(record.Created >= before);
        // The node's store (another connection) reads the record as the sender's, and the command verifies.
        var stored = await node.Store.GetAsync(record.MessageId, default);
        Assert.True(stored!.Value.Valid, stored.Value.Problem);
        Assert.Equal(_fleet.CentralKey.PublicBase58, stored.Value.Signer);
        var js = node.Store.JetStream;
        var msg = await js.GetStreamAsync(node.Store.Subjects.Stream);
        var last = await msg.GetAsync(new NATS.Client.JetStream.Models.StreamMsgGetRequest { LastBySubj = node.Store.Subjects.Command("com.acme.web1") });
        var envelope = Envelope<StewardCommand>.Open(StewardCodec.Instance, last.Message.Data.ToArray());
        Assert.True(envelope.SignatureValid, envelope.Error);
        Assert.Equal(record.MessageId, envelope.Message!.MessageId);
        Assert.Equal(["true"], envelope.Message.Args);
    }

    [Fact]
    public async Task Waiting_yields_each_nodes_reply_when_final_and_another_session_reads_the_same_status()
    {
        await using var web1 = await _fleet.NodeAsync("com.acme.web1");
        await using var web2 = await _fleet.NodeAsync("com.acme.web2");
        var config = _fleet.SenderConfig();
        var client = await StewardClient.OpenAsync(config, null, default);
        var sent = await client.SendAsync(Request(StewardMethod.CliCommand, "hostname"), ["com.acme.web1", "com.acme.web2"], 4, null, default);
        var wait = All(client.WaitAsync(sent, null, true, null, default));
        await web1.DeliverAsync(sent[0].MessageId);
        await web1.FinishAsync(sent[0].MessageId, StewardStatus.Succeeded, "web1\n");
        await web2.DeliverAsync(sent[1].MessageId);
        await web2.FinishAsync(sent[1].MessageId, StewardStatus.Failed, "", 3, "boom");
        var replies = (await wait).Select(e => e.Reply!).ToDictionary(r => r.Node);
        Assert.Equal(StewardStatus.Succeeded, replies["com.acme.web1"].Status);
        Assert.Equal("web1\n", replies["com.acme.web1"].Output);
        Assert.Equal(1, replies["com.acme.web1"].Attempts);
        Assert.Equal(StewardStatus.Failed, replies["com.acme.web2"].Status);
        Assert.Equal(3, replies["com.acme.web2"].ExitCode);
        Assert.Equal("boom", replies["com.acme.web2"].Error);

        // Another session: its own connection, the same config.
        await using var other = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts { Url = nats.Server.Url });
        var reader = new StewardClient(config, await StewardStore.OpenAsync(other, config, default));
        var messages = new List<StewardMessage>();
        await foreach (var m in reader.GetMessagesAsync(null, "com.acme.*", null, null, default)) messages.Add(m);
        Assert.Equal(2, messages.Count);
        Assert.Equal(StewardStatus.Succeeded, messages.Single(m => m.Node == "com.acme.web1").Status);
        Assert.Equal(StewardFleet.Central, messages[0].SenderName);
        var failed = new List<StewardMessage>();
        await foreach (var m in reader.GetMessagesAsync(null, null, [StewardStatus.Failed], null, default)) failed.Add(m);
        Assert.Equal("com.acme.web2", Assert.Single(failed).Node);
    }

    [Fact]
    public async Task A_pattern_expands_to_the_live_matching_nodes_of_the_registry_and_a_name_is_sent_as_it_is()
    {
        await using var web1 = await _fleet.NodeAsync("com.acme.web1");
        await using var deep = await _fleet.NodeAsync("com.acme.eu.db1");
        await using var gone = await _fleet.NodeAsync("com.acme.old");
        await using var other = await _fleet.NodeAsync("org.other.x");
        var now = DateTimeOffset.UtcNow;
        await web1.RegisterAsync(now);
        await deep.RegisterAsync(now);
        await gone.RegisterAsync(now - TimeSpan.FromMinutes(10)); // three intervals (30s) ago: offline
        await other.RegisterAsync(now);
        // A record claiming a name but signed by another key is not in the registry.
        await web1.RegisterAsync("com.acme.impostor", SigningKey.Generate(), now);
        var client = await StewardClient.OpenAsync(_fleet.SenderConfig(), null, default);

        var one = await client.ResolveTargetsAsync(["com.acme.*"], default);
        Assert.Equal(["com.acme.web1"], one.Nodes);
        var all = await client.ResolveTargetsAsync(["com.acme.**", "com.acme.offline"], default);
        Assert.Equal(["com.acme.eu.db1", "com.acme.web1", "com.acme.offline"], all.Nodes);
        Assert.Equal("com.acme.**", Assert.Single(all.Expansions).Key);
        await Assert.ThrowsAsync<DestinationPatternException>(() => client.ResolveTargetsAsync(["com.**.x"], default));
        await Assert.ThrowsAsync<StewardArgumentException>(() => client.ResolveTargetsAsync(["com..x"], default));
    }

    [Fact]
    public async Task A_message_nobody_takes_within_its_window_becomes_NoAck_signed_by_its_sender()
    {
        _fleet.NodeKey("com.acme.down");
        var client = await StewardClient.OpenAsync(_fleet.SenderConfig(TimeSpan.FromMilliseconds(300), retries: 1), null, default);
        var sent = await client.SendAsync(Request(StewardMethod.Ping), ["com.acme.down"], 1, null, default);
        var reply = Assert.Single(await All(client.WaitAsync(sent, null, true, null, default))).Reply!;
        Assert.Equal(StewardStatus.NoAck, reply.Status);
        Assert.Contains("delivery window", reply.Error);
        await using var node = await _fleet.NodeAsync("com.acme.down");
        var stored = (await node.Store.GetAsync(sent[0].MessageId, default))!.Value;
        Assert.True(stored.Valid, stored.Problem);
        Assert.Equal(StewardStatus.NoAck, stored.Record!.Status);
        // The node comes back too late: it cannot take the message any more.
        Assert.Null(await node.MoveAsync(sent[0].MessageId, r => r with { Status = StewardStatus.Delivered }));
    }

    [Fact]
    public async Task A_node_that_took_the_message_before_the_window_passed_wins_over_the_waiters_NoAck()
    {
        await using var node = await _fleet.NodeAsync("com.acme.slow");
        var client = await StewardClient.OpenAsync(_fleet.SenderConfig(TimeSpan.FromMilliseconds(300), retries: 0), null, default);
        var sent = await client.SendAsync(Request(StewardMethod.Ping), ["com.acme.slow"], 1, null, default);
        await node.DeliverAsync(sent[0].MessageId);
        // The waiter starts from the stale Queued record, whose window passes while the node runs it.
        var wait = All(client.WaitAsync(sent, null, true, null, default));
        // Past the window: the waiter must read the record, not assume NoAck.
        await TestWait.UntilAsync(() => DateTimeOffset.UtcNow > sent[0].Expires + TimeSpan.FromMilliseconds(100));
        await node.FinishAsync(sent[0].MessageId, StewardStatus.Succeeded, "pong");
        var reply = Assert.Single(await wait).Reply!;
        Assert.Equal(StewardStatus.Succeeded, reply.Status);
        Assert.Equal("pong", reply.Output);
    }

    [Fact]
    public async Task A_forged_reply_record_is_dropped_and_counted_and_the_nodes_real_reply_is_given()
    {
        await using var node = await _fleet.NodeAsync("com.acme.web1");
        var log = new List<string>();
        var client = await StewardClient.OpenAsync(_fleet.SenderConfig(), s => { lock (log) log.Add(s); }, default);
        var sent = await client.SendAsync(Request(StewardMethod.CliCommand, "id"), ["com.acme.web1"], 1, null, default);
        var wait = All(client.WaitAsync(sent, null, true, null, default));
        // A forger writes a final record under the id, signed by a key that is not the node's.
        var forger = SigningKey.Generate();
        var forged = sent[0] with { Status = StewardStatus.Succeeded, Output = "forged", Finished = DateTimeOffset.UtcNow };
        await node.Store.Results.PutAsync(sent[0].MessageId, SignedJson.Encode(forged, forger, StewardRecord.Domain));
        await TestWait.UntilAsync(() => client.Refused > 0);
        // The node's genuine record is still taken (its revision is the forger's; a node would CAS on what it read).
        var current = (await node.Store.Results.GetEntryAsync<byte[]>(sent[0].MessageId)).Revision;
        var real = sent[0] with { Status = StewardStatus.Succeeded, Output = "real", Finished = DateTimeOffset.UtcNow, Attempts = 1 };
        await node.Store.Results.UpdateAsync(sent[0].MessageId, SignedJson.Encode(real, node.Key, StewardRecord.Domain), current);
        var reply = Assert.Single(await wait).Reply!;
        Assert.Equal("real", reply.Output);
        Assert.Contains(log, l => l.Contains("a node's status not signed by node", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cancel_moves_a_queued_message_to_Cancelled_and_refuses_one_already_delivered()
    {
        await using var node = await _fleet.NodeAsync("com.acme.web1");
        var client = await StewardClient.OpenAsync(_fleet.SenderConfig(), null, default);
        var sent = await client.SendAsync(Request(StewardMethod.Ping), ["com.acme.web1", "com.acme.web1x"], 2, null, default);
        var cancelled = await client.CancelAsync(sent[0].MessageId, default);
        Assert.Equal(StewardStatus.Cancelled, cancelled.Status);
        // The node, arriving later, cannot take it; cancelling again is no error.
        Assert.Null(await node.MoveAsync(sent[0].MessageId, r => r with { Status = StewardStatus.Delivered }));
        Assert.Equal(StewardStatus.Cancelled, (await client.CancelAsync(sent[0].MessageId, default)).Status);
        // A waiter reports it as it is.
        Assert.Equal(StewardStatus.Cancelled, Assert.Single(await All(client.WaitAsync([sent[0]], null, true, null, default))).Reply!.Status);

        var second = (await client.SendAsync(Request(StewardMethod.Ping), ["com.acme.web1"], 1, null, default))[0];
        await node.DeliverAsync(second.MessageId);
        var e = await Assert.ThrowsAsync<StewardNotCancellableException>(() => client.CancelAsync(second.MessageId, default));
        Assert.Contains("already delivered", e.Message);
        await Assert.ThrowsAsync<StewardMessageNotFoundException>(() => client.CancelAsync("nope", default));
    }

    [Fact]
    public async Task A_message_sent_by_another_identity_is_not_cancelled_here()
    {
        var client = await StewardClient.OpenAsync(_fleet.SenderConfig(), null, default);
        var sent = await client.SendAsync(Request(StewardMethod.Ping), ["com.acme.web1"], 1, null, default);
        var stranger = SigningKey.Generate();
        var config = _fleet.SenderConfig() with
        {
            Identities = [new IdentityConfig { Public = stranger.PublicBase58, Private = stranger.ExportSeedBase58(), Verbs = ["*"] }],
            DefaultIdentity = stranger.PublicBase58,
            Peers = [new PeerConfig { Destination = StewardFleet.Central, Public = _fleet.CentralKey.PublicBase58 }],
        };
        var other = await StewardClient.OpenAsync(config, null, default);
        await Assert.ThrowsAsync<IdentityException>(() => other.CancelAsync(sent[0].MessageId, default));
        Assert.Equal(StewardStatus.Queued, (await client.GetAsync(sent[0].MessageId, default))!.Value.Record!.Status);
    }

    [Fact]
    public async Task Streamed_output_arrives_in_order_and_a_later_reader_continues_after_its_last_chunk_without_gaps_or_repeats()
    {
        await using var node = await _fleet.NodeAsync("com.acme.web1");
        var client = await StewardClient.OpenAsync(_fleet.SenderConfig(), null, default);
        var sent = await client.SendAsync(Request(StewardMethod.TailFile, "/var/log/x"), ["com.acme.web1"], 1, null, default);
        var id = sent[0].MessageId;
        await node.DeliverAsync(id);
        var wait = All(client.WaitAsync(sent, null, true, null, default));
        for (int i = 1; i <= 5; i++) await node.ChunkAsync(id, i, $"line {i}");
        await node.ChunkAsync(id, 3, "line 3 again"); // a re-published chunk
        await node.FinishAsync(id, StewardStatus.Succeeded, chunks: 8);
        // The final record came before the last chunks: the reply waits for them.
        for (int i = 6; i <= 8; i++) await node.ChunkAsync(id, i, $"line {i}");
        var events = await wait;
        Assert.Equal(Enumerable.Range(1, 8).Select(i => $"line {i}"), events.Where(e => e.Output is not null).Select(e => e.Output!.Line));
        Assert.Equal(StewardStatus.Succeeded, events[^1].Reply!.Status);

        // A reader that saw up to chunk 5 continues with 6.
        var later = await All(client.WaitAsync(sent, new Dictionary<string, long> { [id] = 5 }, true, null, default));
        Assert.Equal([6L, 7L, 8L], later.Where(e => e.Output is not null).Select(e => e.Output!.Sequence));
        Assert.NotNull(later[^1].Reply);
    }

    [Fact]
    public async Task A_last_chunk_carried_by_the_final_record_completes_the_output_for_every_reader_and_a_mismatched_one_is_ignored()
    {
        await using var node = await _fleet.NodeAsync("com.acme.web1");
        var client = await StewardClient.OpenAsync(_fleet.SenderConfig(), null, default);
        var sent = await client.SendAsync(Request(StewardMethod.CliCommandCont, "x"), ["com.acme.web1", "com.acme.web1"], 2, null, default);
        var (id, other) = (sent[0].MessageId, sent[1].MessageId);
        foreach (var m in sent) await node.DeliverAsync(m.MessageId);
        var wait = All(client.WaitAsync(sent, null, true, null, default));
        await node.ChunkAsync(id, 1, "line 1");
        await node.ChunkAsync(other, 1, "other 1");
        // Chunk 2 was never published: only the final record has it (the node wrote it before the chunk was stored).
        StewardChunk Chunk(string messageId, long sequence, string line) =>
            new() { MessageId = messageId, Node = "com.acme.web1", Sequence = sequence, Line = line, Time = DateTimeOffset.UtcNow };
        Assert.NotNull(await node.MoveAsync(id, r => r with
        {
            Status = StewardStatus.Succeeded, ExitCode = 0, Finished = DateTimeOffset.UtcNow, Chunks = 2, LastChunk = Chunk(id, 2, "line 2"),
        }));
        // One that is not the record's own last chunk (another number) is not taken.
        Assert.NotNull(await node.MoveAsync(other, r => r with
        {
            Status = StewardStatus.Succeeded, ExitCode = 0, Finished = DateTimeOffset.UtcNow, Chunks = 2, LastChunk = Chunk(other, 3, "other 3"),
        }));
        var events = await wait;
        string[] Lines(IEnumerable<StewardWaitEvent> es, string messageId) =>
            es.Where(e => e.Output?.MessageId == messageId).Select(e => e.Output!.Line).ToArray();
        Assert.Equal(["line 1", "line 2"], Lines(events, id));
        Assert.Equal(["other 1"], Lines(events, other));
        Assert.Equal(2, events.Count(e => e.Reply is { Status: StewardStatus.Succeeded }));

        // Later readers: from the start (chunk 1 from the stream, 2 from the record), and after chunk 1.
        Assert.Equal(["line 1", "line 2"], Lines(await All(client.WaitAsync([sent[0]], null, true, null, default)), id));
        Assert.Equal(["line 2"], Lines(await All(client.WaitAsync([sent[0]], new Dictionary<string, long> { [id] = 1 }, true, null, default)), id));
    }

    [Fact]
    public async Task Output_published_before_the_wait_listened_is_read_from_the_stream_once_past_a_gap_and_forged_live_chunks_are_skipped()
    {
        await using var node = await _fleet.NodeAsync("com.acme.web1");
        var client = await StewardClient.OpenAsync(_fleet.SenderConfig(), null, default);
        var sent = await client.SendAsync(Request(StewardMethod.PwshScript, "1"), ["com.acme.web1"], 1, null, default);
        var id = sent[0].MessageId;
        // Chunk 1 goes out before anyone listens live; the record stays Queued, so only the gap can bring it.
        await node.ChunkAsync(id, 1, "O:first");
        using var limit = new CancellationTokenSource(Limit);
        await using var events = client.WaitAsync(sent, null, true, null, limit.Token).GetAsyncEnumerator(limit.Token);
        var next = events.MoveNextAsync().AsTask();
        // Later chunks, each with a forged copy ahead of it, until the wait yields something: the live copy past the gap
        // makes it read the stream from chunk 1.
        long sequence = 1;
        while (!next.IsCompleted)
        {
            sequence++;
            var forged = new StewardChunk { MessageId = id, Node = "com.acme.web1", Sequence = sequence, Line = "O:forged", Time = DateTimeOffset.UtcNow };
            await node.Store.PublishChunkAsync(forged, SigningKey.Generate(), default);
            await node.ChunkAsync(id, sequence, $"O:chunk {sequence}");
            await Task.WhenAny(next, Task.Delay(100));
        }
        Assert.True(await next);
        Assert.Equal(1, events.Current.Output!.Sequence);
        Assert.Equal("O:first", events.Current.Output.Line);
        for (long i = 2; i <= sequence; i++)
        {
            Assert.True(await events.MoveNextAsync());
            Assert.Equal(i, events.Current.Output!.Sequence);
            Assert.Equal($"O:chunk {i}", events.Current.Output.Line);
        }
        await node.DeliverAsync(id);
        await node.FinishAsync(id, StewardStatus.Succeeded, chunks: sequence);
        Assert.True(await events.MoveNextAsync());
        Assert.Equal(StewardStatus.Succeeded, events.Current.Reply!.Status);
        Assert.False(await events.MoveNextAsync());
    }

    [Fact]
    public async Task A_running_message_whose_output_never_comes_live_is_read_from_the_stream_before_it_ends()
    {
        await using var node = await _fleet.NodeAsync("com.acme.web1");
        var client = await StewardClient.OpenAsync(_fleet.SenderConfig(), null, default);
        var sent = await client.SendAsync(Request(StewardMethod.CliCommandCont, "x"), ["com.acme.web1"], 1, null, default);
        var id = sent[0].MessageId;
        // Published before the wait (as a user the server does not let subscribe would miss them all): the record is
        // Running, so after LiveGrace with nothing live the stream is read, before any final record.
        await node.DeliverAsync(id);
        for (int i = 1; i <= 3; i++) await node.ChunkAsync(id, i, $"line {i}");
        using var limit = new CancellationTokenSource(Limit);
        await using var events = client.WaitAsync(sent, null, true, null, limit.Token).GetAsyncEnumerator(limit.Token);
        for (int i = 1; i <= 3; i++)
        {
            Assert.True(await events.MoveNextAsync());
            Assert.Equal($"line {i}", events.Current.Output!.Line);
        }
        await node.FinishAsync(id, StewardStatus.Succeeded, chunks: 3);
        Assert.True(await events.MoveNextAsync());
        Assert.Equal(StewardStatus.Succeeded, events.Current.Reply!.Status);
    }

    [Fact]
    public async Task A_chunk_not_signed_by_the_node_is_skipped()
    {
        await using var node = await _fleet.NodeAsync("com.acme.web1");
        var client = await StewardClient.OpenAsync(_fleet.SenderConfig(), null, default);
        var sent = await client.SendAsync(Request(StewardMethod.CliCommandCont, "x"), ["com.acme.web1"], 1, null, default);
        var id = sent[0].MessageId;
        await node.DeliverAsync(id);
        var forged = new StewardChunk { MessageId = id, Node = "com.acme.web1", Sequence = 1, Line = "forged", Time = DateTimeOffset.UtcNow };
        await node.Store.PublishChunkAsync(forged, SigningKey.Generate(), default);
        await node.ChunkAsync(id, 1, "real");
        await node.FinishAsync(id, StewardStatus.Succeeded, chunks: 1);
        var events = await All(client.WaitAsync(sent, null, true, null, default));
        Assert.Equal(["real"], events.Where(e => e.Output is not null).Select(e => e.Output!.Line));
    }

    [Fact]
    public async Task Waiting_past_the_timeout_names_the_messages_still_open()
    {
        await using var node = await _fleet.NodeAsync("com.acme.web1");
        var client = await StewardClient.OpenAsync(_fleet.SenderConfig(), null, default);
        var sent = await client.SendAsync(Request(StewardMethod.Ping), ["com.acme.web1"], 1, null, default);
        await node.DeliverAsync(sent[0].MessageId);
        var e = await Assert.ThrowsAsync<TimeoutException>(() => All(client.WaitAsync(sent, null, true, TimeSpan.FromMilliseconds(300), default)));
        Assert.Contains(sent[0].MessageId, e.Message);
        Assert.Contains("Running", e.Message);
    }

    [Fact]
    public async Task Without_JetStream_opening_steward_is_one_clear_unavailable_error()
    {
        await using var server = await NatsServer.StartAsync(jetStream: false);
        var config = _fleet.SenderConfig() with { Servers = [server.Url] };
        var e = await Assert.ThrowsAsync<StewardUnavailableException>(() => StewardClient.OpenAsync(config, null, default));
        Assert.Contains("JetStream", e.Message, StringComparison.OrdinalIgnoreCase);
    }
}

internal static class TestWait
{
    public static async Task UntilAsync(Func<bool> condition)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!condition()) await Task.Delay(20, limit.Token);
    }
}
