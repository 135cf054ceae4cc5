using System.Collections;
using System.Diagnostics;
using System.Management.Automation;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>What a PowerShell user expects of the module: Tab completion (TabExpansion2), default views, -WhatIf texts
/// that say what would change, New-RemoteOpsConfig's typed output, dev servers left by earlier sessions.</summary>
public class UserExperienceTests(RemaphoreServerFixture nats) : IClassFixture<RemaphoreServerFixture>
{
    private static T Prop<T>(PSObject o, string name) => (T)o.Properties[name].Value;

    /// <summary>The completion texts TabExpansion2 offers for <paramref name="line"/> (cursor at the end), and their tooltips.</summary>
    private static (List<string> Texts, List<string> ToolTips) Complete(Pwsh pwsh, string line)
    {
        var r = pwsh.Run("param($line) $c = TabExpansion2 -inputScript $line -cursorColumn $line.Length; $c.CompletionMatches | ForEach-Object { $_.CompletionText + \"`t\" + $_.ToolTip }",
            new Hashtable { ["line"] = line });
        Assert.False(r.HadErrors, r.ErrorText);
        var pairs = r.Output.Select(o => o.ToString().Split('\t', 2)).ToList();
        return (pairs.Select(p => p[0]).ToList(), pairs.Select(p => p.Length > 1 ? p[1] : "").ToList());
    }

    [Fact]
    public void Remaphore_parameters_complete_from_the_config_named_by_ConfigPath()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var kb = fleet.NewKey();
        var a = fleet.Node("a", "com.test.a", [("com.test.b", kb.Public, "deploy, restart"), ("org.other.c", kb.Public, "ping")], identityVerbs: "upload_done, ping");
        using var pwsh = new Pwsh();
        var c = a.ConfigPath;

        var (verbs, verbTips) = Complete(pwsh, $"Send-Remaphore -ConfigPath '{c}' -Verb ");
        Assert.Equal(["deploy", "ping", "restart", "upload_done"], verbs);
        Assert.DoesNotContain(verbs, v => v.Contains('/') || v.Contains('.')); // not file names
        Assert.Equal(["upload_done"], Complete(pwsh, $"Send-Remaphore -ConfigPath '{c}' -Verb up").Texts);
        Assert.Contains("deploy", Complete(pwsh, $"Wait-Remaphore -ConfigPath '{c}' -Verb ").Texts);
        Assert.Contains(verbTips, t => t.StartsWith("deploy: peer com.test.b", StringComparison.Ordinal));

        var (ids, idTips) = Complete(pwsh, $"Send-Remaphore -ConfigPath '{c}' -Identity ");
        Assert.Equal([a.Public], ids);
        Assert.Contains("upload_done", idTips[0]);

        var destinations = Complete(pwsh, $"Send-Remaphore -ConfigPath '{c}' -Destination ").Texts;
        Assert.Contains("com.test.b", destinations);
        Assert.Contains("com.test.a", destinations);
        Assert.Contains("com.test.*", destinations);
        Assert.Contains("'**'", destinations.Select(d => d == "**" ? "'**'" : d));
        Assert.Equal(["org.other.c", "org.other.*"], Complete(pwsh, $"Invoke-Remaphore -ConfigPath '{c}' -ExpectedResponder org").Texts);
        Assert.Contains("com.test.b", Complete(pwsh, $"Wait-Remaphore -ConfigPath '{c}' -Destination com").Texts);

