using System.Diagnostics;
using System.Net;
using System.Text;
using RemoteOps.Config;
using RemoteOps.Core.Tests.Remaphore;
using RemoteOps.Identity;
using RemoteOps.Processes;
using RemoteOps.Steward;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>The node agent against a real nats-server: every method end to end, offline delivery, the delivery window,
/// exactly-once, the security checks and bad input. Commands are sent with the contract directly.</summary>
public class StewardAgentTests(NatsFixture nats) : IClassFixture<NatsFixture>
{
    private StewardTestBed Bed(Func<StewardConfig, StewardConfig>? change = null) => new(nats.Server.Url, change);

    [Fact]
    public async Task Ping_Hello_and_the_Op_methods_answer_and_manage_the_handlers()
    {
        await using var bed = Bed();
        var agent = await bed.StartAgentAsync();

        var ping = await bed.AwaitAsync(await bed.SendAsync(StewardMethod.Ping));
        Assert.Equal(StewardStatus.Succeeded, ping.Status);
        Assert.Equal("pong", ping.Output);
        Assert.Equal(StewardTestBed.NodeName, ping.Node);
        Assert.True(ping.Attempts >= 1);

        var hello = await bed.AwaitAsync(await bed.SendAsync(StewardMethod.Hello));
        Assert.Equal(StewardStatus.Succeeded, hello.Status);
        Assert.Contains(agent.PublicKey, hello.Output);

        var list = await bed.AwaitAsync(await bed.SendAsync(StewardMethod.OpProcessList));
        Assert.Contains("CliCommand: com.test.ops", list.Output);

        // Stop Ping: it is then refused; start it again for the guest only.
        Assert.Equal(StewardStatus.Succeeded, (await bed.AwaitAsync(await bed.SendAsync(StewardMethod.OpProcessStop, "REQPing"))).Status);
        var refused = await bed.AwaitAsync(await bed.SendAsync(StewardMethod.Ping));
        Assert.Equal(StewardStatus.Denied, refused.Status);
        Assert.Contains("does not serve Ping", refused.Error);
        Assert.Equal(StewardStatus.Succeeded, (await bed.AwaitAsync(await bed.SendAsync(StewardMethod.OpProcessStart, "Ping", StewardTestBed.GuestName))).Status);
        Assert.Equal(StewardStatus.Denied, (await bed.AwaitAsync(await bed.SendAsync(StewardMethod.Ping))).Status);
        var guestPing = await bed.AwaitAsync(await bed.SendAsync(bed.Command(StewardMethod.Ping), bed.GuestKey));
        Assert.Equal(StewardStatus.Succeeded, guestPing.Status);
        Assert.Equal([StewardTestBed.GuestName], agent.Handlers[StewardMethod.Ping]);

        // The node's presence is in the registry.
        var nodes = await (await bed.StoreAsync()).ListNodesAsync(default);
        Assert.Contains(nodes, n => n.Name == StewardTestBed.NodeName && n.PublicKey == agent.PublicKey);
    }

    [Fact]
    public async Task A_message_sent_by_the_client_keeps_its_reply_fields_in_the_nodes_final_record()
    {
        // The sender's own path (StewardClient), not the bed's: the reply method's timeout travels in the sender's
        // record only, and the node's records must keep it for whoever runs the reply method.
        await using var bed = Bed();
        await bed.StartAgentAsync();
        var client = new StewardClient(bed.SenderConfig, await bed.StoreAsync());
        var request = new StewardRequest
        {
            Method = StewardMethod.Ping, ReplyMethod = StewardMethod.CliCommand, ReplyMethodArgs = ["sh", "-c", "echo \"{{STEWARD_DATA}}\""],
            ReplyMethodTimeout = TimeSpan.FromSeconds(7), Directory = "replies", FileName = "ping.result",
        };
        var sent = Assert.Single(await client.SendAsync(request, [StewardTestBed.NodeName], 1, null, default));
        var final = await bed.AwaitAsync(sent.MessageId);
        Assert.Equal(StewardStatus.Succeeded, final.Status);
        Assert.Equal(TimeSpan.FromSeconds(7), final.ReplyMethodTimeout);
        Assert.Equal(StewardMethod.CliCommand, final.ReplyMethod);
        Assert.Equal(request.ReplyMethodArgs, final.ReplyArgs);
        Assert.Equal(("replies", "ping.result"), (final.Directory, final.FileName));
    }

