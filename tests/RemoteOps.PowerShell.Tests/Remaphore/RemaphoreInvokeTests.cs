using System.Collections;
using System.Management.Automation;

namespace RemoteOps.PowerShell.Tests;

/// <summary>Invoke-Remaphore (request/response) with several responders, each a Wait-Remaphore in its own runspace.</summary>
public class RemaphoreInvokeTests(RemaphoreServerFixture nats) : IClassFixture<RemaphoreServerFixture>
{
    private static T Prop<T>(PSObject o, string name) => (T)o.Properties[name].Value;

    /// <summary>A requester with peers r1..r<paramref name="peers"/>, and running responders for the first <paramref name="running"/>:
    /// r1 runs a command (exit 2), r2 a script block with two lines of output, r3 nothing (NO_DATA).</summary>
    private static async Task<(RemaphoreNode Requester, List<BackgroundPwsh> Responders)> Setup(RemaphoreFleet fleet, int peers, int running, string waitArgs = "-Once -Timeout 60")
    {
        var kq = fleet.NewKey();
        var keys = Enumerable.Range(1, peers).Select(_ => fleet.NewKey()).ToList();
        var requester = fleet.Node("q", "com.test.q", keys.Select((k, i) => ($"com.test.r{i + 1}", k.Public, "\"*\"")), key: kq);
        var handlers = new[]
        {
            "-Command sh, -c, 'echo \"from r1: $1\"; exit 2'",
            "-ScriptBlock { 'line1'; \"line2 $($_.Payload)\" }",
            "",
        };
        var responders = new List<BackgroundPwsh>();
        for (int i = 0; i < running; i++)
        {
            var node = fleet.Node($"r{i + 1}", $"com.test.r{i + 1}", [("com.test.q", kq.Public, "status")], key: keys[i]);
            responders.Add(new BackgroundPwsh($"param($c) Wait-Remaphore -ConfigPath $c {waitArgs} {handlers[i % handlers.Length]}", new Hashtable { ["c"] = node.ConfigPath }));
        }
        await Task.WhenAll(responders.Select(r => r.Ready));
        return (requester, responders);
    }

