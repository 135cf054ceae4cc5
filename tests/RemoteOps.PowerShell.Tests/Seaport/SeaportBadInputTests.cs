using System.Collections;
using System.Management.Automation;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>Bad input: each a clear error with a stable id, and the registry stays usable.</summary>
public class SeaportBadInputTests(RemaphoreServerFixture nats) : IClassFixture<RemaphoreServerFixture>
{
    private static Hashtable P(string config, object? x = null) => new() { ["c"] = config, ["x"] = x };

    private static string Id(PwshResult r) => Assert.Single(r.Errors).FullyQualifiedErrorId;

    [Theory]
    [InlineData("")]
    [InlineData("@1.0.0")]
    [InlineData("web@")]
    [InlineData("web@notsemver")]
    [InlineData("web@1.2")]
    [InlineData("we b@1.0.0")]
    [InlineData("web@1.0.0@2")]
    public void A_malformed_role_is_a_parameter_error(string role)
    {
        using var space = new SeaportSpace(nats.Server);
        var (config, _) = space.Node("a");
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($c, $x) Register-SeaportService -Role $x -ConfigPath $c", P(config, role));
        Assert.StartsWith("ParameterArgumentValidationError", Id(r));
        Assert.DoesNotContain("   at ", r.Errors[0].ToString());
    }

    [Theory]
    [InlineData("web@^^1")]
    [InlineData("web@1.x.y.z")]
    [InlineData("w eb")]
    public void A_malformed_pattern_is_a_parameter_error(string pattern)
    {
        using var space = new SeaportSpace(nats.Server);
        var (config, _) = space.Node("a");
        using var pwsh = new Pwsh();
        Assert.StartsWith("ParameterArgumentValidationError", Id(pwsh.Run("param($c, $x) Get-SeaportService $x -ConfigPath $c", P(config, pattern))));
        Assert.StartsWith("ParameterArgumentValidationError", Id(pwsh.Run("param($c, $x) Wait-SeaportService $x -Timeout 1 -ConfigPath $c", P(config, pattern))));
    }

    [Fact]
    public void Bad_ranges_ports_and_ids_are_clear_errors_and_the_registry_stays_usable()
    {
        using var space = new SeaportSpace(nats.Server);
        var (config, _) = space.Node("a");
        using var pwsh = new Pwsh();
        Assert.StartsWith("ParameterArgumentValidationError", Id(pwsh.Run("param($c) Register-SeaportService web@1.0.0 -Range @() -ConfigPath $c", P(config))));
        Assert.StartsWith("ParameterArgumentValidationError", Id(pwsh.Run("param($c) Register-SeaportService web@1.0.0 -Range 20000 -ConfigPath $c", P(config))));
        var inverted = pwsh.Run("param($c) Register-SeaportService web@1.0.0 -Range 30000,20000 -ConfigPath $c", P(config));
        Assert.StartsWith("RemoteOps.SeaportInvalidArgument", Id(inverted));
        Assert.Contains("inverted", inverted.Errors[0].ToString());
        Assert.StartsWith("RemoteOps.SeaportInvalidArgument", Id(pwsh.Run("param($c) Register-SeaportService web@1.0.0 -Range 0,70000 -ConfigPath $c", P(config))));
        Assert.StartsWith("ParameterArgumentValidationError", Id(pwsh.Run("param($c) Register-SeaportService web@1.0.0 -Port 0 -ConfigPath $c", P(config))));
        Assert.StartsWith("ParameterArgumentValidationError", Id(pwsh.Run("param($c) Register-SeaportService web@1.0.0 -Port 70000 -ConfigPath $c", P(config))));
        Assert.StartsWith("RemoteOps.SeaportInvalidArgument", Id(pwsh.Run("param($c) Register-SeaportService web@1.0.0 -Id 'a.b' -ConfigPath $c", P(config))));
        Assert.StartsWith("RemoteOps.SeaportInvalidArgument", Id(pwsh.Run("param($c) Register-SeaportService web@1.0.0 -PortName http,http -ConfigPath $c", P(config))));
        Assert.StartsWith("RemoteOps.SeaportNotFound", Id(pwsh.Run("param($c) Unregister-SeaportService nosuch -ConfigPath $c", P(config))));
        Assert.StartsWith("RemoteOps.SeaportNotFound", Id(pwsh.Run("param($c) Set-SeaportService nosuch -Meta @{ a = 1 } -ConfigPath $c", P(config))));

        var ok = pwsh.Run("param($c) Register-SeaportService web@1.0.0 -ConfigPath $c", P(config));
        Assert.False(ok.HadErrors, ok.ErrorText);
        Assert.Single(pwsh.Run("param($c) Get-SeaportService web -ConfigPath $c", P(config)).Output);
    }