    [Fact]
    public async Task CliCommand_returns_exit_code_stdout_and_stderr()
    {
        await using var bed = Bed();
        await bed.StartAgentAsync();
        var ok = await bed.AwaitAsync(await bed.SendAsync(StewardMethod.CliCommand, "sh", "-c", "echo out; echo err >&2"));
        Assert.Equal(StewardStatus.Succeeded, ok.Status);
        Assert.Equal(0, ok.ExitCode);
        Assert.Equal("out\n", ok.Output);
        Assert.Equal("err\n", ok.Error);
        Assert.NotNull(ok.Started);
        Assert.NotNull(ok.Finished);

        var failed = await bed.AwaitAsync(await bed.SendAsync(StewardMethod.CliCommand, "sh", "-c", "exit 3"));
        Assert.Equal(StewardStatus.Failed, failed.Status);
        Assert.Equal(3, failed.ExitCode);

        var missing = await bed.AwaitAsync(await bed.SendAsync(StewardMethod.CliCommand, "no-such-program-steward"));
        Assert.Equal(StewardStatus.Failed, missing.Status);
        Assert.Equal(127, missing.ExitCode);
    }

    [Fact]
    public async Task CliCommandCont_streams_numbered_chunks_and_reaching_methodTimeout_is_success()
    {
        await using var bed = Bed();
        await bed.StartAgentAsync();
        var command = bed.Command(StewardMethod.CliCommandCont, "sh", "-c", "echo one; echo two; echo three; exec sleep 300") with { MethodTimeout = TimeSpan.FromSeconds(2) };
        var id = await bed.SendAsync(command);
        var record = await bed.AwaitAsync(id);
        Assert.Equal(StewardStatus.Succeeded, record.Status);
        Assert.Equal(3, record.Chunks);
        var chunks = await bed.ChunksAsync(id, 3);
        Assert.Equal(["one", "two", "three"], chunks.Select(c => c.Line));
        Assert.Equal([1L, 2L, 3L], chunks.Select(c => c.Sequence));
    }

    [Fact]
    public async Task TailFile_streams_the_lines_another_process_appends()
    {
        await using var bed = Bed();
        await bed.StartAgentAsync();
        var file = Path.Combine(bed.WorkDirectory, "app.log");
        File.WriteAllText(file, "old line\n");
        var id = await bed.SendAsync(bed.Command(StewardMethod.TailFile, file) with { MethodTimeout = TimeSpan.FromSeconds(4) });
        await bed.AwaitAsync(id, r => r.Status == StewardStatus.Running);
        using (var appender = Process.Start("sh", ["-c", $"for i in 1 2 3; do echo new$i >> '{file}'; done"]))
            await appender.WaitForExitAsync();
        var chunks = await bed.ChunksAsync(id, 3);
        Assert.Equal(["new1", "new2", "new3"], chunks.Select(c => c.Line));
        var record = await bed.AwaitAsync(id);
        Assert.Equal(StewardStatus.Succeeded, record.Status);
        Assert.DoesNotContain("old line", record.Output);

        var missing = await bed.AwaitAsync(await bed.SendAsync(StewardMethod.TailFile, Path.Combine(bed.WorkDirectory, "nope.log")));
        Assert.Equal(StewardStatus.Failed, missing.Status);
    }

    [Fact]
    public async Task HttpGet_fetches_from_a_local_listener_and_caps_the_body()
    {
        await using var bed = Bed(s => s with { MaxOutput = 1024 });
        await bed.StartAgentAsync();
        var port = NatsServer.FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var serving = Task.Run(async () =>
        {
            for (int i = 0; i < 2; i++)
            {
                var ctx = await listener.GetContextAsync();
                var body = Encoding.UTF8.GetBytes(ctx.Request.Url!.AbsolutePath == "/big" ? new string('x', 3000) : "hello steward");
                ctx.Response.StatusCode = ctx.Request.Url.AbsolutePath == "/missing" ? 404 : 200;
                await ctx.Response.OutputStream.WriteAsync(body);
                ctx.Response.Close();
            }
        });
        var ok = await bed.AwaitAsync(await bed.SendAsync(StewardMethod.HttpGet, $"http://127.0.0.1:{port}/hello"));
        Assert.Equal(StewardStatus.Succeeded, ok.Status);
        Assert.Equal("hello steward", ok.Output);
        Assert.Equal(200, ok.ExitCode);
        var big = await bed.AwaitAsync(await bed.SendAsync(StewardMethod.HttpGet, $"http://127.0.0.1:{port}/big"));
        Assert.Equal(StewardStatus.Succeeded, big.Status);
        Assert.Equal(3000 - 1024, big.Dropped);
        Assert.EndsWith(StewardOutputCap.Marker(3000 - 1024), big.Output);
        await serving;
    }

