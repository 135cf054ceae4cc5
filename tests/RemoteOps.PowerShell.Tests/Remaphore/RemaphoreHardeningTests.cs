using System.Collections;
using System.Management.Automation;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>Bad parameters as a user types them: one clear ErrorRecord with remaphore's ids, nothing sent, the session's
/// connection undisturbed; and a replay refused whatever allow_skew is.</summary>
public class RemaphoreHardeningTests(RemaphoreServerFixture nats) : IClassFixture<RemaphoreServerFixture>
{
    [Fact]
    public async Task A_genuine_message_published_twice_is_acted_on_once_even_with_the_largest_allow_skew()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var ka = fleet.NewKey();
        var kb = fleet.NewKey();
        // The largest allow_skew the config takes (24h; 100000d, where the replay guard's expiry once wrapped, is now
        // refused at load, and the guard's own arithmetic saturates: ReplayGuardTests).
        var b = fleet.Node("b", "com.test.b", [("com.test.a", ka.Public, "\"*\"")], key: kb, allowSkew: "24h");
        var marker = Path.Combine(fleet.Directory, "acted");
        // The wait ends at the second message taken: "last" if the replay was refused, the genuine message again if not.
        using var waiter = new BackgroundPwsh(
            "param($c, $m) $n = 0; :wait do { Wait-Remaphore -ConfigPath $c -Timeout 60 -Command sh, -c, 'echo \"$2\" >> \"$0\"', $m | " +
            "ForEach-Object { $_; if (++$n -eq 2) { break wait } } } while ($false)",
            new Hashtable { ["c"] = b.ConfigPath, ["m"] = marker });
        await waiter.Ready;

        var genuine = TestWire.Message(ka, "com.test.b", "ping", "genuine", "u1");
        await fleet.PublishRawAsync(genuine, genuine);
        await fleet.PublishRawAsync(TestWire.Message(ka, "com.test.b", "ping", "last", "u2"));

        var output = await waiter.CompletedAsync();
        Assert.Empty(waiter.Errors);
        Assert.Equal(["genuine", "last"], output.Select(o => (string)o.Properties["Payload"].Value));
        Assert.Equal(["genuine", "last"], File.ReadAllLines(marker));
        Assert.Single(waiter.Verbose, v => v.StartsWith("Dropped", StringComparison.Ordinal) && v.Contains("replay"));
    }

    public static TheoryData<string, string, string> BadParameters => new()
    {
        // script, error id, what the message says
        { "Wait-Remaphore -Sender 'é' -Timeout 30 -ConfigPath $c", "RemoteOps.RemaphoreInvalidArgument", "is not an Ed25519 public key" },
        { "Send-Remaphore -Verb 'a b' -ConfigPath $c", "RemoteOps.RemaphoreInvalidArgument", "white space" },
        { "Invoke-Remaphore -Verb 'a b' -Timeout 1 -ConfigPath $c", "RemoteOps.RemaphoreInvalidArgument", "white space" },
        { "Wait-Remaphore -Verb 'a b' -Timeout 30 -ConfigPath $c", "RemoteOps.RemaphoreInvalidArgument", "white space" },
        { "New-RemoteOpsIdentity -Verb 'a b'", "RemoteOps.InvalidVerb", "white space" },
        { "Send-Remaphore -Subject ('x' * 5000) -ConfigPath $c", "RemoteOps.RemaphoreInvalidArgument", "-Subject is too long" },
        { "Invoke-Remaphore -Subject ('x' * 5000) -Timeout 1 -ConfigPath $c", "RemoteOps.RemaphoreInvalidArgument", "-Subject is too long" },
        { "Wait-Remaphore -Subject ('x' * 5000) -Timeout 30 -ConfigPath $c", "RemoteOps.RemaphoreInvalidArgument", "-Subject is too long" },
        { "Wait-Remaphore -Command /no/such/program -Timeout 30 -ConfigPath $c", "RemoteOps.RemaphoreCommandFailed", "does not exist" },
    };

    [Theory]
    [MemberData(nameof(BadParameters))]
    public async Task A_bad_parameter_is_one_clear_error_and_the_session_carries_on(string script, string errorId, string says)
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var self = fleet.NewKey();
        var node = fleet.Node("self", "com.test.self", [("com.test.self", self.Public, "\"*\"")], key: self);
        using var pwsh = new Pwsh();
        var p = new Hashtable { ["c"] = node.ConfigPath };
        // The session's connection exists before the bad call: it must still be the one that works after it.
        Assert.False(pwsh.Run("param($c) Send-Remaphore warm -ConfigPath $c", p).HadErrors);

        var r = pwsh.Run("param($c) " + script, p);
        var error = Assert.Single(r.Errors);
        Assert.Equal(errorId, error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains(says, error.Exception.Message);
        Assert.IsNotType<RuntimeException>(error.Exception);
        Assert.Empty(r.Output);

        using var waiter = new BackgroundPwsh("param($c) Wait-Remaphore -Uuid after -Timeout 60 -ConfigPath $c", new Hashtable { ["c"] = node.ConfigPath });
        await waiter.Ready;
        var sent = pwsh.Run("param($c) Send-Remaphore after -Uuid after -Destination com.test.self -ConfigPath $c -PassThru", p);
        Assert.False(sent.HadErrors, sent.ErrorText);
        var got = Assert.Single(await waiter.CompletedAsync());
        Assert.Equal("after", got.Properties["Payload"].Value);
    }

    [Fact]
    public void A_good_command_is_still_found_in_PATH_and_run()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var self = fleet.NewKey();
        var node = fleet.Node("self", "com.test.self", [("com.test.self", self.Public, "\"*\"")], key: self);
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($c) Send-Remaphore -Uuid cmd -Latch -Destination com.test.self -ConfigPath $c; Wait-Remaphore -Uuid cmd -Timeout 60 -Command echo -ConfigPath $c",
            new Hashtable { ["c"] = node.ConfigPath });
        Assert.False(r.HadErrors, r.ErrorText);
        Assert.Equal(0, Assert.Single(r.Output).Properties["ExitCode"].Value);
    }
}
