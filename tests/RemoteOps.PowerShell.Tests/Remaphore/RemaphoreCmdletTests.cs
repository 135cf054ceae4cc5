using System.Collections;
using System.Management.Automation;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>Send-Remaphore and Wait-Remaphore through a hosted runspace, against a real nats-server.</summary>
public class RemaphoreCmdletTests(RemaphoreServerFixture nats) : IClassFixture<RemaphoreServerFixture>
{
    private static T Prop<T>(PSObject o, string name) => (T)o.Properties[name].Value;

    private static BackgroundPwsh Waiter(RemaphoreNode node, string args = "-Once -Timeout 60") =>
        new($"param($c) Wait-Remaphore -ConfigPath $c {args}", new Hashtable { ["c"] = node.ConfigPath });

    [Fact]
    public async Task Send_reaches_Wait_with_every_field()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (a, b) = fleet.Pair();
        using var waiter = Waiter(b);
        await waiter.Ready;
        using var pwsh = new Pwsh();
        var sent = pwsh.Run("param($c) Send-Remaphore 'bigfile done' -Destination 'com.test.*' -Verb deploy -Uuid upload_done -ConfigPath $c -PassThru", new Hashtable { ["c"] = a.ConfigPath });
        Assert.False(sent.HadErrors, sent.ErrorText);
        var output = await waiter.CompletedAsync();
        Assert.Empty(waiter.Errors);
        var m = Assert.Single(output);
        Assert.Equal("RemoteOps.Remaphore.RemaphoreMessage", m.BaseObject.GetType().FullName);
        Assert.Equal(a.Public, Prop<string>(m, "Sender"));
        Assert.Equal("deploy", Prop<string>(m, "Verb"));
        Assert.Equal("upload_done", Prop<string>(m, "Uuid"));
        Assert.Equal("bigfile done", Prop<string>(m, "Payload"));
        Assert.Equal("com.test.*", Prop<string>(m, "Destination"));
        Assert.Equal("com.test.b", Prop<string>(m, "DestinationMatch"));
        Assert.InRange(Prop<DateTimeOffset>(m, "Time"), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        // -PassThru wrote what was sent: the same message.
        var s = Assert.Single(sent.Output);
        Assert.Equal(Prop<string>(m, "Hash"), Prop<string>(s, "Hash"));
    }

