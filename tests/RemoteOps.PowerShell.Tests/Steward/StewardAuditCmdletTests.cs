using System.Collections;
using System.Management.Automation;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>Get-StewardAudit in the hosted runspace against a real nats-server and a node agent running
/// Start-StewardNode in another runspace: a client's audit record and an agent's, piped into Invoke-StewardMethod, run
/// the same method on the node again (-WhatIf sends nothing); bad input is one clear error each.</summary>
public class StewardAuditCmdletTests(RemaphoreServerFixture nats) : IClassFixture<RemaphoreServerFixture>
{
    private static T Prop<T>(PSObject o, string name) => (T)LanguagePrimitives.ConvertTo(o.Properties[name].Value, typeof(T));

    [Fact]
    public void An_audit_record_piped_into_Invoke_StewardMethod_runs_the_same_method_on_the_node_again()
    {
        using var space = new StewardSpace(nats.Server.Url);
        var node = space.Node("com.acme.web1");
        File.AppendAllText(node, "  methods:\n    CliCommand: { allowed: [com.acme.central] }\n");
        var sender = space.Sender(extra: "  audit_log: true\n");
        var marker = Path.Combine(space.Directory, "runs.txt");
        var agentLog = Path.Combine(space.DataDirectory, "com.acme.web1", "audit.jsonl");
        using var agentShell = new Pwsh();
        var (agent, handle) = agentShell.Begin("param($c) Start-StewardNode -ConfigPath $c", new Hashtable { ["c"] = node });
        try
        {
            using var pwsh = new Pwsh();
            var args = new Hashtable { ["c"] = sender, ["m"] = marker, ["a"] = agentLog };
            var first = pwsh.Run("""
                param($c, $m)
                Invoke-StewardMethod com.acme.web1 CliCommand -MethodArgs sh, -c, "echo ran >> '$m'; printf 'body-%s' 42" -AckTimeout 1m -ConfigPath $c
                """, args);
            Assert.False(first.HadErrors, first.ErrorText);
            Assert.Equal("body-42", Prop<string>(Assert.Single(first.Output), "Output"));

            // The client's record: typed, with what is needed to send it again.
            var sent = Assert.Single(pwsh.Run("param($c) Get-StewardAudit -Verdict sent -ConfigPath $c", args).Output);
            Assert.Equal("RemoteOps.Steward.StewardAuditRecord", sent.BaseObject.GetType().FullName);
            Assert.Equal(("Client", "com.acme.web1", "CliCommand", "Queued"), (Prop<string>(sent, "Side"), Prop<string>(sent, "ToNode"), Prop<string>(sent, "Method"), Prop<string>(sent, "Status")));

            // -WhatIf: nothing is sent.
            var whatIf = pwsh.Run("param($c) Get-StewardAudit -Verdict sent -ConfigPath $c | Invoke-StewardMethod -ConfigPath $c -WhatIf", args);
            Assert.False(whatIf.HadErrors, whatIf.ErrorText);
            Assert.Empty(whatIf.Output);
            Assert.Single(pwsh.Run("param($c) Get-StewardAudit -Verdict sent -ConfigPath $c", args).Output);

            // Sent again from the client's record, then from the agent's: the node runs it each time, under a new id.
            var again = pwsh.Run("param($c) Get-StewardAudit -Verdict sent -ConfigPath $c | Invoke-StewardMethod -ConfigPath $c", args);
            Assert.False(again.HadErrors, again.ErrorText);
            Assert.Equal("body-42", Prop<string>(Assert.Single(again.Output), "Output"));
            Assert.NotEqual(Prop<string>(sent, "MessageId"), Prop<string>(again.Output[0], "MessageId"));
            var fromAgent = pwsh.Run("param($c, $a) @(Get-StewardAudit -Path $a -Verdict run)[0] | Invoke-StewardMethod -ConfigPath $c", args);
            Assert.False(fromAgent.HadErrors, fromAgent.ErrorText);
            Assert.Equal("Succeeded", Prop<string>(Assert.Single(fromAgent.Output), "Status"));
            Assert.Equal(["ran", "ran", "ran"], File.ReadAllLines(marker));

            // The agent logged three runs with the output's size and hash, never the output itself.
            var runs = pwsh.Run("param($a) Get-StewardAudit -Path $a -Verdict run", args).Output;
            Assert.Equal(3, runs.Count);
            Assert.All(runs, r => Assert.Equal((7L, "Succeeded"), (Prop<long>(r, "OutputBytes"), Prop<string>(r, "Status"))));
            Assert.DoesNotContain("body-42", File.ReadAllText(agentLog));
            Assert.Equal(3, pwsh.Run("param($c) Get-StewardAudit -Verdict sent -ConfigPath $c", args).Output.Count);
        }
        finally
        {
            agent.Stop();
            try { agent.EndInvoke(handle); } catch (PipelineStoppedException) { }
            agent.Dispose();
        }
    }

    [Fact]
    public void Bad_input_is_one_clear_error_each_and_good_lines_are_not_lost()
    {
        using var space = new StewardSpace(nats.Server.Url);
        var log = Path.Combine(space.Directory, "a.jsonl");
        File.WriteAllText(log, """
            {"messageId":"m1","time":"2026-01-01T00:00:00Z","verdict":"run","node":"com.acme.web1","method":"Ping"}
            {"messageId":"m2","time":
            {"messageId":"m3","time":"2026-01-02T00:00:00Z","verdict":"denied","node":"com.acme.web2","method":"Ping"}

            """);
        using var pwsh = new Pwsh();
        var read = pwsh.Run("param($p) Get-StewardAudit -Path $p", new Hashtable { ["p"] = log });
        Assert.Equal(["m1", "m3"], read.Output.Select(o => Prop<string>(o, "MessageId")));
        var bad = Assert.Single(read.Errors);
        Assert.Equal("RemoteOps.StewardAuditLineInvalid", bad.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Equal(ErrorCategory.InvalidData, bad.CategoryInfo.Category);
        Assert.Equal($"{log}:2", bad.TargetObject);

        var missing = pwsh.Run("param($p) Get-StewardAudit -Path $p", new Hashtable { ["p"] = log + ".none" });
        Assert.Equal("RemoteOps.StewardAuditNotFound", Assert.Single(missing.Errors).FullyQualifiedErrorId.Split(',')[0]);
        Assert.Equal(ErrorCategory.ObjectNotFound, missing.Errors[0].CategoryInfo.Category);

        var since = pwsh.Run("param($p) Get-StewardAudit -Path $p -Since 'the day before'", new Hashtable { ["p"] = log });
        Assert.Equal("RemoteOps.StewardInvalidArgument", Assert.Single(since.Errors).FullyQualifiedErrorId.Split(',')[0]);
        var pattern = pwsh.Run("param($p) Get-StewardAudit -Path $p -Node 'com.**.a'", new Hashtable { ["p"] = log });
        Assert.Equal("RemoteOps.StewardInvalidPattern", Assert.Single(pattern.Errors).FullyQualifiedErrorId.Split(',')[0]);
        Assert.Equal(["m3"], pwsh.Run("param($p) Get-StewardAudit -Path $p -Node 'com.acme.web2' -Since '2026-01-01T12:00:00Z'", new Hashtable { ["p"] = log })
            .Output.Select(o => Prop<string>(o, "MessageId")));
        // Files (as Get-ChildItem gives them) bind by FullName.
        Assert.Equal(2, pwsh.Run("param($p) [IO.FileInfo]::new($p) | Get-StewardAudit -ErrorAction SilentlyContinue", new Hashtable { ["p"] = log }).Output.Count);
    }
}