        var (senders, senderTips) = Complete(pwsh, $"Wait-Remaphore -ConfigPath '{c}' -Sender ");
        Assert.Equal([kb.Public, kb.Public], senders);
        Assert.Contains(senderTips, t => t.StartsWith("com.test.b", StringComparison.Ordinal));
    }

    [Fact]
    public void Completion_with_a_broken_or_missing_config_offers_nothing_and_no_error()
    {
        using var dir = new TempDir();
        var bad = dir.File("bad.yaml");
        File.WriteAllText(bad, "identities: [unterminated\n  - x\n");
        using var pwsh = new Pwsh();
        Assert.Empty(Complete(pwsh, $"Send-Remaphore -ConfigPath '{bad}' -Verb ").Texts);
        Assert.Empty(Complete(pwsh, $"Send-Remaphore -ConfigPath '{dir.File("missing.yaml")}' -Identity ").Texts);
    }

    [Fact]
    public void Seaport_roles_and_ids_complete_from_the_registry_and_an_unreachable_one_offers_nothing_in_bounded_time()
    {
        using var space = new SeaportSpace(nats.Server);
        var (c, _) = space.Node("n");
        using var pwsh = new Pwsh();
        var reg = pwsh.Run("param($c) Register-SeaportService web@1.2.3 -Id webone -ConfigPath $c; Register-SeaportService web@2.0.0 -Id webtwo -ConfigPath $c; Register-SeaportService db@1.0.0 -Id dbone -ConfigPath $c",
            new Hashtable { ["c"] = c });
        Assert.False(reg.HadErrors, reg.ErrorText);

        var (roles, tips) = Complete(pwsh, $"Get-SeaportService -ConfigPath '{c}' -Role w");
        Assert.Equal(["web@1.2.3", "web@2.0.0", "web"], roles);
        Assert.Contains(":", tips[0]);
        Assert.Equal(["db@1.0.0"], Complete(pwsh, $"Wait-SeaportService -ConfigPath '{c}' d").Texts);
        Assert.Contains("web@1.2.3", Complete(pwsh, $"Watch-SeaportService -ConfigPath '{c}' -Role ").Texts);
        var (ids, idTips) = Complete(pwsh, $"Unregister-SeaportService -ConfigPath '{c}' -Id web");
        Assert.Equal(["webone", "webtwo"], ids);
        Assert.StartsWith("web@1.2.3 on ", idTips[0]);
        Assert.Equal(["dbone"], Complete(pwsh, $"Set-SeaportService -ConfigPath '{c}' -Id d").Texts);
        Assert.Equal(["dbone"], Complete(pwsh, $"Get-SeaportService -ConfigPath '{c}' -Id d").Texts);

        using var nowhere = new SeaportSpace($"nats://127.0.0.1:{NatsServer.FreePort()}");
        var (off, _) = nowhere.Node("off");
        var watch = Stopwatch.StartNew();
        Assert.Empty(Complete(pwsh, $"Get-SeaportService -ConfigPath '{off}' -Role ").Texts);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"completion took {watch.Elapsed}"); // bounded (2 s budget), not a hang
    }

    [Fact]
    public void New_RemoteOpsConfig_returns_a_typed_object_that_keeps_FullName_and_Name()
    {
        using var dir = new TempDir();
        using var pwsh = new Pwsh();
        var path = dir.File("config.yaml");
        var r = pwsh.Run("param($p) $f = New-RemoteOpsConfig -Path $p; $f; $f.FullName; $f.Name", new Hashtable { ["p"] = path });
        Assert.False(r.HadErrors, r.ErrorText);
        var file = r.Output[0];
        Assert.Equal("RemoteOps.RemoteOpsConfigFile", file.BaseObject.GetType().FullName);
        Assert.Equal(path, Prop<string>(file, "Path"));
        Assert.Matches("^[1-9A-HJ-NP-Za-km-z]{32,44}$", Prop<string>(file, "PublicKey"));
        Assert.True(File.Exists(Prop<string>(file, "PrivateKeyFile")));
        Assert.Equal(path, r.Output[1].ToString());
        Assert.Equal("config.yaml", r.Output[2].ToString());
    }

    [Fact]
    public async Task Messages_carry_the_senders_configured_name()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (a, b) = fleet.Pair();
        using var waiter = new BackgroundPwsh("param($c) Wait-Remaphore -ConfigPath $c -Once -Timeout 60", new Hashtable { ["c"] = b.ConfigPath });
        await waiter.Ready;
        using var pwsh = new Pwsh();
        var sent = pwsh.Run("param($c) Send-Remaphore hello -ConfigPath $c -PassThru", new Hashtable { ["c"] = a.ConfigPath });
        Assert.False(sent.HadErrors, sent.ErrorText);
        Assert.Equal("com.test.a", Prop<string>(Assert.Single(sent.Output), "SenderName"));
        Assert.Equal("com.test.a", Prop<string>(Assert.Single(await waiter.CompletedAsync()), "SenderName"));
    }

    [Fact]
    public void Stop_RemoteOpsDevServer_of_no_such_process_is_ObjectNotFound()
    {
        using var pwsh = new Pwsh();
        var r = pwsh.Run("Stop-RemoteOpsDevServer -ProcessId 999999");
        var e = Assert.Single(r.Errors);
        Assert.StartsWith("RemoteOps.DevServerNotFound", e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, e.CategoryInfo.Category);
        Assert.Contains("999999", e.ToString());
    }

    [Fact]
    public async Task A_dev_server_left_by_an_earlier_session_is_found_and_Stop_by_id_removes_its_data()
    {
        // An earlier session in another process starts a server and ends, leaving the server running. (The server
        // holds the session's inherited stdout, so the session's output never ends: it reports through a file.)
        using var dir = new TempDir();
        var report = dir.File("started.txt");
        var earlier = new HostProcess($"$s = Start-RemoteOpsDevServer -Port 0; [IO.File]::WriteAllText('{report}', \"$($s.ProcessId) $($s.DataDirectory)\"); 'STARTED'");
        await earlier.LineContaining("STARTED");
        var parts = File.ReadAllText(report).Split(' ', 2);
        var pid = int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture);
        var data = parts[1];
        try
        {
            Assert.True(Directory.Exists(data));
            using var pwsh = new Pwsh();
            var found = pwsh.Run("param($id) Get-RemoteOpsDevServer -ProcessId $id", new Hashtable { ["id"] = pid });
            Assert.False(found.HadErrors, found.ErrorText);
            var server = Assert.Single(found.Output);
            Assert.Equal(data, Prop<string>(server, "DataDirectory"));
            Assert.True(Prop<bool>(server, "TemporaryDataDirectory"));
            Assert.Contains(pid.ToString(System.Globalization.CultureInfo.InvariantCulture), Complete(pwsh, "Stop-RemoteOpsDevServer -ProcessId ").Texts);

            var stopped = pwsh.Run("param($id) Stop-RemoteOpsDevServer -ProcessId $id -PassThru", new Hashtable { ["id"] = pid });
            Assert.False(stopped.HadErrors, stopped.ErrorText);
            Assert.Single(stopped.Output);
            Assert.False(Directory.Exists(data), "the temporary data directory of a server from an earlier session is removed");
            var after = pwsh.Run("param($id) Get-RemoteOpsDevServer -ProcessId $id", new Hashtable { ["id"] = pid });
            Assert.StartsWith("RemoteOps.DevServerNotFound", Assert.Single(after.Errors).FullyQualifiedErrorId);
        }
        finally
        {
            try { Process.GetProcessById(pid).Kill(); } catch (ArgumentException) { } catch (InvalidOperationException) { }
            earlier.Dispose();
        }
    }

    [Fact]
    public void A_stale_marker_is_dropped()
    {
        // A marker whose pid is a running process that is no nats-server (this test process): a recycled pid.
        var dir = DevServerMarkers.Directory;
        System.IO.Directory.CreateDirectory(dir);
        var marker = Path.Combine(dir, Environment.ProcessId + ".json");
        File.WriteAllText(marker, $$"""{"Url":"nats://127.0.0.1:1","Port":1,"ProcessId":{{Environment.ProcessId}},"DataDirectory":"/nonexistent/remoteops-devserver-x","ConfigPath":"","LogPath":"","MonitorUrl":null,"TemporaryDataDirectory":true,"StartTime":"2020-01-01T00:00:00+00:00","ProcessStartTimeUtc":null}""");
        using var pwsh = new Pwsh();
        var r = pwsh.Run("Get-RemoteOpsDevServer | Where-Object ProcessId -eq $PID");
        Assert.False(r.HadErrors, r.ErrorText);
        Assert.Empty(r.Output);
        Assert.False(File.Exists(marker));
    }
}

/// <summary>Where the module keeps dev server markers (as DevServer.MarkerDirectory computes it).</summary>
internal static class DevServerMarkers
{
    public static string Directory
    {
        get
        {
            var root = Environment.GetEnvironmentVariable("REMOTEOPS_STATE_DIR");
            if (string.IsNullOrEmpty(root))
            {
                var xdg = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
                root = !OperatingSystem.IsWindows() && !OperatingSystem.IsMacOS()
                    ? Path.Combine(string.IsNullOrEmpty(xdg) ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state") : xdg, "remoteops")
                    : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "RemoteOps");
            }
            return Path.Combine(root, "devservers");
        }
    }
}
