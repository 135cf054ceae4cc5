using System.Collections;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>The NATS permissions the README documents (examples/seaport/nats-permissions.conf), on a real server:
/// registrars write, readers only read.</summary>
public class SeaportPermissionTests
{
    private static string Config(TempDir dir, NatsServer server, string name, string user, string password, TestKeyPair key)
    {
        var path = dir.File(name + ".yaml");
        File.WriteAllText(path, $"""
            servers: [{server.Url}]
            user: {user}
            password: {password}
            default_identity: {key.Public}
            identities:
              - public: {key.Public}
                private: {key.Private}
                verbs: ["*"]
            seaport:
              bucket: seaport
              heartbeat: 1s
            """);
        return path;
    }

    [Fact]
    public async Task A_reader_can_query_wait_and_watch_but_not_register_or_free()
    {
        var permissions = File.ReadAllText(Path.Combine(Repo.Root, "examples", "seaport", "nats-permissions.conf"));
        await using var server = await NatsServer.StartAsync(permissions);
        using var dir = new TempDir();
        var registrar = Config(dir, server, "registrar", "registrar", "registrar-secret", new TestKeyPair());
        var reader = Config(dir, server, "reader", "reader", "reader-secret", new TestKeyPair());
        using var pwsh = new Pwsh();

        var reg = pwsh.Run("param($c) Register-SeaportService web@1.0.0 -Id web1 -ConfigPath $c", new Hashtable { ["c"] = registrar });
        Assert.False(reg.HadErrors, reg.ErrorText);
        var own = pwsh.Run("param($c) Get-SeaportService web -ConfigPath $c", new Hashtable { ["c"] = registrar }, verbose: true);
        Assert.True(own.Output.Count == 1, "registrar does not see its own entry: " + own.ErrorText + string.Join("\n", own.Verbose));

        var read = pwsh.Run("param($c) Wait-SeaportService web -Timeout 20 -ConfigPath $c; Get-SeaportService web@1.x -ConfigPath $c; Watch-SeaportService web -Existing -Timeout 1 -ConfigPath $c",
            new Hashtable { ["c"] = reader });
        Assert.False(read.HadErrors, read.ErrorText);
        Assert.Equal(3, read.Output.Count); // Wait, Get, and the watch's Registered

        var denied = pwsh.Run("param($c) Register-SeaportService evil@1.0.0 -ConfigPath $c", new Hashtable { ["c"] = reader });
        Assert.True(denied.HadErrors);
        var free = pwsh.Run("param($c) Unregister-SeaportService web1 -ConfigPath $c", new Hashtable { ["c"] = reader });
        Assert.True(free.HadErrors);
        Assert.Contains("may not write to the bucket", denied.ErrorText);
        // The failed free changed nothing: the registration is still there, and still kept alive.
        Assert.Single(pwsh.Run("param($c) Get-SeaportService web -ConfigPath $c", new Hashtable { ["c"] = registrar }).Output);
        Assert.False(pwsh.Run("param($c) Unregister-SeaportService web1 -ConfigPath $c", new Hashtable { ["c"] = registrar }).HadErrors);
    }
}
