using System.Collections;
using System.Management.Automation;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>NKey authentication from the imported module, where NATS.NKeys loads in the module's own context.</summary>
public class NKeyModuleTests
{
    // The user key pair of the NATS documentation's NKey authentication example.
    private const string Seed = "SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY";
    private const string Public = "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4";

    [Fact]
    public async Task A_config_with_nkey_seed_file_connects_to_a_server_that_requires_that_nkey()
    {
        await using var server = await NatsServer.StartAsync($"authorization {{ users = [ {{ nkey: \"{Public}\" }} ] }}", jetStream: false);
        using var dir = new TempDir();
        File.WriteAllText(dir.File("user.nk"), Seed + "\n");
        File.WriteAllText(dir.File("config.yaml"), $"servers: [{server.Url}]\nnkey_seed_file: user.nk\n");
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($p) (Get-RemoteOpsConfig -ConfigPath $p -TestConnection).Connection; Disconnect-RemoteOps -ConfigPath $p",
            new Hashtable { ["p"] = dir.File("config.yaml") });
        Assert.False(r.HadErrors, r.ErrorText);
        var connection = Assert.Single(r.Output);
        Assert.True((bool)connection.Properties["Connected"].Value);
    }
}
