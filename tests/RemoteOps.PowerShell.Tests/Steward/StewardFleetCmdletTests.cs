using System.Collections;
using System.Management.Automation;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>The steward fleet cmdlets in the hosted runspace against a real nats-server: Get-StewardNode over a node
/// agent running Start-StewardNode in another runspace.</summary>
public class StewardFleetCmdletTests(RemaphoreServerFixture nats) : IClassFixture<RemaphoreServerFixture>
{
    private static T Prop<T>(PSObject o, string name) => (T)LanguagePrimitives.ConvertTo(o.Properties[name].Value, typeof(T));

    [Fact]
    public void Get_StewardNode_lists_a_running_agent_online_and_a_name_it_does_not_hold_is_NodeNotFound()
    {
        using var space = new StewardSpace(nats.Server.Url);
        var node = space.Node("com.acme.web1");
        var sender = space.Sender();
        using var agentShell = new Pwsh();
        var (agent, handle) = agentShell.Begin("param($c) Start-StewardNode -ConfigPath $c", new Hashtable { ["c"] = node });
        try
        {
            using var pwsh = new Pwsh();
            // The agent writes its hello when it starts: wait (bounded) until the registry holds it.
            var found = pwsh.Run("""
                param($c)
                $deadline = [DateTime]::UtcNow.AddSeconds(60)
                do { $n = @(Get-StewardNode -ConfigPath $c) } while ($n.Count -eq 0 -and [DateTime]::UtcNow -lt $deadline -and -not [Threading.Thread]::Sleep(50))
                $n
                """, new Hashtable { ["c"] = sender });
            Assert.False(found.HadErrors, found.ErrorText);
            var web1 = Assert.Single(found.Output);
            Assert.Equal("RemoteOps.Steward.StewardNode", web1.BaseObject.GetType().FullName);
            Assert.Equal("com.acme.web1", Prop<string>(web1, "Name"));
            Assert.Equal(space.Nodes["com.acme.web1"].Public, Prop<string>(web1, "PublicKey"));
            Assert.True(Prop<bool>(web1, "Online"));
            Assert.NotEmpty(Prop<string>(web1, "Version"));
            // The agent runs in the module: the module's version travels too.
            Assert.NotEmpty(Prop<string>(web1, "ModuleVersion"));
            Assert.NotEmpty(Prop<string>(web1, "Architecture"));

            Assert.Empty(pwsh.Run("param($c) Get-StewardNode -Stale -ConfigPath $c", new Hashtable { ["c"] = sender }).Output);
            Assert.Single(pwsh.Run("param($c) Get-StewardNode 'com.acme.*' -ConfigPath $c", new Hashtable { ["c"] = sender }).Output);

            var missing = pwsh.Run("param($c) Get-StewardNode com.acme.nobody -ConfigPath $c", new Hashtable { ["c"] = sender });
            var error = Assert.Single(missing.Errors);
            Assert.Equal("RemoteOps.StewardNodeNotFound", error.FullyQualifiedErrorId.Split(',')[0]);
            Assert.Equal(ErrorCategory.ObjectNotFound, error.CategoryInfo.Category);
            Assert.Equal("com.acme.nobody", error.TargetObject);
            var bad = pwsh.Run("param($c) Get-StewardNode 'com.**.a' -ConfigPath $c", new Hashtable { ["c"] = sender });
            Assert.Equal("RemoteOps.StewardInvalidPattern", Assert.Single(bad.Errors).FullyQualifiedErrorId.Split(',')[0]);
        }
        finally
        {
            // Ctrl+C: the agent stops and the runspace's pipeline ends.
            agent.Stop();
            try { agent.EndInvoke(handle); } catch (PipelineStoppedException) { }
            agent.Dispose();
        }
    }