    [Fact]
    public async Task Collects_one_verified_response_per_responder()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (q, responders) = await Setup(fleet, 3, 3);
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($c) Invoke-Remaphore hello -Verb status -Destination 'com.test.**' -Timeout 60 -ConfigPath $c", new Hashtable { ["c"] = q.ConfigPath });
        Assert.False(r.HadErrors, r.ErrorText);
        var byDest = r.Output.ToDictionary(o => Prop<string>(o, "Destination"));
        Assert.Equal(["com.test.r1", "com.test.r2", "com.test.r3"], byDest.Keys.Order());
        Assert.Equal(2, Prop<int?>(byDest["com.test.r1"], "ExitCode"));
        Assert.Equal("from r1: hello\n", Prop<string>(byDest["com.test.r1"], "Output"));
        Assert.Equal(0, Prop<int?>(byDest["com.test.r2"], "ExitCode"));
        Assert.Equal("line1\nline2 hello", Prop<string>(byDest["com.test.r2"], "Output"));
        Assert.Null(Prop<int?>(byDest["com.test.r3"], "ExitCode"));
        Assert.Equal("NO_DATA", Prop<string>(byDest["com.test.r3"], "Payload"));
        Assert.All(r.Output, o => Assert.True(Prop<TimeSpan>(o, "Elapsed") > TimeSpan.Zero));
        Assert.All(r.Output, o => Assert.Equal("RemoteOps.Remaphore.RemaphoreResponse", o.BaseObject.GetType().FullName));
        foreach (var w in responders)
        {
            Assert.NotEmpty(await w.CompletedAsync());
            Assert.Empty(w.Errors);
            w.Dispose();
        }
    }

    [Fact]
    public async Task AsText_writes_the_seed_lines_with_framing_never_interleaved()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (q, responders) = await Setup(fleet, 3, 3);
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($c) Invoke-Remaphore hi -Verb status -Timeout 60 -AsText -ConfigPath $c", new Hashtable { ["c"] = q.ConfigPath });
        Assert.False(r.HadErrors, r.ErrorText);
        var lines = r.Output.Select(o => (string)o.BaseObject).ToList();
        Assert.Contains("com.test.r1,2,from r1: hi", lines);
        Assert.Contains("com.test.r3,NO_DATA", lines);
        int open = lines.FindIndex(l => l.StartsWith("--> ", StringComparison.Ordinal));
        Assert.True(open >= 0, string.Join("\n", lines));
        var sep = lines[open][4..];
        Assert.Equal(32, sep.Length);
        Assert.Equal(["com.test.r2,0,line1", "line2 hi", "--< " + sep], lines.Skip(open + 1).Take(3));
        Assert.Equal(6, lines.Count);
        foreach (var w in responders) w.Dispose();
    }

    [Fact]
    public async Task Responders_that_do_not_answer_are_errors_and_the_others_are_written()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (q, responders) = await Setup(fleet, 4, 2);
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($c) Invoke-Remaphore -Verb status -Timeout 15s -ConfigPath $c; $?", new Hashtable { ["c"] = q.ConfigPath });
        Assert.Equal(2, r.Output.Count(o => o.BaseObject is not bool));
        Assert.False((bool)r.Output[^1].BaseObject);
        Assert.Equal(2, r.Errors.Count);
        Assert.All(r.Errors, e =>
        {
            Assert.StartsWith("RemoteOps.RemaphoreNoReply", e.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.OperationTimeout, e.CategoryInfo.Category);
        });
        Assert.Equal(["com.test.r3", "com.test.r4"], r.Errors.Select(e => (string)e.TargetObject).Order());
        foreach (var w in responders) w.Dispose();
    }

    [Fact]
    public async Task ExpectedResponder_narrows_who_is_waited_for()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (q, responders) = await Setup(fleet, 3, 1);
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($c) Invoke-Remaphore -Verb status -ExpectedResponder com.test.r1 -Timeout 60 -ConfigPath $c", new Hashtable { ["c"] = q.ConfigPath });
        Assert.False(r.HadErrors, r.ErrorText);
        Assert.Equal("com.test.r1", Prop<string>(Assert.Single(r.Output), "Destination"));
        foreach (var w in responders) w.Dispose();
    }

    [Fact]
    public void No_known_receivers_and_unknown_expected_responders_are_clear_errors()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var q = fleet.Node("q", "com.test.q", [("com.test.r1", fleet.NewKey().Public, "\"*\"")]);
        using var pwsh = new Pwsh();
        var none = pwsh.Run("param($c) Invoke-Remaphore -Destination org.nobody.** -ConfigPath $c", new Hashtable { ["c"] = q.ConfigPath });
        Assert.StartsWith("RemoteOps.RemaphoreInvalidArgument", Assert.Single(none.Errors).FullyQualifiedErrorId);
        Assert.Contains("No known receivers", none.ErrorText);
        var unknown = pwsh.Run("param($c) Invoke-Remaphore -ExpectedResponder com.test.zz -ConfigPath $c", new Hashtable { ["c"] = q.ConfigPath });
        Assert.StartsWith("RemoteOps.RemaphoreInvalidArgument", Assert.Single(unknown.Errors).FullyQualifiedErrorId);
        Assert.Contains("com.test.zz", unknown.ErrorText);
    }

    [Fact]
    public async Task Ctrl_C_stops_a_request()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (q, _) = await Setup(fleet, 1, 0);
        using var pwsh = new Pwsh();
        var (shell, handle) = pwsh.Begin("param($c) $VerbosePreference = 'Continue'; Invoke-Remaphore -Verb status -Timeout 1h -ConfigPath $c", new Hashtable { ["c"] = q.ConfigPath });
        var sent = new TaskCompletionSource();
        shell.Streams.Verbose.DataAdded += (_, e) => { if (shell.Streams.Verbose[e.Index].Message.StartsWith("Sent request")) sent.TrySetResult(); };
        if (shell.Streams.Verbose.Any(v => v.Message.StartsWith("Sent request"))) sent.TrySetResult();
        await sent.Task.WaitAsync(TimeSpan.FromSeconds(60));
        shell.Stop();
        Assert.Equal(PSInvocationState.Stopped, shell.InvocationStateInfo.State);
        shell.Dispose();
    }
}