    [Fact]
    public async Task WhatIf_sends_nothing()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (a, b) = fleet.Pair();
        using var waiter = Waiter(b);
        await waiter.Ready;
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($c) Send-Remaphore whatif -ConfigPath $c -WhatIf -PassThru; Send-Remaphore real -ConfigPath $c", new Hashtable { ["c"] = a.ConfigPath });
        Assert.False(r.HadErrors, r.ErrorText);
        Assert.Empty(r.Output);
        Assert.Equal("real", Prop<string>(Assert.Single(await waiter.CompletedAsync()), "Payload"));
    }

    [Fact]
    public async Task Wait_by_uuid_ignores_other_uuids_and_returns_after_one()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (a, b) = fleet.Pair();
        using var waiter = Waiter(b, "-Uuid upload_done -Timeout 60");
        await waiter.Ready;
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($c) Send-Remaphore first -Uuid other -ConfigPath $c; Send-Remaphore second -Uuid upload_done -ConfigPath $c; Send-Remaphore third -Uuid upload_done -ConfigPath $c",
            new Hashtable { ["c"] = a.ConfigPath });
        Assert.False(r.HadErrors, r.ErrorText);
        Assert.Equal("second", Prop<string>(Assert.Single(await waiter.CompletedAsync()), "Payload"));
        Assert.Contains(waiter.Verbose, v => v.StartsWith("Skipped", StringComparison.Ordinal) && v.Contains("uuid other"));
    }

    [Fact]
    public async Task Wait_by_long_uuid_uses_the_hash_rule()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (a, b) = fleet.Pair();
        using var waiter = Waiter(b, "-Uuid build-2024-06-01-release -Timeout 60");
        await waiter.Ready;
        using var pwsh = new Pwsh();
        pwsh.Run("param($c) Send-Remaphore go -Uuid build-2024-06-01-release -ConfigPath $c", new Hashtable { ["c"] = a.ConfigPath });
        var m = Assert.Single(await waiter.CompletedAsync());
        Assert.Equal(24, Prop<string>(m, "UuidHex").Length);
    }

    [Fact]
    public async Task Wait_by_verb_and_sender()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var ka = fleet.NewKey();
        var kc = fleet.NewKey();
        var kb = fleet.NewKey();
        var a = fleet.Node("a", "com.test.a", [("com.test.b", kb.Public, "\"*\"")], key: ka);
        var c = fleet.Node("c", "com.test.c", [("com.test.b", kb.Public, "\"*\"")], key: kc);
        var b = fleet.Node("b", "com.test.b", [("com.test.a", ka.Public, "\"*\""), ("com.test.c", kc.Public, "\"*\"")], key: kb);
        using var waiter = new BackgroundPwsh("param($c, $s) Wait-Remaphore -ConfigPath $c -Verb deploy,restart -Sender $s -Once -Timeout 60",
            new Hashtable { ["c"] = b.ConfigPath, ["s"] = ka.Public });
        await waiter.Ready;
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($a, $c) Send-Remaphore 1 -Verb ping -ConfigPath $a; Send-Remaphore 2 -Verb deploy -ConfigPath $c; Send-Remaphore 3 -Verb restart -ConfigPath $a",
            new Hashtable { ["a"] = a.ConfigPath, ["c"] = c.ConfigPath });
        Assert.False(r.HadErrors, r.ErrorText);
        Assert.Equal("3", Prop<string>(Assert.Single(await waiter.CompletedAsync()), "Payload"));
    }

    [Fact]
    public async Task Wait_with_a_verb_list_in_one_string_as_the_seed_takes_it()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (a, b) = fleet.Pair();
        using var waiter = Waiter(b, "-Verb 'deploy,restart' -Once -Timeout 60");
        await waiter.Ready;
        using var pwsh = new Pwsh();
        pwsh.Run("param($c) Send-Remaphore 1 -Verb ping -ConfigPath $c; Send-Remaphore 2 -Verb restart -ConfigPath $c", new Hashtable { ["c"] = a.ConfigPath });
        Assert.Equal("2", Prop<string>(Assert.Single(await waiter.CompletedAsync()), "Payload"));
    }

    [Fact]
    public async Task Destination_filtering_and_AnyDestination()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (a, b) = fleet.Pair();
        using var own = Waiter(b, "-Once -Timeout 60");
        using var named = Waiter(b, "-Destination com.other.x -Once -Timeout 60");
        using var any = Waiter(b, "-AnyDestination -Once -Timeout 60");
        await Task.WhenAll(own.Ready, named.Ready, any.Ready);
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($c) Send-Remaphore elsewhere -Destination com.other.** -ConfigPath $c; Send-Remaphore mine -Destination com.test.b -ConfigPath $c",
            new Hashtable { ["c"] = a.ConfigPath });
        Assert.False(r.HadErrors, r.ErrorText);
        Assert.Equal("mine", Prop<string>(Assert.Single(await own.CompletedAsync()), "Payload"));
        Assert.Contains(own.Verbose, v => v.Contains("destination 'com.other.**' does not match 'com.test.b'"));
        var n = Assert.Single(await named.CompletedAsync());
        Assert.Equal("elsewhere", Prop<string>(n, "Payload"));
        Assert.Equal("com.other.x", Prop<string>(n, "DestinationMatch"));
        var x = Assert.Single(await any.CompletedAsync());
        Assert.Equal("elsewhere", Prop<string>(x, "Payload"));
        Assert.Null(Prop<string?>(x, "DestinationMatch"));
    }

    [Fact]
    public async Task Subject_separates_channels()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (a, b) = fleet.Pair();
        using var waiter = Waiter(b, "-Subject deploys -Once -Timeout 60");
        await waiter.Ready;
        using var pwsh = new Pwsh();
        pwsh.Run("param($c) Send-Remaphore on-all -ConfigPath $c; Send-Remaphore on-deploys -Subject deploys -ConfigPath $c", new Hashtable { ["c"] = a.ConfigPath });
        var m = Assert.Single(await waiter.CompletedAsync());
        Assert.Equal("on-deploys", Prop<string>(m, "Payload"));
        Assert.Equal(fleet.Subject + ".deploys", Prop<string>(m, "Subject"));
    }

    [Theory]
    [InlineData("'300ms'")]
    [InlineData("0.3")]
    [InlineData("([TimeSpan]::FromMilliseconds(300))")]
    [InlineData("'00:00:00.3'")]
    public void Timeout_with_nothing_received_is_an_OperationTimeout_error(string timeout)
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (_, b) = fleet.Pair();
        using var pwsh = new Pwsh();
        var r = pwsh.Run($"param($c) Wait-Remaphore -Uuid never -Timeout {timeout} -ConfigPath $c; $ok = $?; 'after'; $ok", new Hashtable { ["c"] = b.ConfigPath });
        var e = Assert.Single(r.Errors);
        Assert.Equal("RemoteOps.RemaphoreTimeout,RemoteOps.PowerShell.Cmdlets.WaitRemaphoreCommand", e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.OperationTimeout, e.CategoryInfo.Category);
        Assert.Equal(["after", "False"], r.Output.Select(o => o.ToString()));
    }

    [Fact]
    public void Chaining_with_and_and_skips_the_next_step_on_timeout()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (_, b) = fleet.Pair();
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($c) Wait-Remaphore -Uuid never -Timeout 200ms -ConfigPath $c && 'download'", new Hashtable { ["c"] = b.ConfigPath });
        Assert.Empty(r.Output);
        Assert.Single(r.Errors);
    }

    [Fact]
    public void A_bad_timeout_is_a_parameter_error()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (_, b) = fleet.Pair();
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($c) Wait-Remaphore -Timeout 'soon' -ConfigPath $c", new Hashtable { ["c"] = b.ConfigPath });
        var e = Assert.Single(r.Errors);
        Assert.Contains("ParameterArgumentTransformationError", e.FullyQualifiedErrorId);
        Assert.Contains("'soon' is not a duration", e.ToString());
    }

    [Fact]
    public async Task Once_returns_after_the_first_message_and_without_it_messages_stream_until_timeout()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (a, b) = fleet.Pair();
        // The sender runspace first: once the waiter is ready, sending takes milliseconds, well inside its timeout.
        using var pwsh = new Pwsh();
        using var once = Waiter(b, "-Once -Timeout 60");
        using var many = Waiter(b, "-Timeout 15s");
        await Task.WhenAll(once.Ready, many.Ready);
        pwsh.Run("param($c) 1..3 | ForEach-Object { Send-Remaphore $_ -ConfigPath $c }", new Hashtable { ["c"] = a.ConfigPath });
        Assert.Equal("1", Prop<string>(Assert.Single(await once.CompletedAsync()), "Payload"));
        var all = await many.CompletedAsync();
        Assert.Equal(["1", "2", "3"], all.Select(m => Prop<string>(m, "Payload")));
        Assert.Empty(many.Errors); // messages arrived, so the timeout is not an error
    }

    [Fact]
    public async Task Command_runs_with_the_seed_arguments_and_environment()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (a, b) = fleet.Pair();
        const string script = "printf '%s|%s|%s|%s|%s|%s|%s|%s\\n' \"$0\" \"$1\" \"$REMAPHORE_SENDER\" \"$REMAPHORE_VERB\" \"$REMAPHORE_UUID\" \"$REMAPHORE_MSG\" \"$REMAPHORE_DESTMATCH\" \"$REMAPHORE_TIME\"; echo oops >&2; exit 3";
        using var waiter = new BackgroundPwsh("param($c, $s) Wait-Remaphore -ConfigPath $c -Once -Timeout 60 -Command sh, -c, $s",
            new Hashtable { ["c"] = b.ConfigPath, ["s"] = script });
        await waiter.Ready;
        using var pwsh = new Pwsh();
        pwsh.Run("param($c) Send-Remaphore 'hello world' -Verb deploy -Uuid job7 -ConfigPath $c", new Hashtable { ["c"] = a.ConfigPath });
        var m = Assert.Single(await waiter.CompletedAsync());
        Assert.Equal(3, Prop<int?>(m, "ExitCode"));
        var output = Prop<string>(m, "Output");
        // stdout and stderr are two pipes: their relative order in the combined output is not fixed.
        var fields = output.Split('\n').Single(l => l.Contains('|')).Split('|');
        Assert.Equal("deploy", fields[0]);
        Assert.Equal("hello world", fields[1]);
        Assert.Equal(a.Public, fields[2]);
        Assert.Equal("deploy", fields[3]);
        Assert.Equal("6a6f6237", fields[4]); // hex of "job7"
        Assert.Equal("hello world", fields[5]);
        Assert.Equal("com.test.b", fields[6]);
        Assert.InRange(long.Parse(fields[7]), DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 60);
        Assert.Contains("oops", output);
    }

    [Fact]
    public async Task A_command_that_cannot_start_is_an_error_and_the_waiter_goes_on()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (a, b) = fleet.Pair();
        // The program exists when the wait begins (it is checked then) and is gone when the messages come.
        var program = Path.Combine(fleet.Directory, "remaphore-cmd");
        File.WriteAllText(program, "#!/bin/sh\nexit 0\n");
        File.SetUnixFileMode(program, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // The sender runspace first: once the waiter is ready, sending takes milliseconds, well inside its timeout.
        using var pwsh = new Pwsh();
        using var waiter = Waiter(b, $"-Timeout 15s -Command '{program}'");
        await waiter.Ready;
        File.Delete(program);
        pwsh.Run("param($c) Send-Remaphore 1 -ConfigPath $c; Send-Remaphore 2 -ConfigPath $c", new Hashtable { ["c"] = a.ConfigPath });
        var output = await waiter.CompletedAsync();
        Assert.Equal(2, output.Count);
        Assert.All(output, m => Assert.Equal(-1, Prop<int?>(m, "ExitCode")));
        Assert.Equal(2, waiter.Errors.Count(e => e.FullyQualifiedErrorId.StartsWith("RemoteOps.RemaphoreCommandFailed")));
    }

    [Fact]
    public async Task ScriptBlock_gets_the_message_on_the_pipeline_thread()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (a, b) = fleet.Pair();
        // Setting a variable of the runspace and reading $_ both need the pipeline thread.
        using var waiter = Waiter(b, "-Once -Timeout 60 -ScriptBlock { $global:got = $_.Payload; \"handled $($_.Verb) $($args[0].Uuid)\" }");
        await waiter.Ready;
        using var pwsh = new Pwsh();
        pwsh.Run("param($c) Send-Remaphore payload -Verb deploy -Uuid u1 -ConfigPath $c", new Hashtable { ["c"] = a.ConfigPath });
        var output = await waiter.CompletedAsync();
        Assert.Empty(waiter.Errors);
        Assert.Equal("handled deploy u1", Assert.Single(output).ToString());
        Assert.Equal("payload", waiter.Runspace.SessionStateProxy.GetVariable("got"));
    }

    [Fact]
    public async Task A_failing_ScriptBlock_is_an_error_and_the_waiter_goes_on()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (a, b) = fleet.Pair();
        // The sender runspace first: once the waiter is ready, sending takes milliseconds, well inside its timeout.
        using var pwsh = new Pwsh();
        using var waiter = Waiter(b, "-Timeout 15s -ScriptBlock { if ($_.Payload -eq 'bad') { throw 'cannot handle' } else { 'ok ' + $_.Payload } }");
        await waiter.Ready;
        pwsh.Run("param($c) Send-Remaphore bad -ConfigPath $c; Send-Remaphore good -ConfigPath $c", new Hashtable { ["c"] = a.ConfigPath });
        var output = await waiter.CompletedAsync();
        Assert.Equal("ok good", Assert.Single(output).ToString());
        Assert.Contains(waiter.Errors, e => e.FullyQualifiedErrorId.StartsWith("RemoteOps.RemaphoreScriptBlockFailed") && e.ToString().Contains("cannot handle"));
    }

    [Fact]
    public async Task A_late_waiter_proceeds_on_a_latched_signal()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (a, b) = fleet.Pair();
        using var pwsh = new Pwsh();
        var sent = pwsh.Run("param($c) Send-Remaphore uploaded -Uuid upload_done -Latch -LatchTtl 10m -ConfigPath $c", new Hashtable { ["c"] = a.ConfigPath });
        Assert.False(sent.HadErrors, sent.ErrorText);
        // The waiter starts after the signal was sent, and still proceeds (twice: a latch is read by every late waiter).
        for (int i = 0; i < 2; i++)
        {
            var r = pwsh.Run("param($c) Wait-Remaphore -Uuid upload_done -Timeout 30 -ConfigPath $c && 'download'", new Hashtable { ["c"] = b.ConfigPath });
            Assert.False(r.HadErrors, r.ErrorText);
            Assert.Equal(2, r.Output.Count);
            Assert.True(Prop<bool>(r.Output[0], "Latched"));
            Assert.Equal("uploaded", Prop<string>(r.Output[0], "Payload"));
            Assert.Equal("download", r.Output[1].ToString());
        }
        // Without -Latch, a signal sent before the waiter started is lost, as in the seed.
        pwsh.Run("param($c) Send-Remaphore gone -Uuid not_latched -ConfigPath $c", new Hashtable { ["c"] = a.ConfigPath });
        var lost = pwsh.Run("param($c) Wait-Remaphore -Uuid not_latched -Timeout 300ms -ConfigPath $c", new Hashtable { ["c"] = b.ConfigPath });
        Assert.Equal("RemoteOps.RemaphoreTimeout", Assert.Single(lost.Errors).FullyQualifiedErrorId.Split(',')[0]);
    }

    [Fact]
    public async Task Without_JetStream_a_latch_is_a_clear_error_and_a_uuid_wait_still_works()
    {
        await using var plain = await NatsServer.StartAsync(jetStream: false);
        using var fleet = new RemaphoreFleet(plain);
        var (a, b) = fleet.Pair();
        using var pwsh = new Pwsh();
        var latch = pwsh.Run("param($c) Send-Remaphore x -Uuid u -Latch -ConfigPath $c", new Hashtable { ["c"] = a.ConfigPath });
        var e = Assert.Single(latch.Errors);
        Assert.StartsWith("RemoteOps.RemaphoreLatchError", e.FullyQualifiedErrorId);
        Assert.Contains("JetStream", e.ToString());
        var wait = pwsh.Run("param($c) Wait-Remaphore -Uuid u -Timeout 300ms -ConfigPath $c", new Hashtable { ["c"] = b.ConfigPath }, verbose: true);
        Assert.StartsWith("RemoteOps.RemaphoreTimeout", Assert.Single(wait.Errors).FullyQualifiedErrorId);
        Assert.Contains(wait.Verbose, v => v.StartsWith("Latch not checked") || v.StartsWith("No latch bucket"));
    }

    [Fact]
    public void Ctrl_C_stops_a_wait()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (_, b) = fleet.Pair();
        using var waiter = Waiter(b, "-Timeout 1h");
        waiter.Ready.GetAwaiter().GetResult();
        waiter.Shell.Stop();
        Assert.Equal(PSInvocationState.Stopped, waiter.Shell.InvocationStateInfo.State);
    }

    [Fact]
    public void Ctrl_C_stops_a_command_in_progress()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (a, b) = fleet.Pair();
        using var waiter = Waiter(b, "-Timeout 1h -Command sleep, 3600");
        waiter.Ready.GetAwaiter().GetResult();
        using var pwsh = new Pwsh();
        pwsh.Run("param($c) Send-Remaphore x -ConfigPath $c", new Hashtable { ["c"] = a.ConfigPath });
        var running = new TaskCompletionSource();
        waiter.Shell.Streams.Verbose.DataAdded += (_, e) => { if (waiter.Shell.Streams.Verbose[e.Index].Message.StartsWith("Running")) running.TrySetResult(); };
        if (waiter.Verbose.Any(v => v.StartsWith("Running"))) running.TrySetResult();
        running.Task.WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
        waiter.Shell.Stop();
        Assert.Equal(PSInvocationState.Stopped, waiter.Shell.InvocationStateInfo.State);
    }

    [Fact]
    public async Task Disconnecting_ends_a_wait_with_a_connection_error()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (a, b) = fleet.Pair();
        using var waiter = Waiter(b, "-Timeout 60");
        await waiter.Ready;
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($c) Disconnect-RemoteOps -ConfigPath $c", new Hashtable { ["c"] = b.ConfigPath });
        Assert.False(r.HadErrors, r.ErrorText);
        Assert.Empty(await waiter.CompletedAsync());
        Assert.StartsWith("RemoteOps.ConnectionError", Assert.Single(waiter.Errors).FullyQualifiedErrorId);
        // The next call connects again.
        using var again = Waiter(b, "-Once -Timeout 60");
        await again.Ready;
        pwsh.Run("param($c) Send-Remaphore back -ConfigPath $c", new Hashtable { ["c"] = a.ConfigPath });
        Assert.Equal("back", Prop<string>(Assert.Single(await again.CompletedAsync()), "Payload"));
    }

    [Theory]
    [InlineData("Send-Remaphore x -Destination 'a..b' -ConfigPath $c", "Destination")]
    [InlineData("Send-Remaphore x -Destination 'a.**.b' -ConfigPath $c", "Destination")]
    [InlineData("Wait-Remaphore -Destination 'a*b*c' -ConfigPath $c", "Destination")]
    [InlineData("Invoke-Remaphore x -Destination 'com,x' -ConfigPath $c", "Destination")]
    public void A_malformed_pattern_is_a_parameter_error(string script, string parameter)
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (a, _) = fleet.Pair();
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($c) " + script, new Hashtable { ["c"] = a.ConfigPath });
        var e = Assert.Single(r.Errors);
        Assert.StartsWith("ParameterArgumentValidationError", e.FullyQualifiedErrorId);
        Assert.Contains(parameter, e.ToString());
        Assert.Contains("is not a destination pattern", e.ToString());
    }

    [Fact]
    public void Destination_and_AnyDestination_together_are_an_error()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (_, b) = fleet.Pair();
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($c) Wait-Remaphore -Destination com.x -AnyDestination -ConfigPath $c", new Hashtable { ["c"] = b.ConfigPath });
        Assert.StartsWith("RemoteOps.RemaphoreInvalidArgument", Assert.Single(r.Errors).FullyQualifiedErrorId);
    }

    [Fact]
    public void A_broken_config_is_one_clear_error_with_file_and_line()
    {
        using var dir = new TempDir();
        var path = dir.File("bad.yaml");
        File.WriteAllText(path, "servers: [nats://127.0.0.1:1]\nsubject: ok\nallow_skew: soon\n");
        using var pwsh = new Pwsh();
        foreach (var cmd in new[] { "Send-Remaphore x", "Wait-Remaphore -Timeout 1", "Invoke-Remaphore x" })
        {
            var r = pwsh.Run($"param($c) {cmd} -ConfigPath $c", new Hashtable { ["c"] = path });
            var e = Assert.Single(r.Errors);
            Assert.StartsWith("RemoteOps.ConfigInvalid", e.FullyQualifiedErrorId);
            Assert.Contains("line 3", e.ToString());
            Assert.Contains("allow_skew", e.ToString());
            Assert.DoesNotContain("   at ", e.ToString());
        }
    }

    [Fact]
    public void Identity_errors_are_clear()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var ka = fleet.NewKey();
        var a = fleet.Node("a", "com.test.a", [], identityVerbs: "ping", key: ka);
        using var other = new TestKeyPair();
        using var pwsh = new Pwsh();
        var unknown = pwsh.Run("param($c, $k) Send-Remaphore x -Identity $k -ConfigPath $c", new Hashtable { ["c"] = a.ConfigPath, ["k"] = other.Public });
        Assert.StartsWith("RemoteOps.IdentityError", Assert.Single(unknown.Errors).FullyQualifiedErrorId);
        Assert.Contains(other.Public, unknown.ErrorText);
        var verb = pwsh.Run("param($c) Send-Remaphore x -Verb reboot -ConfigPath $c", new Hashtable { ["c"] = a.ConfigPath });
        Assert.StartsWith("RemoteOps.IdentityError", Assert.Single(verb.Errors).FullyQualifiedErrorId);
        Assert.Contains("reboot", verb.ErrorText);
        var named = pwsh.Run("param($c, $k) Send-Remaphore x -Verb reboot -Identity $k -ConfigPath $c", new Hashtable { ["c"] = a.ConfigPath, ["k"] = ka.Public });
        Assert.StartsWith("RemoteOps.IdentityError", Assert.Single(named.Errors).FullyQualifiedErrorId);
    }

    [Fact]
    public void An_oversize_message_is_refused_at_the_sender()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (a, _) = fleet.Pair();
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($c) Send-Remaphore ('x' * 70000) -ConfigPath $c", new Hashtable { ["c"] = a.ConfigPath });
        var e = Assert.Single(r.Errors);
        Assert.StartsWith("RemoteOps.RemaphoreInvalidArgument", e.FullyQualifiedErrorId);
        Assert.Contains("max_payload", e.ToString());
    }

    [Fact]
    public void An_unreachable_server_is_a_connection_error()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var key = fleet.NewKey();
        var path = Path.Combine(fleet.Directory, "down.yaml");
        File.WriteAllText(path, $"servers: [nats://127.0.0.1:{NatsServer.FreePort()}]\nidentities:\n  - public: {key.Public}\n    private: {key.Private}\n    verbs: [\"*\"]\n");
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($c) Send-Remaphore x -ConfigPath $c", new Hashtable { ["c"] = path });
        var e = Assert.Single(r.Errors);
        Assert.StartsWith("RemoteOps.ConnectionError", e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ConnectionError, e.CategoryInfo.Category);
    }

    [Fact]
    public async Task A_Go_64_byte_private_key_signs_messages_peers_accept()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var ka = fleet.NewKey();
        var kb = fleet.NewKey();
        var a = fleet.Node("a", "com.test.a", [("com.test.b", kb.Public, "\"*\"")], key: ka, goPrivate: true);
        var b = fleet.Node("b", "com.test.b", [("com.test.a", ka.Public, "\"*\"")], key: kb);
        using var waiter = Waiter(b);
        await waiter.Ready;
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($c) Send-Remaphore from-go-key -ConfigPath $c", new Hashtable { ["c"] = a.ConfigPath });
        Assert.False(r.HadErrors, r.ErrorText);
        Assert.Equal("from-go-key", Prop<string>(Assert.Single(await waiter.CompletedAsync()), "Payload"));
    }

    [Fact]
    public async Task Pipeline_input_by_property_name_relays_a_message()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (a, b) = fleet.Pair();
        // The sender runspace first: once the waiter is ready, sending takes milliseconds, well inside its timeout.
        using var pwsh = new Pwsh();
        using var waiter = Waiter(b, "-Timeout 15s");
        await waiter.Ready;
        var r = pwsh.Run("param($c) [pscustomobject]@{ Payload = 'p1'; Verb = 'deploy'; Uuid = 'u1' }, [pscustomobject]@{ Payload = 'p2'; Verb = 'ping'; Uuid = 'u2' } | Send-Remaphore -ConfigPath $c",
            new Hashtable { ["c"] = a.ConfigPath });
        Assert.False(r.HadErrors, r.ErrorText);
        var got = await waiter.CompletedAsync();
        Assert.Equal(["p1 deploy u1", "p2 ping u2"], got.Select(m => $"{Prop<string>(m, "Payload")} {Prop<string>(m, "Verb")} {Prop<string>(m, "Uuid")}"));
    }
}