    [Fact]
    public void Get_StewardError_reads_what_central_logged_and_Follow_streams_until_stopped()
    {
        using var space = new StewardSpace(nats.Server.Url);
        // The node is steward.central for itself and the sender; it serves no method, so a command is Denied and logged.
        var node = space.Node("com.acme.web1");
        File.AppendAllText(node, "  central: com.acme.web1\n");
        var sender = space.Sender(extra: "  central: com.acme.web1\n");
        using var agentShell = new Pwsh();
        var (agent, handle) = agentShell.Begin("param($c) Start-StewardNode -ConfigPath $c", new Hashtable { ["c"] = node });
        try
        {
            using var pwsh = new Pwsh();
            using var follower = new Pwsh();
            using var follow = System.Management.Automation.PowerShell.Create(follower.Runspace);
            follow.AddScript("param($c) Get-StewardError -Follow -Since 1h -ConfigPath $c").AddParameters(new Hashtable { ["c"] = sender });
            var followed = new PSDataCollection<PSObject>();
            var followHandle = follow.BeginInvoke<PSObject, PSObject>(null, followed);
                var sent = pwsh.Run("param($c) Invoke-StewardMethod com.acme.web1 CliCommand true -AckTimeout 30 -ConfigPath $c", new Hashtable { ["c"] = sender });
                Assert.Equal("RemoteOps.StewardDenied", Assert.Single(sent.Errors).FullyQualifiedErrorId.Split(',')[0]);
                var id = Prop<string>(Assert.Single(sent.Output), "MessageId");

                var read = pwsh.Run("""
                    param($c, $id)
                    $deadline = [DateTime]::UtcNow.AddSeconds(60)
                    do { $e = @(Get-StewardError -Node 'com.acme.*' -ConfigPath $c | Where-Object MessageId -eq $id) } while ($e.Count -eq 0 -and [DateTime]::UtcNow -lt $deadline -and -not [Threading.Thread]::Sleep(50))
                    $e
                    """, new Hashtable { ["c"] = sender, ["id"] = id });
                Assert.False(read.HadErrors, read.ErrorText);
                var error = Assert.Single(read.Output);
                Assert.Equal("RemoteOps.Steward.StewardError", error.BaseObject.GetType().FullName);
                Assert.Equal(("com.acme.web1", "CliCommand", "Denied"), (Prop<string>(error, "Node"), Prop<string>(error, "Method"), Prop<string>(error, "Kind")));
                Assert.Empty(pwsh.Run("param($c) Get-StewardError -Node com.acme.other -ConfigPath $c", new Hashtable { ["c"] = sender }).Output);

                // The follower saw it too, and stops on Ctrl+C.
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
                while (follow.InvocationStateInfo.State == PSInvocationState.Running && DateTime.UtcNow < deadline
                       && !followed.ToArray().Any(o => Prop<string>(o, "MessageId") == id))
                    Thread.Sleep(20);
                Assert.Contains(followed.ToArray(), o => Prop<string>(o, "MessageId") == id);
                Assert.Equal(PSInvocationState.Running, follow.InvocationStateInfo.State);
                follow.Stop();
                try { follow.EndInvoke(followHandle); } catch (PipelineStoppedException) { }
                Assert.Equal(PSInvocationState.Stopped, follow.InvocationStateInfo.State);
        }
        finally
        {
            agent.Stop();
            try { agent.EndInvoke(handle); } catch (PipelineStoppedException) { }
            agent.Dispose();
        }
    }

    [Fact]
    public void Get_StewardNode_against_an_unreachable_server_is_StewardUnavailable()
    {
        using var space = new StewardSpace($"nats://127.0.0.1:{NatsServer.FreePort()}");
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($c) Get-StewardNode -ConfigPath $c", new Hashtable { ["c"] = space.Sender() });
        var error = Assert.Single(r.Errors);
        Assert.Equal("RemoteOps.StewardUnavailable", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Equal(ErrorCategory.ConnectionError, error.CategoryInfo.Category);
    }
}
