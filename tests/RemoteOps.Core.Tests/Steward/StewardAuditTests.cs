using System.Security.Cryptography;
using System.Text;
using RemoteOps.Core.Tests.Remaphore;
using RemoteOps.Steward;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>The audit log: a real agent's lines for each verdict (run with its outcome, denied, duplicate, dropped),
/// never an output body; a client's line per message sent; rotation by size with real files.</summary>
public class StewardAuditTests(NatsFixture nats) : IClassFixture<NatsFixture>
{
    private static async Task<IReadOnlyList<StewardAuditRecord>> AwaitLinesAsync(string path, Func<IReadOnlyList<StewardAuditRecord>, bool> done)
    {
        var until = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var lines = StewardAuditLog.Read(path, (f, n, p) => throw new Xunit.Sdk.XunitException($"{f}:{n}: {p}")).ToArray();
            if (done(lines)) return lines;
            if (DateTimeOffset.UtcNow > until) throw new TimeoutException($"{path}: {lines.Length} line(s), not what was awaited:\n{string.Join('\n', lines.Select(l => l.ToString()))}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task An_agent_logs_every_message_with_its_verdict_and_outcome_and_never_an_output_body()
    {
        await using var bed = new StewardTestBed(nats.Server.Url);
        var agent = await bed.StartAgentAsync();
        var path = Path.Combine(agent.DataDirectory, StewardAuditLog.FileName);
        const string secret = "the-output-body-3f9a1c";

        var run = bed.Command(StewardMethod.CliCommand, "sh", "-c", $"echo {secret}; echo {secret}-err >&2; exit 3");
        await bed.SendAsync(run);
        var result = await bed.AwaitAsync(run.MessageId);
        Assert.Equal(StewardStatus.Failed, result.Status);
        var denied = await bed.SendAsync(bed.Command(StewardMethod.CliCommand, "true"), bed.GuestKey);
        Assert.Equal(StewardStatus.Denied, (await bed.AwaitAsync(denied)).Status);
        await bed.PublishRawAsync(StewardCodec.Encode(run, bed.SenderKey)); // a replay: duplicate
        await bed.PublishRawAsync(StewardCodec.Encode(bed.Command(StewardMethod.Ping), bed.StrangerKey)); // dropped

        var lines = await AwaitLinesAsync(path, l => l.Any(r => r.Verdict == "duplicate") && l.Any(r => r.Verdict == "dropped"));
        var ran = Assert.Single(lines, r => r.Verdict == "run");
        Assert.Equal((run.MessageId, "Agent", StewardTestBed.NodeName, "CliCommand", "Failed", 3), (ran.MessageId, ran.Side, ran.Node, ran.Method, ran.Status, ran.ExitCode));
        Assert.Equal(["sh", "-c", $"echo {secret}; echo {secret}-err >&2; exit 3"], ran.MethodArgs);
        Assert.Equal((bed.SenderKey.PublicBase58, StewardTestBed.SenderName), (ran.Sender, ran.SenderName));
        Assert.Equal((run.AckTimeout, run.Retries, run.MethodTimeout), (ran.AckTimeout, ran.Retries, ran.MethodTimeout));
        Assert.Equal(result.Finished - result.Started, ran.Duration);
        Assert.Equal(Encoding.UTF8.GetByteCount(result.Output), ran.OutputBytes);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(result.Output))), ran.OutputSha256);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(result.Error))), ran.ErrorSha256);
        Assert.True(ran.ErrorBytes > 0);

        var refused = Assert.Single(lines, r => r.Verdict == "denied");
        Assert.Equal((denied, "Denied", StewardTestBed.GuestName), (refused.MessageId, refused.Status, refused.SenderName));
        Assert.Contains("not allowed", refused.Reason);
        Assert.Equal(run.MessageId, Assert.Single(lines, r => r.Verdict == "duplicate").MessageId);
        Assert.Equal(bed.StrangerKey.PublicBase58, Assert.Single(lines, r => r.Verdict == "dropped").Sender);

        // The arguments are there (they are what is needed to send it again); the output is not, only its size and hash.
        var text = File.ReadAllText(path);
        Assert.Contains($"echo {secret};", text);
        Assert.DoesNotContain($"{secret}\n", text);
        Assert.DoesNotContain($"{secret}\\n", text);
        Assert.DoesNotContain($"{secret}-err\\n", text);
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Fact]
    public async Task A_client_with_audit_log_on_logs_each_message_it_sends_and_off_by_default_it_logs_none()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("steward-audit-").FullName, "client.jsonl");
        await using var bed = new StewardTestBed(nats.Server.Url, s => s with { AuditLog = true, AuditPath = file });
        await bed.StartAgentAsync(bed.NodeConfig with { Sections = [bed.NodeConfig.Steward with { AuditLog = null, AuditPath = null }] });
        var client = new StewardClient(bed.SenderConfig, await bed.StoreAsync());
        var request = new StewardRequest { Method = StewardMethod.Ping, ToNode = StewardTestBed.NodeName, ReplyMethodTimeout = TimeSpan.FromSeconds(7) };
        var sent = await client.SendAsync(request, [StewardTestBed.NodeName, "com.test.nobody"], 4, null, default);
        Assert.Equal(2, sent.Count);
        var lines = StewardAuditLog.Read(file, null).ToArray();
        Assert.Equal(sent.Select(r => r.MessageId).Order(), lines.Select(l => l.MessageId).Order());
        Assert.All(lines, l => Assert.Equal(("Client", "sent", "Queued", "Ping", StewardTestBed.SenderName, TimeSpan.FromSeconds(7)),
            (l.Side, l.Verdict, l.Status, l.Method, l.SenderName, l.ReplyMethodTimeout)));

        // Off unless configured: a client of a config without audit_log writes nothing anywhere.
        var quiet = bed.SenderConfig with { Sections = [bed.SenderConfig.Steward with { AuditLog = null, AuditPath = null }] };
        Assert.Null(StewardAuditLog.ForClient(quiet.Steward));
        await new StewardClient(quiet, await bed.StoreAsync()).SendAsync(request, [StewardTestBed.NodeName], 1, null, default);
        Assert.Equal(2, StewardAuditLog.Read(file, null).Count());
        Assert.False(File.Exists(StewardAuditLog.ClientPath(quiet.Steward)));
        // And audit_log: false turns the agent's off.
        Assert.Null(StewardAuditLog.ForAgent(quiet.Steward with { AuditLog = false }, bed.DataDirectory));
    }

    [Fact]
    public void Rotation_by_size_keeps_the_configured_number_of_files_and_reads_back_oldest_first()
    {
        var dir = Directory.CreateTempSubdirectory("steward-audit-rot-").FullName;
        try
        {
            var path = Path.Combine(dir, "audit.jsonl");
            var log = StewardAuditLog.At(path, 2048, 2);
            var start = DateTimeOffset.UtcNow;
            for (var i = 0; i < 200; i++)
                log.Append(new StewardAuditRecord { MessageId = $"m{i:D3}", Time = start.AddMilliseconds(i), Side = "Agent", Verdict = "run", Node = "n", Method = "Ping" });
            Assert.True(File.Exists(path));
            Assert.True(File.Exists(Path.Combine(dir, "audit.1.jsonl")));
            Assert.True(File.Exists(Path.Combine(dir, "audit.2.jsonl")));
            Assert.Equal(3, Directory.GetFiles(dir).Length);
            foreach (var f in Directory.GetFiles(dir)) Assert.InRange(new FileInfo(f).Length, 1, 2048);
            var read = StewardAuditLog.Read(path, (f, n, p) => throw new Xunit.Sdk.XunitException(p)).ToArray();
            // The newest survive, in order, ending with the last one written; the oldest were removed.
            Assert.Equal("m199", read[^1].MessageId);
            Assert.Equal(read.Select(r => r.MessageId).Order(StringComparer.Ordinal), read.Select(r => r.MessageId));
            Assert.Equal(Enumerable.Range(200 - read.Length, read.Length).Select(i => $"m{i:D3}"), read.Select(r => r.MessageId));
            Assert.DoesNotContain(read, r => r.MessageId == "m000");

            // keep 0: the file starts again; nothing rotated is kept.
            var single = Path.Combine(dir, "single.log");
            var one = StewardAuditLog.At(single, 1024, 0);
            for (var i = 0; i < 50; i++) one.Append(new StewardAuditRecord { MessageId = $"s{i}", Time = start, Verdict = "sent" });
            Assert.False(File.Exists(Path.Combine(dir, "single.1.log")));
            Assert.Equal("s49", StewardAuditLog.Read(single, null).Last().MessageId);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Query_filters_by_node_pattern_time_id_and_verdict_and_reports_bad_lines_without_losing_the_good_ones()
    {
        var dir = Directory.CreateTempSubdirectory("steward-audit-q-").FullName;
        try
        {
            var a = Path.Combine(dir, "a.jsonl");
            var b = Path.Combine(dir, "b.jsonl");
            var t = DateTimeOffset.UtcNow;
            StewardAuditLog.At(a, 1 << 20, 1).Append(new StewardAuditRecord { MessageId = "1", Time = t, Node = "com.acme.web1", Verdict = "run" });
            StewardAuditLog.At(b, 1 << 20, 1).Append(new StewardAuditRecord { MessageId = "2", Time = t.AddSeconds(-5), Node = "com.acme.db1", Verdict = "sent" });
            File.AppendAllText(b, "{not json\n");
            StewardAuditLog.At(a, 1 << 20, 1).Append(new StewardAuditRecord { MessageId = "3", Time = t.AddSeconds(5), Node = "com.acme.web2", Verdict = "denied" });
            var bad = new List<string>();
            var all = StewardAuditLog.Query([a, b], null, null, null, null, (f, n, p) => bad.Add($"{f}:{n}"), default);
            Assert.Equal(["2", "1", "3"], all.Select(r => r.MessageId));
            Assert.Equal([$"{b}:2"], bad);
            Assert.Equal(["1", "3"], StewardAuditLog.Query([a, b], "com.acme.web*", null, null, null, null, default).Select(r => r.MessageId));
            Assert.Equal(["1", "3"], StewardAuditLog.Query([a, b], null, t, null, null, null, default).Select(r => r.MessageId));
            Assert.Equal(["3"], StewardAuditLog.Query([a, b], null, null, ["3", "9"], null, null, default).Select(r => r.MessageId));
            Assert.Equal(["2"], StewardAuditLog.Query([a, b], null, null, null, ["sent"], null, default).Select(r => r.MessageId));
            Assert.Throws<RemoteOps.Messaging.DestinationPatternException>(() => StewardAuditLog.Query([a], "com.**.x**", null, null, null, null, default));
            Assert.Throws<StewardArgumentException>(() => StewardAuditLog.Query([a], "bad name", null, null, null, null, default));
        }
        finally { Directory.Delete(dir, true); }
    }
}