    [Fact]
    public async Task Output_over_max_output_is_truncated_with_a_marker()
    {
        await using var bed = Bed(s => s with { MaxOutput = 1024 });
        await bed.StartAgentAsync();
        var r = await bed.AwaitAsync(await bed.SendAsync(StewardMethod.CliCommand, "sh", "-c", "head -c 5000 /dev/zero | tr '\\0' a"));
        Assert.Equal(StewardStatus.Succeeded, r.Status);
        Assert.Equal(5000 - 1024, r.Dropped);
        Assert.StartsWith(new string('a', 1024), r.Output);
        Assert.EndsWith(StewardOutputCap.Marker(5000 - 1024), r.Output);
    }

    [Fact]
    public async Task A_message_sent_while_the_agent_is_down_runs_when_it_starts_and_one_whose_window_passed_never_runs()
    {
        await using var bed = Bed();
        var ran = Path.Combine(bed.WorkDirectory, "ran");
        var expiredFile = Path.Combine(bed.WorkDirectory, "expired");
        var queued = await bed.SendAsync(StewardMethod.CliCommand, "sh", "-c", $"echo x >> '{ran}'");
        var old = bed.Command(StewardMethod.CliCommand, "sh", "-c", $"echo x >> '{expiredFile}'") with
        {
            AckTimeout = TimeSpan.FromMilliseconds(200), Retries = 0,
            Time = (DateTimeOffset.UtcNow.AddSeconds(-30) - DateTimeOffset.UnixEpoch).Ticks * 100,
        };
        var expired = await bed.SendAsync(old);
        Assert.Equal(StewardStatus.Queued, (await (await bed.StoreAsync()).GetAsync(queued, default))!.Value.Record!.Status);

        await bed.StartAgentAsync();
        Assert.Equal(StewardStatus.Succeeded, (await bed.AwaitAsync(queued)).Status);
        var noAck = await bed.AwaitAsync(expired);
        Assert.Equal(StewardStatus.NoAck, noAck.Status);
        Assert.Contains("delivery window", noAck.Error);
        Assert.Equal("x\n", File.ReadAllText(ran));
        Assert.False(File.Exists(expiredFile));
    }

    [Fact]
    public async Task MethodTimeout_kills_the_command_its_grandchild_and_the_far_end_of_a_pipe()
    {
        await using var bed = Bed();
        await bed.StartAgentAsync();
        var pids = Path.Combine(bed.WorkDirectory, "pids");
        var script = $"sleep 301 & echo $! > '{pids}'; sleep 302 | cat; wait";
        var r = await bed.AwaitAsync(await bed.SendAsync(bed.Command(StewardMethod.CliCommand, "sh", "-c", script) with { MethodTimeout = TimeSpan.FromSeconds(1) }));
        Assert.Equal(StewardStatus.TimedOut, r.Status);
        Assert.Contains("methodTimeout", r.Error);
        var grandchild = int.Parse(File.ReadAllText(pids).Trim());
        var table = ProcTable.Read();
        Assert.False(table.IsAlive(grandchild), $"grandchild {grandchild} still alive");
        Assert.DoesNotContain(Directory.GetDirectories("/proc").Select(Path.GetFileName).Where(p => p!.All(char.IsAsciiDigit)),
            p => table.IsAlive(int.Parse(p!)) && CommandLine(p!) is "sleep 302" or "sleep 301");
    }

