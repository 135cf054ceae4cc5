using FsCheck;
using FsCheck.Fluent;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using RemoteOps.Core.Tests.Remaphore;
using RemoteOps.Identity;
using RemoteOps.Steward;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>Get-StewardError's core: central publishes each record it logs on &lt;stream&gt;.errors, signed; any client
/// reads them back (by node, since a time, following new ones), and records not signed by central are dropped.</summary>
public class StewardErrorLogTests(NatsFixture nats) : IClassFixture<NatsFixture>
{
    private StewardTestBed CentralIsTheNode() => new(nats.Server.Url, s => s with { Central = StewardTestBed.NodeName });

    [Fact]
    public async Task Central_publishes_what_it_logs_and_a_client_reads_it_back_filtered_and_followed()
    {
        await using var bed = CentralIsTheNode();
        await bed.StartAgentAsync();
        var store = await bed.StoreAsync();
        // A denied message on central itself (the guest may not run commands), and a report from the sender.
        var denied = await bed.AwaitAsync(await bed.SendAsync(bed.Command(StewardMethod.CliCommand, "true"), bed.GuestKey));
        Assert.Equal(StewardStatus.Denied, denied.Status);
        var report = new StewardErrorReport { Time = DateTimeOffset.UtcNow, Node = "com.test.far", MessageId = "m1", Method = "CliCommand", Kind = "Failed", Message = "exit 3" };
        Assert.Equal(StewardStatus.Succeeded, (await bed.AwaitAsync(await bed.SendAsync(StewardMethod.ErrorLog, report.ToJson()))).Status);

        var all = await ReadUntilAsync(store, null, null, 2);
        var own = Assert.Single(all, e => e.MessageId == denied.MessageId);
        Assert.Equal(StewardTestBed.NodeName, own.Node);
        Assert.Equal("Denied", own.Kind);
        var far = Assert.Single(all, e => e.MessageId == "m1");
        Assert.Equal(("com.test.far", "CliCommand", "Failed", "exit 3"), (far.Node, far.Method, far.Kind, far.Message));
        Assert.StartsWith(StewardTestBed.SenderName + " (", far.From);

        Assert.Equal(["m1"], (await ListAsync(store, "com.test.far", null)).Select(e => e.MessageId));
        Assert.Equal(["m1"], (await ListAsync(store, "com.test.f*", null)).Select(e => e.MessageId));
        Assert.Empty(await ListAsync(store, null, DateTimeOffset.UtcNow.AddMinutes(1)));

        // -Follow: a record logged after the read began arrives.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var seen = new List<StewardError>();
        var follower = Task.Run(async () =>
        {
            await foreach (var e in StewardErrorLog.ReadAsync(store, null, null, true, null, cts.Token))
            {
                seen.Add(e);
                if (e.MessageId == "m2") return;
            }
        });
        var later = report with { MessageId = "m2", Time = DateTimeOffset.UtcNow };
        await bed.AwaitAsync(await bed.SendAsync(StewardMethod.ErrorLog, later.ToJson()));
        await follower;
        Assert.Equal(3, seen.Count);
        Assert.Equal("m2", seen[^1].MessageId);
    }

    [Fact]
    public async Task Records_not_signed_by_central_are_dropped_and_an_empty_log_ends_at_once()
    {
        await using var bed = CentralIsTheNode();
        var store = await bed.StoreAsync();
        Assert.Empty(await ListAsync(store, null, null));
        var report = new StewardErrorReport { Time = DateTimeOffset.UtcNow, Node = "com.test.far", Kind = "Failed", Message = "forged" };
        // The guest (a known peer, not central) and a stranger publish records claiming to be central's.
        await StewardErrorLog.PublishAsync(store, bed.GuestKey, StewardTestBed.NodeName, report, "x", default);
        await StewardErrorLog.PublishAsync(store, bed.StrangerKey, StewardTestBed.NodeName, report, "x", default);
        // Garbage, and a record of another domain signed by central's key.
        await store.JetStream.PublishAsync(store.Subjects.Errors, "not signed"u8.ToArray());
        await store.JetStream.PublishAsync(store.Subjects.Errors, SignedJson.Encode(report, bed.NodeKey, StewardNodeRecord.Domain));
        var dropped = new List<string>();
        var read = new List<StewardError>();
        await foreach (var e in StewardErrorLog.ReadAsync(store, null, null, false, dropped.Add, default)) read.Add(e);
        Assert.Empty(read);
        Assert.Equal(4, dropped.Count);
        // Central's own key: kept.
        await StewardErrorLog.PublishAsync(store, bed.NodeKey, StewardTestBed.NodeName, report, "x", default);
        Assert.Equal("forged", Assert.Single(await ListAsync(store, null, null)).Message);
    }

