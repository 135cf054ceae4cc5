using System.Collections;
using System.Management.Automation;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>Register, query, wait, free, watch and set through the hosted runspace, as a user's session runs them.</summary>
public class SeaportCmdletTests(RemaphoreServerFixture nats) : IClassFixture<RemaphoreServerFixture>
{
    private static T Prop<T>(PSObject o, string name) => (T)LanguagePrimitives.ConvertTo(o.Properties[name].Value, typeof(T));

    [Fact]
    public void Register_assigns_a_port_in_range_and_Get_finds_it_by_name_and_semver_range()
    {
        // A timeout far past the heartbeat: this is about assignment and queries, not expiry (at the default 600 ms a
        // stalled heartbeat on a busy test host let the entry lapse between two queries).
        using var space = new SeaportSpace(nats.Server, timeout: "30s");
        var (config, key) = space.Node("a");
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($c) Register-SeaportService web@1.2.3 -Meta @{ zone = 'eu' } -ConfigPath $c", new Hashtable { ["c"] = config });
        Assert.False(r.HadErrors, r.ErrorText);
        var svc = Assert.Single(r.Output);
        Assert.Equal("RemoteOps.Seaport.SeaportService", svc.BaseObject.GetType().FullName);
        var port = Prop<int>(svc, "Port");
        Assert.InRange(port, 20000, 32767);
        Assert.Equal("web", Prop<string>(svc, "Name"));
        Assert.Equal("1.2.3", Prop<string>(svc, "Version"));
        Assert.Equal(key.Public, Prop<string>(svc, "Signer"));
        Assert.Equal(System.Net.Dns.GetHostName(), Prop<string>(svc, "HostName"));

        foreach (var pattern in new[] { "web", "web@1.2.x", "web@^1.2", "web@~1.2.0", "web@>=1 <2", "*", "we*" })
        {
            var q = pwsh.Run("param($c, $p) Get-SeaportService $p -ConfigPath $c", new Hashtable { ["c"] = config, ["p"] = pattern });
            Assert.False(q.HadErrors, q.ErrorText);
            var found = Assert.Single(q.Output);
            Assert.Equal(port, Prop<int>(found, "Port"));
            Assert.Equal("eu", ((IDictionary)found.Properties["Meta"].Value)["zone"]);
        }
        foreach (var pattern in new[] { "web@2.x", "web@~0.1.3", "web@<1", "api" })
        {
            var q = pwsh.Run("param($c, $p) Get-SeaportService $p -ConfigPath $c", new Hashtable { ["c"] = config, ["p"] = pattern });
            Assert.False(q.HadErrors, q.ErrorText);
            Assert.Empty(q.Output);
        }
    }

    [Fact]
    public void Another_session_sees_the_registration_and_Unregister_by_pipeline_frees_it()
    {
        using var space = new SeaportSpace(nats.Server);
        var (config, _) = space.Node("a");
        using var owner = new Pwsh();
        using var other = new Pwsh();
        var r = owner.Run("param($c) Register-SeaportService api@0.1.3 -PortName http,metrics -ConfigPath $c", new Hashtable { ["c"] = config });
        Assert.False(r.HadErrors, r.ErrorText);
        var ports = (IDictionary)r.Output[0].Properties["Ports"].Value;
        Assert.Equal(2, ports.Count);
        Assert.NotEqual(ports["http"], ports["metrics"]);

        var q = other.Run("param($c) Wait-SeaportService api@~0.1.3 -Timeout 10 -ConfigPath $c", new Hashtable { ["c"] = config });
        Assert.False(q.HadErrors, q.ErrorText);
        Assert.Single(q.Output);

        var whatIf = other.Run("param($c) Get-SeaportService api -ConfigPath $c | Unregister-SeaportService -WhatIf -ConfigPath $c", new Hashtable { ["c"] = config });
        Assert.False(whatIf.HadErrors, whatIf.ErrorText);
        Assert.Single(other.Run("param($c) Get-SeaportService api -ConfigPath $c", new Hashtable { ["c"] = config }).Output);

        var free = other.Run("param($c) Get-SeaportService api -ConfigPath $c | Unregister-SeaportService -PassThru -ConfigPath $c", new Hashtable { ["c"] = config });
        Assert.False(free.HadErrors, free.ErrorText);
        Assert.Single(free.Output);
        Assert.Empty(other.Run("param($c) Get-SeaportService api -ConfigPath $c", new Hashtable { ["c"] = config }).Output);
        Assert.Empty(owner.Run("param($c) Get-SeaportService api -ConfigPath $c", new Hashtable { ["c"] = config }).Output);
    }
}