    /// <summary>A process's command line; "" when it ended meanwhile (other processes come and go while /proc is read).</summary>
    private static string CommandLine(string pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return ""; }
    }

    [Fact]
    public async Task A_command_running_when_its_agent_dies_is_adopted_and_runs_exactly_once()
    {
        await using var bed = Bed();
        var agent = await bed.StartAgentAsync();
        var gate = Path.Combine(bed.WorkDirectory, "gate");
        var count = Path.Combine(bed.WorkDirectory, "count");
        // The command waits for a file the test creates after the agent is gone.
        var id = await bed.SendAsync(StewardMethod.CliCommand, "sh", "-c", $"echo run >> '{count}'; while [ ! -e '{gate}' ]; do sleep 0.05; done; echo finished");
        await bed.AwaitAsync(id, r => r.Status == StewardStatus.Running);
        await agent.AbandonAsync();
        await agent.DisposeAsync();
        File.WriteAllText(gate, "");
        await bed.StartAgentAsync();
        var r = await bed.AwaitAsync(id);
        Assert.Equal(StewardStatus.Succeeded, r.Status);
        Assert.Equal("finished\n", r.Output);
        Assert.Equal("run\n", File.ReadAllText(count));
        Assert.Contains("adopting", bed.LogText);
    }

    [Fact]
    public async Task An_adopted_command_is_killed_at_methodTimeout_from_its_recorded_start()
    {
        await using var bed = Bed();
        var agent = await bed.StartAgentAsync();
        var pids = Path.Combine(bed.WorkDirectory, "pids");
        var id = await bed.SendAsync(bed.Command(StewardMethod.CliCommand, "sh", "-c", $"sleep 303 & echo $! > '{pids}'; wait") with { MethodTimeout = TimeSpan.FromSeconds(2) });
        await bed.AwaitAsync(id, r => r.Status == StewardStatus.Running);
        await agent.AbandonAsync();
        await agent.DisposeAsync();
        await bed.StartAgentAsync();
        var r = await bed.AwaitAsync(id);
        Assert.Equal(StewardStatus.TimedOut, r.Status);
        Assert.False(ProcTable.Read().IsAlive(int.Parse(File.ReadAllText(pids).Trim())));
    }

    [Fact]
    public async Task A_running_row_from_a_previous_boot_is_failed_and_never_run_again()
    {
        await using var bed = Bed();
        var marker = Path.Combine(bed.WorkDirectory, "ran");
        var command = bed.Command(StewardMethod.CliCommand, "sh", "-c", $"echo x >> '{marker}'");
        await bed.SendAsync(command);
        // What a node that rebooted mid-run finds: the row Started under another boot id.
        using (var local = StewardLocalStore.Open(Path.Combine(bed.DataDirectory, StewardTestBed.NodeName)))
        {
            Assert.True(local.TryAccept(command.MessageId, StewardCodec.Encode(command, bed.SenderKey), DateTimeOffset.UtcNow, "another-boot"));
            local.MarkStarted(command.MessageId, DateTimeOffset.UtcNow, "another-boot");
        }
        await bed.StartAgentAsync();
        var r = await bed.AwaitAsync(command.MessageId);
        Assert.Equal(StewardStatus.Failed, r.Status);
        Assert.Equal("node restarted while running", r.Error);
        var ping = await bed.AwaitAsync(await bed.SendAsync(StewardMethod.Ping));
        Assert.Equal(StewardStatus.Succeeded, ping.Status);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public async Task Forged_tampered_unknown_skewed_not_allowed_replayed_and_garbage_messages_run_nothing_and_good_ones_keep_running()
    {
        await using var bed = Bed();
        await bed.StartAgentAsync();
        var marker = Path.Combine(bed.WorkDirectory, "ran");
        string[] Touch(string tag) => ["sh", "-c", $"echo {tag} >> '{marker}'"];
        var store = await bed.StoreAsync();

        // A forged signature: signed by the stranger, claiming the sender.
        var forged = bed.Command(StewardMethod.CliCommand, Touch("forged"));
        var forgedWire = StewardCodec.Encode(forged, bed.StrangerKey);
        var forgedText = Encoding.UTF8.GetString(forgedWire).Replace(bed.StrangerKey.PublicBase58, bed.SenderKey.PublicBase58);
        await bed.SendAsync(forged, wire: Encoding.UTF8.GetBytes(forgedText));
        // A tampered body: the sender's genuine signature over other arguments.
        var tampered = bed.Command(StewardMethod.CliCommand, Touch("genuine"));
        var tamperedText = Encoding.UTF8.GetString(StewardCodec.Encode(tampered, bed.SenderKey)).Replace("echo genuine", "echo tamper");
        await bed.SendAsync(tampered, wire: Encoding.UTF8.GetBytes(tamperedText));
        // An unknown sender, validly signed.
        var unknown = await bed.SendAsync(bed.Command(StewardMethod.CliCommand, Touch("unknown")), bed.StrangerKey);
        // Garbage on the node's subject.
        await bed.PublishRawAsync(Encoding.UTF8.GetBytes("not a command at all"));
        await bed.PublishRawAsync([0xff, 0x00, 0x0a, 0x7b]);
        // A skewed clock: signed an hour in the future.
        var skewed = await bed.SendAsync(bed.Command(StewardMethod.CliCommand, Touch("skewed")) with { Time = (DateTimeOffset.UtcNow.AddHours(1) - DateTimeOffset.UnixEpoch).Ticks * 100 });
        // A known sender not allowed this method.
        var notAllowed = await bed.SendAsync(bed.Command(StewardMethod.CliCommand, Touch("guest")), bed.GuestKey);

        var good = await bed.AwaitAsync(await bed.SendAsync(StewardMethod.CliCommand, Touch("good")));
        Assert.Equal(StewardStatus.Succeeded, good.Status);
        var skewedRecord = await bed.AwaitAsync(skewed);
        Assert.Equal(StewardStatus.Denied, skewedRecord.Status);
        Assert.Contains("allow_skew", skewedRecord.Error);
        var notAllowedRecord = await bed.AwaitAsync(notAllowed);
        Assert.Equal(StewardStatus.Denied, notAllowedRecord.Status);
        Assert.Contains("not allowed to call CliCommand", notAllowedRecord.Error);
        // Dropped ones have nothing written by the node: the sender's record (or the stranger's) is untouched.
        foreach (var id in new[] { forged.MessageId, tampered.MessageId, unknown })
        {
            var stored = (await store.GetAsync(id, default))!.Value;
            Assert.NotEqual(bed.NodeKey.PublicBase58, stored.Signer);
            Assert.True(stored.Record is null or { Status: StewardStatus.Queued });
        }

        // A replay: the same signed command published again (no de-duplication id), and re-sent: not run twice.
        var once = bed.Command(StewardMethod.CliCommand, Touch("once"));
        await bed.SendAsync(once);
        Assert.Equal(StewardStatus.Succeeded, (await bed.AwaitAsync(once.MessageId)).Status);
        await bed.PublishRawAsync(StewardCodec.Encode(once, bed.SenderKey));
        await bed.PublishRawAsync(StewardCodec.Encode(once with { Time = once.Time + 1 }, bed.SenderKey));
        var after = await bed.AwaitAsync(await bed.SendAsync(StewardMethod.CliCommand, Touch("after")));
        Assert.Equal(StewardStatus.Succeeded, after.Status);

        Assert.Equal("good\nonce\nafter\n", File.ReadAllText(marker));
        var log = bed.LogText;
        Assert.Contains("bad signature", log);
        Assert.Contains("unknown sender", log);
        Assert.Contains("bad encoding", log);
        Assert.Contains("already executed", log);
    }

    [Fact]
    public async Task A_re_sent_id_gets_its_stored_result_again_when_the_bucket_lost_it()
    {
        await using var bed = Bed();
        await bed.StartAgentAsync();
        var marker = Path.Combine(bed.WorkDirectory, "ran");
        var command = bed.Command(StewardMethod.CliCommand, "sh", "-c", $"echo x >> '{marker}'; echo result");
        await bed.SendAsync(command);
        Assert.Equal("result\n", (await bed.AwaitAsync(command.MessageId)).Output);
        var store = await bed.StoreAsync();
        await store.Results.DeleteAsync(command.MessageId);
        await bed.PublishRawAsync(StewardCodec.Encode(command, bed.SenderKey));
        var again = await bed.AwaitAsync(command.MessageId);
        Assert.Equal(StewardStatus.Succeeded, again.Status);
        Assert.Equal("result\n", again.Output);
        Assert.Equal("x\n", File.ReadAllText(marker));
    }

    [Fact]
    public async Task A_burst_of_messages_to_one_node_is_handled_without_a_stalled_round_trip()
    {
        // Many messages queued at once for one node: the consumer hands them over faster than each is judged (a round
        // trip or two each). None may wait on a round trip that cannot complete: every one is handled on its first
        // delivery, so the log shows no "not handled yet" and every record is final with one attempt.
        await using var bed = Bed();
        var store = await bed.StoreAsync();
        var ids = new List<string>();
        for (int i = 0; i < 40; i++) ids.Add(await bed.SendAsync(StewardMethod.Ping));
        await bed.StartAgentAsync();
        var more = new List<string>();
        for (int i = 0; i < 40; i++) more.Add(await bed.SendAsync(StewardMethod.Ping));
        foreach (var id in ids.Concat(more))
        {
            var r = await bed.AwaitAsync(id);
            Assert.Equal(StewardStatus.Succeeded, r.Status);
            Assert.Equal(1, r.Attempts);
        }
        Assert.DoesNotContain("not handled yet", bed.LogText);
    }

    [Fact]
    public async Task Starting_without_a_name_without_JetStream_or_with_a_bad_name_is_a_clear_error()
    {
        await using var bed = Bed();
        var noName = await Assert.ThrowsAsync<StewardArgumentException>(() => StewardAgent.StartAsync(bed.NodeConfig with { Destination = null }, null, null, default));
        Assert.Contains("destination", noName.Message);
        await Assert.ThrowsAsync<StewardArgumentException>(() => StewardAgent.StartAsync(bed.NodeConfig, "not a name!", null, default));
        await using var plain = await NatsServer.StartAsync(jetStream: false);
        var unavailable = await Assert.ThrowsAsync<StewardUnavailableException>(() => StewardAgent.StartAsync(bed.NodeConfig with { Servers = [plain.Url] }, null, null, default));
        Assert.Contains("JetStream", unavailable.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_broken_steward_section_is_a_config_error_naming_the_key()
    {
        var dir = Directory.CreateTempSubdirectory("steward-cfg-").FullName;
        var path = Path.Combine(dir, "config.yaml");
        File.WriteAllText(path, "destination: com.test.node1\nsteward:\n  max_output: 12\n");
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path, _ => { }));
        Assert.Contains("steward.max_output", e.Message);
        await Task.CompletedTask;
    }
}

