using RemoteOps.Core.Tests.Remaphore;
using RemoteOps.Steward;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>-NoWait messages: the reply method runs on the node agent of the sender's destination, once, and only for
/// messages that node sent.</summary>
public class StewardReplyAgentTests(NatsFixture nats) : IClassFixture<NatsFixture>
{
    [Fact]
    public async Task The_senders_agent_runs_the_reply_method_of_a_NoWait_message_once()
    {
        await using var bed = new StewardTestBed(nats.Server.Url);
        await bed.StartAgentAsync();
        // The sender's own node agent (its config names it com.test.ops, with the sender's identity).
        var senderAgent = await bed.StartAgentAsync(bed.SenderConfig);
        var client = await StewardClient.OpenAsync(bed.SenderConfig, null, default);

        var file = Path.Combine(bed.WorkDirectory, "ping.out");
        var request = new StewardRequest
        {
            Method = StewardMethod.Ping, ReplyMethod = StewardMethod.ToFile, Directory = bed.WorkDirectory, FileName = "ping.out",
            ReplyByAgent = true,
        };
        var sent = await client.SendAsync(request, [StewardTestBed.NodeName], 4, null, default);
        var record = await bed.AwaitAsync(Assert.Single(sent).MessageId);
        Assert.True(record.ReplyByAgent);
        await Until(() => File.Exists(file) && File.ReadAllText(file) == "pong");

        // An append reply shows it ran once: a second notice of the same id changes nothing.
        var appendFile = Path.Combine(bed.WorkDirectory, "append.out");
        var append = request with { ReplyMethod = StewardMethod.ToFileAppend, FileName = "append.out" };
        var second = Assert.Single(await client.SendAsync(append, [StewardTestBed.NodeName], 4, null, default));
        await bed.AwaitAsync(second.MessageId);
        await Until(() => File.Exists(appendFile) && File.ReadAllText(appendFile) == "pong\n");
        var store = await bed.StoreAsync();
        await store.Connection.PublishAsync(store.Subjects.ReplyNotice(StewardTestBed.SenderName), System.Text.Encoding.ASCII.GetBytes(second.MessageId));
        // A message the sender's agent handles after the repeated notice proves the notice was read first.
        var third = Assert.Single(await client.SendAsync(request with { FileName = "third.out" }, [StewardTestBed.NodeName], 4, null, default));
        await bed.AwaitAsync(third.MessageId);
        await Until(() => File.Exists(Path.Combine(bed.WorkDirectory, "third.out")));
        Assert.Equal("pong\n", File.ReadAllText(appendFile));
        Assert.Contains(bed.Log.ToArray(), e => e.Text.Contains("Reply method ToFileAppend of " + second.MessageId));
        _ = senderAgent;
    }

    [Fact]
    public async Task A_message_sent_with_a_wait_is_not_replied_to_by_the_agent()
    {
        await using var bed = new StewardTestBed(nats.Server.Url);
        await bed.StartAgentAsync();
        await bed.StartAgentAsync(bed.SenderConfig);
        var client = await StewardClient.OpenAsync(bed.SenderConfig, null, default);
        var file = Path.Combine(bed.WorkDirectory, "waited.out");
        // Without ReplyByAgent (a waiting session runs the reply method itself), the agent leaves it alone.
        var request = new StewardRequest { Method = StewardMethod.Ping, ReplyMethod = StewardMethod.ToFile, Directory = bed.WorkDirectory, FileName = "waited.out" };
        var sent = Assert.Single(await client.SendAsync(request, [StewardTestBed.NodeName], 4, null, default));
        Assert.False((await bed.AwaitAsync(sent.MessageId)).ReplyByAgent);
        // A -NoWait message sent after it is handled; the earlier one, by then, would have been too.
        var marker = Assert.Single(await client.SendAsync(request with { FileName = "marker.out", ReplyByAgent = true }, [StewardTestBed.NodeName], 4, null, default));
        await bed.AwaitAsync(marker.MessageId);
        await Until(() => File.Exists(Path.Combine(bed.WorkDirectory, "marker.out")));
        Assert.False(File.Exists(file));
    }

    [Fact]
    public async Task A_streamed_reply_whose_last_chunk_the_final_record_carries_is_written_whole()
    {
        await using var bed = new StewardTestBed(nats.Server.Url);
        await bed.StartAgentAsync(bed.SenderConfig);
        var client = await StewardClient.OpenAsync(bed.SenderConfig, null, default);
        // The node is played by hand: chunk 1 is in the stream, chunk 2 only in the final record.
        var connection = new NATS.Client.Core.NatsConnection(new NATS.Client.Core.NatsOpts { Url = nats.Server.Url });
        await using var node = new StewardTestNode(await StewardStore.OpenAsync(connection, bed.NodeConfig, default), bed.NodeKey, StewardTestBed.NodeName, connection);
        var request = new StewardRequest
        {
            Method = StewardMethod.CliCommandCont, MethodArgs = ["x"], ReplyMethod = StewardMethod.ToFile, Directory = bed.WorkDirectory, FileName = "streamed.out",
            ReplyByAgent = true,
        };
        var id = Assert.Single(await client.SendAsync(request, [StewardTestBed.NodeName], 4, null, default)).MessageId;
        await node.DeliverAsync(id);
        await node.ChunkAsync(id, 1, "line 1");
        var carried = new StewardChunk { MessageId = id, Node = StewardTestBed.NodeName, Sequence = 2, Line = "line 2", Time = DateTimeOffset.UtcNow };
        Assert.NotNull(await node.MoveAsync(id, r => r with { Status = StewardStatus.Succeeded, ExitCode = 0, Finished = DateTimeOffset.UtcNow, Chunks = 2, LastChunk = carried }));
        var store = await bed.StoreAsync();
        await store.Connection.PublishAsync(store.Subjects.ReplyNotice(StewardTestBed.SenderName), System.Text.Encoding.ASCII.GetBytes(id));
        var file = Path.Combine(bed.WorkDirectory, "streamed.out");
        await Until(() => File.Exists(file) && File.ReadAllText(file).Contains("line 2", StringComparison.Ordinal));
        Assert.Equal("line 1\nline 2\n", File.ReadAllText(file));
    }

    private static async Task Until(Func<bool> condition, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met");
            await Task.Delay(20);
        }
    }
}
