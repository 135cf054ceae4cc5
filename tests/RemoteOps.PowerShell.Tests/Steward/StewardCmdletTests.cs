using System.Collections;
using System.Management.Automation;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>The steward sender cmdlets in the hosted runspace, against a real nats-server with JetStream. Where a node
/// must answer, <see cref="StewardNodeScript"/> plays its part in the store with the module's own core.</summary>
public class StewardCmdletTests(RemaphoreServerFixture nats) : IClassFixture<RemaphoreServerFixture>
{
    private static T Prop<T>(PSObject o, string name) => (T)LanguagePrimitives.ConvertTo(o.Properties[name].Value, typeof(T));
    private static string SeedDirectory => Path.Combine(Repo.Root, "tests", "RemoteOps.Core.Tests", "Steward", "Seed");

    /// <summary>What ConvertFrom-Json gives for a seed file (the hosted runspace has no Microsoft.PowerShell.Utility;
    /// the Pester tests pipe the files through the real ConvertFrom-Json): objects with note properties, arrays as
    /// object[], whole numbers as long.</summary>
    private static object?[] FromJson(string file)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(file), new System.Text.Json.JsonDocumentOptions { AllowTrailingCommas = true });
        return doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Array
            ? doc.RootElement.EnumerateArray().Select(Convert).ToArray()
            : [Convert(doc.RootElement)];
    }

    private static object? Convert(System.Text.Json.JsonElement e) => e.ValueKind switch
    {
        System.Text.Json.JsonValueKind.Object => e.EnumerateObject().Aggregate(new PSObject(), (o, p) => { o.Properties.Add(new PSNoteProperty(p.Name, Convert(p.Value))); return o; }),
        System.Text.Json.JsonValueKind.Array => e.EnumerateArray().Select(Convert).ToArray(),
        System.Text.Json.JsonValueKind.String => e.GetString(),
        System.Text.Json.JsonValueKind.Number => e.TryGetInt64(out var l) ? l : e.GetDouble(),
        System.Text.Json.JsonValueKind.True => true,
        System.Text.Json.JsonValueKind.False => false,
        _ => null,
    };

    [Fact]
    public void Every_seed_json_file_binds_through_ConvertFrom_Json_and_queues_one_message_per_node()
    {
        using var space = new StewardSpace(nats.Server.Url);
        var config = space.Sender();
        using var pwsh = new Pwsh();
        foreach (var file in System.IO.Directory.GetFiles(SeedDirectory, "seed*.json").Order())
        {
            var messages = FromJson(file);
            var expected = messages.Cast<PSObject>().Sum(m =>
                new[] { m.Properties["toNode"]?.Value }.Concat((m.Properties["toNodes"]?.Value as object[]) ?? []).OfType<string>().Distinct().Count());
            var r = pwsh.Run("param($m, $c) $m | Invoke-StewardMethod -NoWait -ConfigPath $c", new Hashtable { ["m"] = messages, ["c"] = config });
            Assert.False(r.HadErrors, $"{Path.GetFileName(file)}: {r.ErrorText}");
            var sent = r.Output;
            Assert.Equal(expected, sent.Count);
            Assert.All(sent, m =>
            {
                Assert.Equal("RemoteOps.Steward.StewardMessage", m.BaseObject.GetType().FullName);
                Assert.Equal("Queued", Prop<string>(m, "Status"));
            });
        }
        // The seed's REQOpCommand with operation startProc is OpProcessStart; REQnCliCommandCont is CliCommandCont.
        var op = pwsh.Run("param($m, $c) $m | Invoke-StewardMethod -NoWait -ConfigPath $c",
            new Hashtable { ["m"] = FromJson(Path.Combine(SeedDirectory, "seed20.json")), ["c"] = config });
        Assert.Equal("OpProcessStart", Prop<string>(Assert.Single(op.Output), "Method"));
        var cont = pwsh.Run("param($m, $c) $m | Invoke-StewardMethod -NoWait -ConfigPath $c",
            new Hashtable { ["m"] = FromJson(Path.Combine(SeedDirectory, "seed01.json")), ["c"] = config });
        Assert.Equal("CliCommandCont", Prop<string>(Assert.Single(cont.Output), "Method"));
    }

    [Fact]
    public void WhatIf_checks_the_input_and_sends_nothing_even_without_a_server()
    {
        using var space = new StewardSpace($"nats://127.0.0.1:{NatsServer.FreePort()}");
        var config = space.Sender();
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($m, $c) $m | Invoke-StewardMethod -WhatIf -ConfigPath $c",
            new Hashtable { ["m"] = FromJson(Path.Combine(SeedDirectory, "seed13.json")), ["c"] = config });
        Assert.False(r.HadErrors, r.ErrorText);
        Assert.Empty(r.Output);
        var bad = pwsh.Run("param($c) Invoke-StewardMethod ship1 REQNoSuchMethod -WhatIf -ConfigPath $c", new Hashtable { ["c"] = config });
        var error = Assert.Single(bad.Errors);
        Assert.Equal("RemoteOps.StewardInvalidArgument", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains("is not a steward method", error.Exception.Message);
    }

    [Fact]
    public void A_node_that_never_answers_is_NoAck_with_an_error_whose_target_is_the_node_and_a_summary()
    {
        using var space = new StewardSpace(nats.Server.Url);
        var config = space.Sender();
        using var pwsh = new Pwsh();
        var r = pwsh.Run("""
            param($c)
            $replies = Invoke-StewardMethod com.acme.down, com.acme.gone Ping -AckTimeout 0.3 -Retries 0 -ConfigPath $c -ErrorVariable failed -ErrorAction SilentlyContinue -InformationVariable info
            [pscustomobject]@{ Replies = $replies; Failed = $failed; Info = "$info" }
            """, new Hashtable { ["c"] = config });
        var result = Assert.Single(r.Output);
        var replies = ((IEnumerable)result.Properties["Replies"].Value).Cast<object>().Select(PSObject.AsPSObject).ToList();
        Assert.Equal(2, replies.Count);
        Assert.All(replies, x => Assert.Equal("NoAck", Prop<string>(x, "Status")));
        var failed = ((IEnumerable)result.Properties["Failed"].Value).Cast<object>().Select(o => (ErrorRecord)PSObject.AsPSObject(o).BaseObject).ToList();
        Assert.Equal(["com.acme.down", "com.acme.gone"], failed.Select(e => (string)e.TargetObject).Order());
        Assert.All(failed, e => Assert.Equal("RemoteOps.StewardNoAck", e.FullyQualifiedErrorId.Split(',')[0]));
        Assert.Contains("0 answered", Prop<string>(result, "Info"));
        Assert.Contains("2 no ack", Prop<string>(result, "Info"));
        // Another session reads the same status.
        using var other = new Pwsh();
        var seen = other.Run("param($c) Get-StewardMessage -ToNode 'com.acme.*' -ConfigPath $c", new Hashtable { ["c"] = config });
        Assert.False(seen.HadErrors, seen.ErrorText);
        Assert.Equal(2, seen.Output.Count);
        Assert.All(seen.Output, m => Assert.Equal("NoAck", Prop<string>(m, "Status")));
    }

    [Fact]
    public void Queued_messages_are_listed_cancelled_by_pipeline_and_their_replies_say_Cancelled()
    {
        using var space = new StewardSpace(nats.Server.Url);
        var config = space.Sender();
        using var pwsh = new Pwsh();
        var sent = pwsh.Run("param($c) Invoke-StewardMethod com.acme.laptop, com.acme.desk CliCommand -MethodArgs whoami -NoWait -ConfigPath $c", new Hashtable { ["c"] = config });
        Assert.False(sent.HadErrors, sent.ErrorText);
        Assert.Equal(2, sent.Output.Count);

        using var other = new Pwsh();
        var queued = other.Run("param($c) Get-StewardMessage -Status Queued -ConfigPath $c", new Hashtable { ["c"] = config });
        Assert.Equal(2, queued.Output.Count);
        // Without -Wait a message still queued is a warning, not a reply.
        var early = other.Run("param($c, $m) $m | Receive-StewardReply -ConfigPath $c", new Hashtable { ["c"] = config, ["m"] = sent.Output[0] });
        Assert.Empty(early.Output);
        Assert.Contains("still Queued", Assert.Single(early.Warnings));

        var removed = other.Run("param($c) Get-StewardMessage -ToNode com.acme.laptop -ConfigPath $c | Remove-StewardMessage -Confirm:$false -PassThru -ConfigPath $c", new Hashtable { ["c"] = config });
        Assert.False(removed.HadErrors, removed.ErrorText);
        Assert.Equal("Cancelled", Prop<string>(Assert.Single(removed.Output), "Status"));
        var replies = pwsh.Run("param($c, $m) $m | Receive-StewardReply -ConfigPath $c -ErrorVariable e -ErrorAction SilentlyContinue; $e",
            new Hashtable { ["c"] = config, ["m"] = sent.Output.First(m => Prop<string>(m, "Node") == "com.acme.laptop") });
        Assert.Equal("Cancelled", Prop<string>(replies.Output[0], "Status"));
        Assert.Equal("RemoteOps.StewardCancelled", ((ErrorRecord)replies.Output[1].BaseObject).FullyQualifiedErrorId.Split(',')[0]);
        // The other one is still queued; -WhatIf cancels nothing.
        var whatIf = pwsh.Run("param($c) Get-StewardMessage -ToNode com.acme.desk -ConfigPath $c | Remove-StewardMessage -WhatIf -ConfigPath $c; Get-StewardMessage -ToNode com.acme.desk -ConfigPath $c", new Hashtable { ["c"] = config });
        Assert.Equal("Queued", Prop<string>(Assert.Single(whatIf.Output), "Status"));
        // Waiting for it ends at -Timeout with one StewardTimeout error naming it.
        var wait = pwsh.Run("param($c) Get-StewardMessage -ToNode com.acme.desk -ConfigPath $c | Receive-StewardReply -Wait -Timeout 0.3 -ConfigPath $c", new Hashtable { ["c"] = config });
        var timeout = Assert.Single(wait.Errors);
        Assert.Equal("RemoteOps.StewardTimeout", timeout.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Equal(ErrorCategory.OperationTimeout, timeout.CategoryInfo.Category);
    }

    [Fact]
    public void Bad_input_is_one_clear_error_each()
    {
        using var space = new StewardSpace(nats.Server.Url);
        var config = space.Sender();
        using var pwsh = new Pwsh();
        void Expect(string script, string id, ErrorCategory category, string text, string? path = null)
        {
            var r = pwsh.Run(script, new Hashtable { ["c"] = path ?? config });
            var error = Assert.Single(r.Errors);
            Assert.Equal(id, error.FullyQualifiedErrorId.Split(',')[0]);
            Assert.Equal(category, error.CategoryInfo.Category);
            Assert.Contains(text, error.Exception.Message);
        }
        Expect("param($c) Invoke-StewardMethod ship1 Reboot -ConfigPath $c", "RemoteOps.StewardInvalidArgument", ErrorCategory.InvalidArgument, "'Reboot' is not a steward method");
        Expect("param($c) Invoke-StewardMethod 'com.**.x' Ping -ConfigPath $c", "RemoteOps.StewardInvalidPattern", ErrorCategory.InvalidArgument, "** may only be the last segment");
        Expect("param($c) Invoke-StewardMethod ship1 CliCommand -ReplyMethod ToFile -FileName a/b -ConfigPath $c", "RemoteOps.StewardInvalidArgument", ErrorCategory.InvalidArgument, "is not a file name");
        Expect("param($c) Invoke-StewardMethod ship1 Ping -AckTimeout nonsense -ConfigPath $c", "ParameterArgumentTransformationError", ErrorCategory.InvalidData, "is not a duration");
        Expect("param($c) Get-StewardMessage -ToNode 'a.**.b' -ConfigPath $c", "RemoteOps.StewardInvalidPattern", ErrorCategory.InvalidArgument, "** may only be the last segment");
        Expect("param($c) Get-StewardMessage -MessageId nosuch -ConfigPath $c", "RemoteOps.StewardMessageNotFound", ErrorCategory.ObjectNotFound, "nosuch");
        Expect("param($c) Remove-StewardMessage nosuch -Confirm:$false -ConfigPath $c", "RemoteOps.StewardMessageNotFound", ErrorCategory.ObjectNotFound, "nosuch");
        var broken = Path.Combine(space.Directory, "broken.yaml");
        File.WriteAllText(broken, File.ReadAllText(config) + "  retries: many\n");
        Expect("param($c) Invoke-StewardMethod ship1 Ping -ConfigPath $c", "RemoteOps.ConfigInvalid", ErrorCategory.InvalidData, "steward.retries", broken);
    }

    [Fact]
    public async Task Without_JetStream_each_cmdlet_is_one_StewardUnavailable_error()
    {
        await using var plain = await NatsServer.StartAsync(jetStream: false);
        using var space = new StewardSpace(plain.Url);
        var config = space.Sender();
        using var pwsh = new Pwsh();
        foreach (var script in new[]
        {
            "param($c) Invoke-StewardMethod ship1 Ping -ConfigPath $c",
            "param($c) Get-StewardMessage -ConfigPath $c",
            "param($c) Receive-StewardReply abc -ConfigPath $c",
            "param($c) Remove-StewardMessage abc -Confirm:$false -ConfigPath $c",
        })
        {
            var r = pwsh.Run(script, new Hashtable { ["c"] = config });
            var error = Assert.Single(r.Errors);
            Assert.Equal("RemoteOps.StewardUnavailable", error.FullyQualifiedErrorId.Split(',')[0]);
            Assert.Equal(ErrorCategory.ConnectionError, error.CategoryInfo.Category);
            Assert.Contains("JetStream", error.Exception.Message, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void Ctrl_C_stops_the_wait_only_and_the_message_stays_queued()
    {
        using var space = new StewardSpace(nats.Server.Url);
        var config = space.Sender();
        using var pwsh = new Pwsh();
        var (ps, handle) = pwsh.Begin("param($c) Invoke-StewardMethod com.acme.away Ping -AckTimeout 1h -ConfigPath $c -Verbose", new Hashtable { ["c"] = config });
        using (ps)
        {
            // Stop once the message is queued (the verbose line says so), as a user pressing Ctrl+C while it waits.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (!ps.Streams.Verbose.Any(v => v.Message.StartsWith("Queued Ping for com.acme.away", StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
                Thread.Sleep(20);
            ps.Stop();
            Assert.Throws<PipelineStoppedException>(() => ps.EndInvoke(handle));
        }
        using var other = new Pwsh();
        var seen = other.Run("param($c) Get-StewardMessage -ToNode com.acme.away -ConfigPath $c", new Hashtable { ["c"] = config });
        Assert.Equal("Queued", Prop<string>(Assert.Single(seen.Output), "Status"));
    }

    [Fact]
    public void Method_ToNode_and_ReplyMethod_complete_on_Tab()
    {
        using var space = new StewardSpace(nats.Server.Url);
        space.Node("com.acme.web1");
        var config = space.Sender();
        using var pwsh = new Pwsh();
        List<string> Complete(string line)
        {
            var r = pwsh.Run("param($line) $c = TabExpansion2 -inputScript $line -cursorColumn $line.Length; $c.CompletionMatches | ForEach-Object { $_.CompletionText }",
                new Hashtable { ["line"] = line });
            Assert.False(r.HadErrors, r.ErrorText);
            return r.Output.Select(o => o.ToString()).ToList();
        }
        Assert.Equal(["CliCommand", "CliCommandCont"], Complete("Invoke-StewardMethod -Method Cli"));
        Assert.DoesNotContain("ToFile", Complete("Invoke-StewardMethod -Method "));
        Assert.Equal(["ToConsole", "ToFile", "ToFileAppend"], Complete("Invoke-StewardMethod -ReplyMethod To"));
        Assert.Contains("com.acme.web1", Complete($"Invoke-StewardMethod -ConfigPath '{config}' -ToNode com.acme."));
        Assert.Contains("com.acme.*", Complete($"Invoke-StewardMethod -ConfigPath '{config}' -ToNode com.acme."));
    }

    [Fact]
    public void A_pattern_that_matches_no_live_node_sends_nothing_and_says_so()
    {
        using var space = new StewardSpace(nats.Server.Url);
        var config = space.Sender();
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($c) Invoke-StewardMethod 'com.nowhere.*' Ping -ConfigPath $c; Get-StewardMessage -ConfigPath $c", new Hashtable { ["c"] = config }, verbose: true);
        Assert.False(r.HadErrors, r.ErrorText);
        Assert.Empty(r.Output);
        Assert.Contains(r.Warnings, w => w.Contains("'com.nowhere.*' matches no live node"));
        Assert.Contains(r.Verbose, v => v.Contains("'com.nowhere.*' matches no live node"));
    }
}

/// <summary>Invoke-StewardMethod with a node answering (played by <see cref="StewardNodeScript"/> in another runspace):
/// replies, streamed lines and the reply methods where the reply is received.</summary>
public class StewardReplyCmdletTests(RemaphoreServerFixture nats) : IClassFixture<RemaphoreServerFixture>
{
    private static T Prop<T>(PSObject o, string name) => (T)LanguagePrimitives.ConvertTo(o.Properties[name].Value, typeof(T));

    private static (PwshResult Sender, PwshResult Node) Answer(StewardSpace space, string invoke, string node, string status, string output, params string[] lines)
    {
        var nodeConfig = space.Node(node);
        var sender = space.Sender();
        using var senderShell = new Pwsh();
        using var nodeShell = new Pwsh();
        var (ps, handle) = senderShell.Begin("param($c) " + invoke + " -ConfigPath $c -ErrorVariable failed -ErrorAction SilentlyContinue; $failed", new Hashtable { ["c"] = sender });
        using (ps)
        {
            var played = nodeShell.Run(StewardNodeScript.Script, new Hashtable
            {
                ["NodeConfig"] = nodeConfig, ["SenderConfig"] = sender, ["Node"] = node, ["Status"] = status, ["Output"] = output, ["Lines"] = lines,
            });
            Assert.True(played.Errors.Count == 0, played.ErrorText);
            var output2 = ps.EndInvoke(handle).ToList();
            return (new PwshResult(output2, ps.Streams.Error.ToList(), ps.Streams.Verbose.Select(v => v.Message).ToList(), ps.Streams.Warning.Select(w => w.Message).ToList(), ps.HadErrors), played);
        }
    }

    [Fact]
    public void A_reply_is_written_when_the_node_ends_and_ToFile_writes_it_under_the_data_directory()
    {
        using var space = new StewardSpace(nats.Server.Url);
        var (sender, node) = Answer(space, "Invoke-StewardMethod com.acme.web1 CliCommand -MethodArgs hostname -ReplyMethod ToFile -Directory out -FileName web1.txt",
            "com.acme.web1", "Succeeded", "web1\n");
        var reply = Assert.Single(sender.Output);
        Assert.Equal("RemoteOps.Steward.StewardReply", reply.BaseObject.GetType().FullName);
        Assert.Equal("Succeeded", Prop<string>(reply, "Status"));
        Assert.Equal(Assert.Single(node.Output).ToString(), Prop<string>(reply, "MessageId"));
        Assert.Equal("web1\n", File.ReadAllText(Path.Combine(space.DataDirectory, "out", "web1.txt")));
    }

    [Fact]
    public void A_failed_node_gets_its_reply_and_one_error_with_the_node_as_target()
    {
        using var space = new StewardSpace(nats.Server.Url);
        var (sender, _) = Answer(space, "Invoke-StewardMethod com.acme.web2 CliCommand -MethodArgs false", "com.acme.web2", "Failed", "");
        Assert.Equal("Failed", Prop<string>(sender.Output[0], "Status"));
        var error = (ErrorRecord)sender.Output[1].BaseObject;
        Assert.Equal("RemoteOps.StewardMethodFailed", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Equal("com.acme.web2", error.TargetObject);
    }

    [Fact]
    public void Streamed_lines_come_as_StewardOutput_and_a_CliCommand_reply_gets_them_through_STEWARD_DATA()
    {
        if (OperatingSystem.IsWindows()) return; // the seed's reply command is bash
        using var space = new StewardSpace(nats.Server.Url);
        var (console, _) = Answer(space, "Invoke-StewardMethod com.acme.web3 TailFile -MethodArgs /var/log/x", "com.acme.web3", "Succeeded", "", "one", "two $(x)");
        Assert.Equal(["one", "two $(x)"], console.Output.Where(o => o.BaseObject.GetType().Name == "StewardOutput").Select(o => Prop<string>(o, "Line")));
        Assert.Equal("Succeeded", Prop<string>(console.Output[^1], "Status"));

        var (cli, _) = Answer(space, "Invoke-StewardMethod com.acme.web4 TailFile -MethodArgs /var/log/x -ReplyMethod REQCliCommand -ReplyMethodArgs bash, -c, 'echo \"{{STEWARD_DATA}}\" > tail.txt' -Directory tails",
            "com.acme.web4", "Succeeded", "", "one", "two $(x)");
        Assert.DoesNotContain(cli.Output, o => o.BaseObject.GetType().Name == "StewardOutput");
        Assert.Equal("one\ntwo $(x)\n\n", File.ReadAllText(Path.Combine(space.DataDirectory, "tails", "tail.txt")));
    }
}