/// <summary>PwshScript on the agent without pwsh itself (the scripts themselves run in tests/pester/StewardCommand.Tests.ps1):
/// only the signed text runs, and a node without a worker says how to fix it.</summary>
public class StewardPwshAgentTests(NatsFixture nats) : IClassFixture<NatsFixture>
{
    [Fact]
    public async Task A_node_without_a_pwsh_worker_fails_PwshScript_saying_how_to_fix_it_and_keeps_serving()
    {
        await using var bed = new StewardTestBed(nats.Server.Url, s => s with
        {
            PwshCommand = ["/nonexistent/remoteops-test/pwsh"],
            Methods = new Dictionary<StewardMethod, IReadOnlyList<string>>(s.Methods) { [StewardMethod.PwshScript] = [StewardTestBed.SenderName] },
        });
        await bed.StartAgentAsync();
        var r = await bed.AwaitAsync(await bed.SendAsync(StewardMethod.PwshScript, "'hello'"));
        Assert.Equal(StewardStatus.Failed, r.Status);
        Assert.Contains("steward.pwsh_command", r.Error);
        Assert.Equal(127, r.ExitCode);
        Assert.Equal(StewardStatus.Succeeded, (await bed.AwaitAsync(await bed.SendAsync(StewardMethod.Ping))).Status);
    }

