using System.Collections;
using System.Management.Automation;
using System.Text;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>Signed entries: seaport.authorized, and corrupt, unsigned or forged values written straight into the bucket.</summary>
public class SeaportSecurityTests(RemaphoreServerFixture nats) : IClassFixture<RemaphoreServerFixture>
{
    private static Hashtable P(string config) => new() { ["c"] = config };

    private static List<string> Ids(PwshResult r) => r.Output.Select(o => (string)o.Properties["Id"].Value).ToList();

    [Fact]
    public void An_unauthorized_signer_is_rejected_and_reported_with_Verbose()
    {
        using var space = new SeaportSpace(nats.Server);
        var admin = new TestKeyPair();
        var (trusted, _) = space.Node("trusted", authorized: [admin.Public], key: admin);
        var (rogue, rogueKey) = space.Node("rogue"); // no authorized list of its own: it writes anyway
        var (rogueAware, _) = space.Node("rogue-aware", authorized: [admin.Public], key: rogueKey);
        using var pwsh = new Pwsh();

        var r = pwsh.Run("param($c) Register-SeaportService evil@1.0.0 -Id evil -ConfigPath $c", P(rogue));
        Assert.False(r.HadErrors, r.ErrorText);
        // A config that knows the authorized list refuses up front.
        var refused = pwsh.Run("param($c) Register-SeaportService evil@1.0.0 -ConfigPath $c", P(rogueAware));
        Assert.Equal("RemoteOps.SeaportRejected,RemoteOps.PowerShell.Cmdlets.RegisterSeaportServiceCommand", Assert.Single(refused.Errors).FullyQualifiedErrorId);

        var good = pwsh.Run("param($c) Register-SeaportService good@1.0.0 -Id good -ConfigPath $c", P(trusted));
        Assert.False(good.HadErrors, good.ErrorText);
        // The watch is ordered: once "good" is seen, "evil" (written before it) has been seen too.
        var all = pwsh.Run("param($c) Wait-SeaportService good -Timeout 10 -ConfigPath $c > $null; Get-SeaportService -ConfigPath $c", P(trusted), verbose: true);
        Assert.False(all.HadErrors, all.ErrorText);
        Assert.Equal(["good"], Ids(all));
        Assert.Contains(all.Verbose, v => v.Contains("s.evil") && v.Contains("not in seaport.authorized"));
        // Without an authorized list, the rogue's entry is as good as any.
        Assert.Equal(["evil", "good"], Ids(pwsh.Run("param($c) Get-SeaportService -ConfigPath $c", P(rogue))).Order());
        // The rogue cannot free or update the trusted entry in the eyes of the trusted config.
        var freeAttempt = pwsh.Run("param($c) Unregister-SeaportService good -ConfigPath $c", P(rogueAware));
        Assert.Contains("RemoteOps.SeaportRejected", Assert.Single(freeAttempt.Errors).FullyQualifiedErrorId);
    }

    [Fact]
    public async Task Corrupt_unsigned_and_forged_values_in_the_bucket_are_dropped_and_the_registry_stays_usable()
    {
        using var space = new SeaportSpace(nats.Server, heartbeat: "5s");
        var (config, _) = space.Node("a");
        using var pwsh = new Pwsh();
        var first = pwsh.Run("param($c) Register-SeaportService web@1.0.0 -Id victim -ConfigPath $c", P(config));
        Assert.False(first.HadErrors, first.ErrorText);

        var url = space.Url;
        var subject = $"$KV.{space.Bucket}.s.";
        await RawNats.PublishAsync(url, subject + "junk", "not an entry at all"u8.ToArray());
        await RawNats.PublishAsync(url, subject + "unsigned", Encoding.UTF8.GetBytes("{\"id\":\"unsigned\",\"name\":\"web\",\"version\":\"1.0.0\",\"host\":\"h\",\"port\":1,\"ports\":{},\"meta\":{},\"registered\":0,\"time\":0,\"timeout\":60000,\"signer\":\"x\",\"live\":true}"));
        await RawNats.PublishAsync(url, subject + "badsig", Encoding.UTF8.GetBytes("3yZe7d\n{\"id\":\"badsig\",\"name\":\"web\",\"version\":\"1.0.0\",\"host\":\"h\",\"port\":1,\"ports\":{},\"meta\":{},\"registered\":0,\"time\":0,\"timeout\":60000,\"signer\":\"x\",\"live\":true}"));
        // A forged overwrite of the live entry.
        await RawNats.PublishAsync(url, subject + "victim", "forged\n{}"u8.ToArray());

        var second = pwsh.Run("param($c) Register-SeaportService web@1.0.1 -Id after -ConfigPath $c", P(config));
        Assert.False(second.HadErrors, second.ErrorText);
        var all = pwsh.Run("param($c) Get-SeaportService web -ConfigPath $c", P(config), verbose: true);
        Assert.False(all.HadErrors, all.ErrorText);
        Assert.Equal(["after", "victim"], Ids(all).Order());
        Assert.Contains(all.Verbose, v => v.Contains("s.junk"));
        Assert.Contains(all.Verbose, v => v.Contains("s.unsigned"));
        Assert.Contains(all.Verbose, v => v.Contains("s.badsig"));
        pwsh.Run("param($c) Unregister-SeaportService victim, after -ConfigPath $c", P(config));
    }
}