    [Fact]
    public void A_port_already_in_use_is_a_conflict_unless_the_service_already_listens_there()
    {
        using var space = new SeaportSpace(nats.Server);
        var (config, _) = space.Node("a");
        using var pwsh = new Pwsh();
        var held = pwsh.Run("param($c) Register-SeaportService web@1.0.0 -Range 25000,25099 -ConfigPath $c", P(config));
        Assert.False(held.HadErrors, held.ErrorText);
        var port = (int)held.Output[0].Properties["Port"].Value;
        var twice = pwsh.Run("param($c, $x) Register-SeaportService api@1.0.0 -Port $x -ConfigPath $c", P(config, port));
        Assert.StartsWith("RemoteOps.SeaportConflict", Id(twice));

        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var bound = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var busy = pwsh.Run("param($c, $x) Register-SeaportService api@1.0.0 -Port $x -ConfigPath $c", P(config, bound));
        Assert.StartsWith("RemoteOps.SeaportConflict", Id(busy));
        Assert.Contains("-AlreadyListening", busy.Errors[0].ToString());
        var listening = pwsh.Run("param($c, $x) Register-SeaportService api@1.0.0 -Port $x -AlreadyListening -ConfigPath $c", P(config, bound));
        Assert.False(listening.HadErrors, listening.ErrorText);
        Assert.Equal(bound, (int)listening.Output[0].Properties["Port"].Value);
    }

    [Fact]
    public async Task Missing_JetStream_and_an_unreachable_server_are_SeaportUnavailable_not_no_matches()
    {
        await using var plain = await NatsServer.StartAsync(jetStream: false);
        using var space = new SeaportSpace(plain);
        var (config, _) = space.Node("a");
        using var pwsh = new Pwsh();
        var get = pwsh.Run("param($c) Get-SeaportService -ConfigPath $c", P(config));
        Assert.StartsWith("RemoteOps.SeaportUnavailable", Id(get));
        Assert.Contains("JetStream", get.Errors[0].ToString());
        Assert.Equal(ErrorCategory.ConnectionError, get.Errors[0].CategoryInfo.Category);

        using var dead = new SeaportSpace($"nats://127.0.0.1:{NatsServer.FreePort()}");
        var (deadConfig, _) = dead.Node("b");
        var unreachable = pwsh.Run("param($c) Get-SeaportService -ConfigPath $c", P(deadConfig));
        Assert.StartsWith("RemoteOps.SeaportUnavailable", Id(unreachable));
    }

    [Fact]
    public void Wait_timing_out_is_an_OperationTimeout_error_so_and_chains_stop()
    {
        using var space = new SeaportSpace(nats.Server);
        var (config, _) = space.Node("a");
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($c) Wait-SeaportService nobody -Timeout 200ms -ConfigPath $c && 'next'", P(config));
        Assert.StartsWith("RemoteOps.SeaportTimeout", Id(r));
        Assert.Equal(ErrorCategory.OperationTimeout, r.Errors[0].CategoryInfo.Category);
        Assert.Empty(r.Output);
        var quiet = pwsh.Run("param($c) Watch-SeaportService nobody -Timeout 200ms -ConfigPath $c; 'after'", P(config));
        Assert.False(quiet.HadErrors, quiet.ErrorText);
        Assert.Equal("after", Assert.Single(quiet.Output).ToString());
    }

    [Fact]
    public async Task Ctrl_C_stops_Wait_and_Watch_at_once()
    {
        using var space = new SeaportSpace(nats.Server);
        var (config, _) = space.Node("a");
        using var pwsh = new Pwsh();
        foreach (var script in new[] { "param($c) Wait-SeaportService nobody -Verbose -ConfigPath $c", "param($c) Watch-SeaportService -Verbose -ConfigPath $c" })
        {
            using var s = new Streaming(pwsh, script, P(config));
            await s.NextVerbose(v => v.StartsWith("Waiting for") || v.StartsWith("Watching"));
            Assert.Equal(PSInvocationState.Running, s.Shell.InvocationStateInfo.State);
            await Task.Run(s.Shell.Stop).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(PSInvocationState.Stopped, s.Shell.InvocationStateInfo.State);
        }
    }
}