    [Fact]
    public async Task PwshScript_is_denied_unless_listed_and_a_changed_script_text_never_runs()
    {
        await using var bed = new StewardTestBed(nats.Server.Url, s => s with { PwshCommand = ["/nonexistent/remoteops-test/pwsh"] });
        await bed.StartAgentAsync();
        var store = await bed.StoreAsync();
        // Not listed under methods (as in the example config): Denied.
        var notServed = await bed.AwaitAsync(await bed.SendAsync(StewardMethod.PwshScript, "'hello'"));
        Assert.Equal(StewardStatus.Denied, notServed.Status);

        // The script text changed in flight under the sender's genuine signature: dropped, nothing written by the node.
        var tampered = bed.Command(StewardMethod.PwshScript, "Get-Genuine 12345");
        var genuine = Encoding.UTF8.GetString(StewardCodec.Encode(tampered, bed.SenderKey));
        var text = genuine.Replace("Get-Genuine 12345", "Remove-Item 12345");
        Assert.NotEqual(genuine, text);
        await bed.SendAsync(tampered, wire: Encoding.UTF8.GetBytes(text));
        Assert.Equal(StewardStatus.Succeeded, (await bed.AwaitAsync(await bed.SendAsync(StewardMethod.Ping))).Status);
        var stored = (await store.GetAsync(tampered.MessageId, default))!.Value;
        Assert.NotEqual(bed.NodeKey.PublicBase58, stored.Signer);
        Assert.True(stored.Record is null or { Status: StewardStatus.Queued });
        Assert.Contains("bad signature", bed.LogText);
    }
}
