using FsCheck;
using FsCheck.Fluent;
using RemoteOps.Core.Tests.Remaphore;
using RemoteOps.Steward;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>Errors go to steward.central: a refusal or failure on a node, a sender's NoAck; central appends them to its
/// errors.jsonl, takes them from any known peer without a methods entry, and nobody else takes them.</summary>
public class StewardErrorReportTests(NatsFixture nats) : IClassFixture<NatsFixture>
{
    private StewardTestBed CentralIsTheSender() =>
        new(nats.Server.Url, s => s with { Central = StewardTestBed.SenderName });

    [Fact]
    public async Task A_denied_message_and_a_failed_command_on_a_node_reach_centrals_error_log()
    {
        await using var bed = CentralIsTheSender();
        await bed.StartAgentAsync();
        var central = await bed.StartAgentAsync(bed.SenderConfig);

        var denied = await bed.AwaitAsync(await bed.SendAsync(bed.Command(StewardMethod.CliCommand, "true"), bed.GuestKey));
        Assert.Equal(StewardStatus.Denied, denied.Status);
        var failed = await bed.AwaitAsync(await bed.SendAsync(StewardMethod.CliCommand, "false"));
        Assert.Equal(StewardStatus.Failed, failed.Status);

        var log = Path.Combine(central.DataDirectory, StewardErrorReport.LogFile);
        var lines = await LinesAsync(log, 2);
        Assert.Contains(lines, l => l.Contains(denied.MessageId) && l.Contains("\"Kind\":\"Denied\"") && l.Contains(StewardTestBed.NodeName));
        Assert.Contains(lines, l => l.Contains(failed.MessageId) && l.Contains("\"Kind\":\"Failed\"") && l.Contains("\"From\":\"com.test.node1"));
    }

    [Fact]
    public async Task A_senders_NoAck_reaches_central_and_a_node_that_is_not_central_refuses_reports()
    {
        await using var bed = CentralIsTheSender();
        var central = await bed.StartAgentAsync(bed.SenderConfig);
        var client = await StewardClient.OpenAsync(bed.SenderConfig, null, default);
        // No agent for the node: the window passes, the waiter moves it to NoAck and reports it.
        var sent = await client.SendAsync(new StewardRequest { Method = StewardMethod.Ping, AckTimeout = TimeSpan.FromMilliseconds(300), Retries = 0 },
            [StewardTestBed.NodeName], 4, null, default);
        StewardReply? reply = null;
        await foreach (var e in client.WaitAsync(sent, null, false, TimeSpan.FromSeconds(30), default)) reply = e.Reply ?? reply;
        Assert.Equal(StewardStatus.NoAck, reply!.Status);
        var lines = await LinesAsync(Path.Combine(central.DataDirectory, StewardErrorReport.LogFile), 1);
        Assert.True(lines.Any(l => l.Contains(reply.MessageId) && l.Contains("\"Kind\":\"NoAck\"")), string.Join("\n", lines));

        // The node (not central) refuses an error report, and reports nothing about it (no loop).
        await bed.StartAgentAsync();
        var report = new StewardErrorReport { Time = DateTimeOffset.UtcNow, Node = StewardTestBed.NodeName, Kind = "Failed", Message = "x" };
        var refused = await bed.AwaitAsync(await bed.SendAsync(StewardMethod.ErrorLog, report.ToJson()));
        Assert.Equal(StewardStatus.Denied, refused.Status);
        Assert.Contains("not steward.central", refused.Error);
    }

    [Fact]
    public async Task Central_fails_a_report_that_is_not_one()
    {
        await using var bed = new StewardTestBed(nats.Server.Url, s => s with { Central = StewardTestBed.NodeName });
        var agent = await bed.StartAgentAsync();
        var bad = await bed.AwaitAsync(await bed.SendAsync(StewardMethod.ErrorLog, "{not json"));
        Assert.Equal(StewardStatus.Failed, bad.Status);
        var good = new StewardErrorReport { Time = DateTimeOffset.UtcNow, Node = "com.test.elsewhere", MessageId = "m9", Method = "Ping", Kind = "Failed", Message = "boom" };
        Assert.Equal(StewardStatus.Succeeded, (await bed.AwaitAsync(await bed.SendAsync(StewardMethod.ErrorLog, good.ToJson()))).Status);
        var lines = await LinesAsync(Path.Combine(agent.DataDirectory, StewardErrorReport.LogFile), 1);
        Assert.Contains(lines, l => l.Contains("\"MessageId\":\"m9\"") && l.Contains("\"From\":\"com.test.ops"));
        Assert.DoesNotContain(lines, l => l.Contains("not json"));
    }

    [Fact]
    public void A_report_round_trips_and_anything_else_parses_to_null_without_throwing()
    {
        var report = new StewardErrorReport { Time = DateTimeOffset.UnixEpoch, Node = "com.a.b", MessageId = "m", Method = "Ping", Kind = "Denied", Message = "why" };
        Assert.Equal(report, StewardErrorReport.TryParse(report.ToJson()));
        Assert.Null(StewardErrorReport.TryParse(report.ToJson().Replace("com.a.b", "com.a.>")));
        Assert.Null(StewardErrorReport.TryParse("""{"Time":"2026-01-01T00:00:00Z","Node":"n","Kind":"K","Extra":1}"""));
        Prop.ForAll(ArbMap.Default.ArbFor<string>(), text =>
        {
            var parsed = StewardErrorReport.TryParse(text);
            return parsed is null || parsed.Node.Length > 0;
        }).Check(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    private static async Task<string[]> LinesAsync(string path, int atLeast, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var lines = File.Exists(path) ? File.ReadAllLines(path) : [];
            if (lines.Length >= atLeast) return lines;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{path}: {lines.Length} line(s), expected {atLeast}");
            await Task.Delay(20);
        }
    }
}
