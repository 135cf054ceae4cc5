using System.Collections;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>A lost NATS server: new calls say so after a bounded wait instead of hanging, and work again once it is back.</summary>
public class FoundationReconnectTests
{
    [Fact]
    public async Task While_the_server_is_down_a_send_is_a_ConnectionError_and_after_its_restart_sends_work_again()
    {
        await using var server = await NatsServer.StartAsync();
        using var fleet = new RemaphoreFleet(server);
        var (a, _) = fleet.Pair();
        var p = new Hashtable { ["c"] = a.ConfigPath };
        using var pwsh = new Pwsh();
        var first = pwsh.Run("param($c) Send-Remaphore hello -ConfigPath $c", p);
        Assert.False(first.HadErrors, first.ErrorText);

        server.Kill();
        var down = pwsh.Run("param($c) Send-Remaphore hello -ConfigPath $c; 'after'", p);
        var error = Assert.Single(down.Errors);
        Assert.StartsWith("RemoteOps.ConnectionError", error.FullyQualifiedErrorId);
        Assert.Contains("reconnecting", error.ToString());

        await server.RestartAsync();
        var back = pwsh.Run("param($c) Send-Remaphore hello -ConfigPath $c", p);
        Assert.False(back.HadErrors, back.ErrorText);
        pwsh.Run("param($c) Disconnect-RemoteOps -ConfigPath $c", p);
    }
}
