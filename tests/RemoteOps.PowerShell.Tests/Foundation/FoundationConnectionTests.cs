using System.Collections;
using System.Management.Automation;
using System.Net.Http;
using System.Text.Json;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>A nats-server with its HTTP monitoring port open, so tests can count the connections it has.</summary>
public sealed class MonitoredServerFixture : IAsyncLifetime
{
    public NatsServer Server { get; private set; } = null!;
    public int MonitorPort { get; } = NatsServer.FreePort();

    public async Task InitializeAsync() => Server = await NatsServer.StartAsync($"http: 127.0.0.1:{MonitorPort}");
    public Task DisposeAsync() { Server.Dispose(); return Task.CompletedTask; }

    /// <summary>Client connections whose name is <paramref name="name"/>, from /connz.</summary>
    public async Task<int> ConnectionsNamedAsync(string name)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var json = await http.GetStringAsync($"http://127.0.0.1:{MonitorPort}/connz?limit=1024");
        using var doc = JsonDocument.Parse(json);
        if (!doc.RootElement.TryGetProperty("connections", out var connections) || connections.ValueKind != JsonValueKind.Array) return 0;
        return connections.EnumerateArray().Count(c => c.TryGetProperty("name", out var n) && n.GetString() == name);
    }
}

[Collection(DisconnectsEverything.Name)]
public class FoundationConnectionTests(MonitoredServerFixture fixture) : IClassFixture<MonitoredServerFixture>
{
    [Fact]
    public async Task One_connection_per_config_is_reused_across_cmdlet_calls_until_Disconnect()
    {
        using var dir = new TempDir();
        using var pwsh = new Pwsh();
        var config = dir.File("config.yaml");
        File.WriteAllText(config, $"servers: [{fixture.Server.Url}]\n");
        var args = new Hashtable { ["p"] = config };

        Assert.Equal(0, await fixture.ConnectionsNamedAsync("RemoteOps"));
        var r = pwsh.Run("param($p) 1..200 | ForEach-Object { (Get-RemoteOpsConfig -ConfigPath $p -TestConnection).Connection }", args);
        Assert.False(r.HadErrors, r.ErrorText);
        Assert.Equal(200, r.Output.Count);
        Assert.All(r.Output, o => Assert.True((bool)o.Properties["Connected"].Value));
        var first = r.Output[0];
        Assert.True((bool)first.Properties["JetStream"].Value);
        Assert.False(string.IsNullOrEmpty((string)first.Properties["ServerVersion"].Value));
        // 200 calls, one connection on the server.
        Assert.Equal(1, await fixture.ConnectionsNamedAsync("RemoteOps"));

        // Another runspace of the same process (another session in one pwsh) shares it too.
        using (var second = new Pwsh())
        {
            var again = second.Run("param($p) Get-RemoteOpsConfig -ConfigPath $p -TestConnection", args);
            Assert.False(again.HadErrors, again.ErrorText);
        }
        Assert.Equal(1, await fixture.ConnectionsNamedAsync("RemoteOps"));

        var d = pwsh.Run("param($p) Disconnect-RemoteOps -ConfigPath $p -Verbose", args);
        Assert.False(d.HadErrors, d.ErrorText);
        Assert.Contains("Closed 1 NATS connection(s).", d.Verbose);
        await WaitForConnectionsAsync(0);

        // The next call connects afresh, once.
        Assert.False(pwsh.Run("param($p) 1..5 | ForEach-Object { Get-RemoteOpsConfig -ConfigPath $p -TestConnection }", args).HadErrors);
        Assert.Equal(1, await fixture.ConnectionsNamedAsync("RemoteOps"));
        Assert.False(pwsh.Run("Disconnect-RemoteOps -All").HadErrors);
        await WaitForConnectionsAsync(0);
    }

    /// <summary>The server notices a closed connection asynchronously; poll /connz (bounded) until it has.</summary>
    private async Task WaitForConnectionsAsync(int expected)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        int count;
        while ((count = await fixture.ConnectionsNamedAsync("RemoteOps")) != expected)
        {
            timeout.Token.ThrowIfCancellationRequested();
            await Task.Yield();
        }
        Assert.Equal(expected, count);
    }

    [Fact]
    public void An_unreachable_server_is_a_connection_error_and_the_config_is_still_shown()
    {
        using var dir = new TempDir();
        using var pwsh = new Pwsh();
        var config = dir.File("config.yaml");
        File.WriteAllText(config, $"servers: [nats://127.0.0.1:{NatsServer.FreePort()}]\n");
        var r = pwsh.Run("param($p) Get-RemoteOpsConfig -ConfigPath $p -TestConnection", new Hashtable { ["p"] = config });
        var error = Assert.Single(r.Errors);
        Assert.StartsWith("RemoteOps.ConnectionError,", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ConnectionError, error.CategoryInfo.Category);
        var connection = PSObject.AsPSObject(Assert.Single(r.Output).Properties["Connection"].Value);
        Assert.False((bool)connection.Properties["Connected"].Value);
        Assert.Contains("Cannot connect", (string)connection.Properties["Error"].Value);
    }
}
