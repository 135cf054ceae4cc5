using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using RemoteOps.Steward;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>Errors that cannot reach central wait in the node's local store and are sent when NATS is back, also by
/// the next agent; central logs each once.</summary>
public class StewardErrorOutboxTests
{
    private static async Task Until(Func<bool> condition, string what, int seconds = 90)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Not within {seconds}s: {what}");
            await Task.Delay(50);
        }
    }

    private static string[] Lines(string path) => File.Exists(path) ? File.ReadAllLines(path) : [];

    [Fact]
    public async Task Errors_while_NATS_is_down_are_kept_across_an_agent_restart_and_reach_central_once_each()
    {
        await using var server = await NatsServer.StartAsync();
        await using var bed = new StewardTestBed(server.Url, s => s with { Central = StewardTestBed.SenderName });
        var node = await bed.StartAgentAsync();
        var central = await bed.StartAgentAsync(bed.SenderConfig);
        var log = Path.Combine(central.DataDirectory, StewardErrorReport.LogFile);

        // Three commands that fail once the gate file appears, which is after NATS is gone.
        var gate = Path.Combine(bed.WorkDirectory, "gate");
        var ids = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            var c = bed.Command(StewardMethod.CliCommand, "sh", "-c", $"while [ ! -e '{gate}' ]; do sleep 0.05; done; exit {i + 3}") with
            {
                AckTimeout = TimeSpan.FromMinutes(1), MethodTimeout = TimeSpan.FromMinutes(5),
            };
            ids.Add(await bed.SendAsync(c));
        }
        foreach (var id in ids) await bed.AwaitAsync(id, r => r.Status == StewardStatus.Running);

        server.Kill();
        File.WriteAllText(gate, "");
        await Until(() => node.PendingErrorReports == 3, $"3 error reports kept on the node (have {node.PendingErrorReports})\n{bed.LogText}");
        // The agent stops while NATS is away: the reports stay in its store.
        await node.DisposeAsync();
        Assert.Empty(Lines(log));
        string[] kept;
        using (var local = StewardLocalStore.Open(node.DataDirectory))
            kept = local.PendingErrors().Select(p => p.MessageId).ToArray();
        Assert.Equal(3, kept.Length);

        await server.RestartAsync();
        var again = await bed.StartAgentAsync();
        await Until(() => again.PendingErrorReports == 0, $"the kept reports sent ({again.PendingErrorReports} waiting)\n{bed.LogText}");
        await Until(() => ids.All(id => Lines(log).Any(l => l.Contains(id))), $"every error in central's log\n{string.Join('\n', Lines(log))}\n{bed.LogText}");
        foreach (var id in ids) Assert.Equal(StewardStatus.Failed, (await bed.AwaitAsync(id)).Status);

        // A barrier: central has judged everything queued before this Ping, so a duplicate would be in the log by now.
        Assert.Equal(StewardStatus.Succeeded, (await bed.AwaitAsync(await bed.SendAsync(bed.Command(StewardMethod.Ping) with { Node = StewardTestBed.SenderName }, bed.NodeKey))).Status);
        var lines = Lines(log);
        foreach (var id in ids)
            Assert.True(lines.Count(l => l.Contains($"\"MessageId\":\"{id}\"")) == 1, $"{id} once:\n{string.Join('\n', lines)}");
        Assert.Equal(3, lines.Length);
        Assert.All(lines, l => Assert.Contains("\"Kind\":\"Failed\"", l));

        // Sent in the order they were kept: the ErrorLog commands on central's subject, in stream order.
        var store = await bed.StoreAsync();
        var consumer = await store.JetStream.CreateOrderedConsumerAsync(store.Subjects.Stream,
            new NatsJSOrderedConsumerOpts { FilterSubjects = [store.Subjects.Command(StewardTestBed.SenderName)], DeliverPolicy = ConsumerConfigDeliverPolicy.All });
        var sent = new List<string>();
        await foreach (var m in consumer.FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 100 }))
            if (StewardCodec.Instance.TryDecode(m.Data!, out var command, out _) && command.Method == StewardMethod.ErrorLog) sent.Add(command.MessageId);
        Assert.Equal(kept, sent);
    }

    [Fact]
    public async Task A_report_sent_again_under_its_id_is_logged_once_by_central()
    {
        await using var server = await NatsServer.StartAsync();
        await using var bed = new StewardTestBed(server.Url, s => s with { Central = StewardTestBed.SenderName });
        var central = await bed.StartAgentAsync(bed.SenderConfig);
        var store = await bed.StoreAsync();
        var report = new StewardErrorReport { Time = DateTimeOffset.UtcNow, Node = StewardTestBed.NodeName, MessageId = "m1", Method = "Ping", Kind = "Failed", Message = "boom" };
        var id = StewardSubjects.NewMessageId();
        // Twice under one id, past the stream's de-duplication (no Nats-Msg-Id): central's store is what keeps it once.
        for (int i = 0; i < 2; i++)
        {
            var command = new StewardCommand
            {
                MessageId = id, Sender = bed.NodeKey.PublicBase58, Node = StewardTestBed.SenderName, Method = StewardMethod.ErrorLog,
                Args = [report.ToJson()], AckTimeout = TimeSpan.FromMinutes(1), Retries = 1, MethodTimeout = TimeSpan.FromSeconds(10),
                Time = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100,
            };
            var ack = await store.JetStream.PublishAsync(store.Subjects.Command(StewardTestBed.SenderName), StewardCodec.Encode(command, bed.NodeKey));
            ack.EnsureSuccess();
        }
        Assert.Equal(StewardStatus.Succeeded, (await bed.AwaitAsync(id)).Status);
        Assert.Equal(StewardStatus.Succeeded, (await bed.AwaitAsync(await bed.SendAsync(bed.Command(StewardMethod.Ping) with { Node = StewardTestBed.SenderName }, bed.NodeKey))).Status);
        var log = Path.Combine(central.DataDirectory, StewardErrorReport.LogFile);
        await Until(() => Lines(log).Length >= 1, "the report logged");
        Assert.Single(Lines(log));
    }
}