    [Fact]
    public async Task Without_central_or_with_a_bad_node_the_read_throws_the_documented_exceptions()
    {
        await using var bed = new StewardTestBed(nats.Server.Url);
        var store = await bed.StoreAsync();
        await Assert.ThrowsAsync<StewardArgumentException>(() => ListAsync(store, null, null));
        await using var central = CentralIsTheNode();
        var withCentral = await central.StoreAsync();
        await Assert.ThrowsAsync<StewardArgumentException>(() => ListAsync(withCentral, "com.a.>", null));
        await Assert.ThrowsAsync<RemoteOps.Messaging.DestinationPatternException>(() => ListAsync(withCentral, "com.**.a", null));
    }

    [Fact]
    public async Task A_stream_created_before_the_error_log_gets_its_subject_when_opened()
    {
        await using var bed = CentralIsTheNode();
        var connection = await RemoteOps.Messaging.ConnectionPool.GetAsync(bed.SenderConfig);
        var js = new NatsJSContext(connection);
        var subjects = StewardSubjects.For(bed.SenderConfig.Steward);
        await js.CreateStreamAsync(new StreamConfig(subjects.Stream, [subjects.AllCommands, subjects.AllOutput]));
        var store = await bed.StoreAsync();
        var stream = await js.GetStreamAsync(subjects.Stream);
        Assert.Contains(subjects.Errors, stream.Info.Config.Subjects!);
        await StewardErrorLog.PublishAsync(store, bed.NodeKey, StewardTestBed.NodeName,
            new StewardErrorReport { Time = DateTimeOffset.UtcNow, Node = "com.test.far", Kind = "Failed" }, "x", default);
        Assert.Single(await ListAsync(store, null, null));
    }

    [Fact]
    public void Since_parses_durations_and_times_and_anything_else_is_a_StewardArgumentException()
    {
        var now = new DateTimeOffset(2026, 1, 31, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal(now.AddHours(-1), StewardErrorLog.ParseSince("1h", now));
        Assert.Equal(now.AddSeconds(-90), StewardErrorLog.ParseSince("90", now));
        Assert.Equal(now.AddMinutes(-30), StewardErrorLog.ToSince(TimeSpan.FromMinutes(30), now));
        Assert.Equal(new DateTimeOffset(2026, 1, 30, 8, 0, 0, TimeSpan.Zero), StewardErrorLog.ParseSince("2026-01-30T08:00:00Z", now));
        Assert.Equal(new DateTimeOffset(2026, 1, 30, 8, 0, 0, TimeSpan.Zero), StewardErrorLog.ParseSince("2026-01-30 08:00", now));
        Assert.Equal(DateTimeOffset.MinValue, StewardErrorLog.ToSince(TimeSpan.MaxValue, now));
        Assert.Throws<StewardArgumentException>(() => StewardErrorLog.ParseSince("yesterday-ish", now));
        Assert.Throws<StewardArgumentException>(() => StewardErrorLog.ToSince(TimeSpan.FromHours(-1), now));
        Prop.ForAll(ArbMap.Default.ArbFor<string>(), text =>
        {
            try { StewardErrorLog.ParseSince(text, now); return true; }
            catch (StewardArgumentException) { return true; }
        }).Check(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(500));
        Prop.ForAll(ArbMap.Default.ArbFor<TimeSpan>(), back =>
        {
            try { return StewardErrorLog.ToSince(back, now) <= now; }
            catch (StewardArgumentException) { return back < TimeSpan.Zero; }
        }).Check(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    private static async Task<List<StewardError>> ListAsync(StewardStore store, string? node, DateTimeOffset? since)
    {
        var list = new List<StewardError>();
        await foreach (var e in StewardErrorLog.ReadAsync(store, node, since, false, null, default)) list.Add(e);
        return list;
    }

    /// <summary>Reads until at least <paramref name="count"/> records are there (central publishes as it logs).</summary>
    private static async Task<List<StewardError>> ReadUntilAsync(StewardStore store, string? node, DateTimeOffset? since, int count)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var list = new List<StewardError>();
        await foreach (var e in StewardErrorLog.ReadAsync(store, node, since, true, null, cts.Token))
        {
            list.Add(e);
            if (list.Count >= count) break;
        }
        return list;
    }
}
