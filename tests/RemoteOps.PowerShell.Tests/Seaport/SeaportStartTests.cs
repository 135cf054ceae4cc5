using System.Collections;
using System.Management.Automation;
using System.Text.RegularExpressions;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>Start-SeaportService: the seed's example end to end (examples/seaport), restarts, and no orphans.</summary>
public class SeaportStartTests(RemaphoreServerFixture nats) : IClassFixture<RemaphoreServerFixture>
{
    private static string Examples => Path.Combine(Repo.Root, "examples", "seaport");

    private static List<int> Pids(IEnumerable<string> verbose) =>
        verbose.Select(v => Regex.Match(v, @"^Started .*\(pid (\d+)\)")).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value)).ToList();

    private static bool Alive(int pid)
    {
        // A zombie has exited; anything else under /proc/<pid> is still running.
        var stat = $"/proc/{pid}/stat";
        if (!File.Exists(stat)) return false;
        try
        {
            var text = File.ReadAllText(stat);
            return text[(text.LastIndexOf(')') + 2)] is not ('Z' or 'X');
        }
        catch (IOException) { return false; }
    }

    [Fact]
    public async Task The_example_server_is_found_and_called_by_the_example_client_and_Ctrl_C_leaves_no_process()
    {
        using var space = new SeaportSpace(nats.Server, heartbeat: "1s");
        var (config, _) = space.Node("a");
        // The client starts first and waits, as seaport's get() queues.
        using var client = new HostProcess(["-File", Path.Combine(Examples, "client.ps1"), config, "120"]);

        using var pwsh = new Pwsh();
        using var server = new Streaming(pwsh, "param($s, $c, $h) $VerbosePreference = 'Continue'; & $s -ConfigPath $c -Pwsh $h",
            new Hashtable { ["s"] = Path.Combine(Examples, "start-server.ps1"), ["c"] = config, ["h"] = HostProcess.HostPath });
        var registered = await server.Next(o => o.BaseObject.GetType().Name == "SeaportService", seconds: 120);
        Assert.Equal("web@1.2.3", registered.Properties["Role"].Value);
        Assert.Equal("seaport", ((IDictionary)registered.Properties["Meta"].Value)["example"]);

        var (code, lines, err) = await client.ExitAsync();
        Assert.True(code == 0, string.Join("\n", err));
        Assert.Equal("beep boop", Assert.Single(lines));

        var pids = Pids(server.Shell.Streams.Verbose.Select(v => v.Message));
        var pid = Assert.Single(pids);
        Assert.True(Alive(pid));
        await Task.Run(server.Stop).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(Alive(pid), $"server pid {pid} survived Ctrl+C");
        using var other = new Pwsh();
        Assert.Empty(other.Run("param($c) Get-SeaportService web -ConfigPath $c", new Hashtable { ["c"] = config }).Output);
    }

    /// <summary>The README's seaport client snippet, as printed there: the lines after "# client.js" in the first
    /// powershell block of the Seaport section.</summary>
    private static string ReadmeClientSnippet()
    {
        var readme = File.ReadAllText(Path.Combine(Repo.Root, "README.md"));
        var section = readme[readme.IndexOf("## Seaport", StringComparison.Ordinal)..];
        var block = section[(section.IndexOf("```powershell", StringComparison.Ordinal) + "```powershell".Length)..];
        block = block[..block.IndexOf("```", StringComparison.Ordinal)];
        var client = block[block.IndexOf("# client.js", StringComparison.Ordinal)..];
        return client;
    }

    [Fact]
    public async Task The_README_client_snippet_calls_the_example_server_at_the_host_name_it_advertises()
    {
        using var space = new SeaportSpace(nats.Server, heartbeat: "1s");
        var (config, _) = space.Node("a");
        using var pwsh = new Pwsh();
        using var server = new Streaming(pwsh, "param($s, $c, $h) & $s -ConfigPath $c -Pwsh $h",
            new Hashtable { ["s"] = Path.Combine(Examples, "start-server.ps1"), ["c"] = config, ["h"] = HostProcess.HostPath });
        var registered = await server.Next(o => o.BaseObject.GetType().Name == "SeaportService", seconds: 120);
        // Advertised as this machine's name (not localhost), which is what the snippet calls.
        Assert.Equal(System.Net.Dns.GetHostName(), registered.Properties["HostName"].Value);

        using var client = new Pwsh();
        var snippet = ReadmeClientSnippet();
        Assert.Contains("Wait-SeaportService", snippet);
        // The hosted runspace has no web cmdlets: a plain GET stands in for Invoke-RestMethod (a 404 still throws).
        const string invokeRestMethod = "function Invoke-RestMethod([string] $Uri) { $h = [System.Net.Http.HttpClient]::new(); try { $r = $h.GetAsync($Uri).GetAwaiter().GetResult(); $null = $r.EnsureSuccessStatusCode(); $r.Content.ReadAsStringAsync().GetAwaiter().GetResult() } finally { $h.Dispose() } }";
        var r = client.Run("param($c, $snippet) " + invokeRestMethod + "; $PSDefaultParameterValues['*-Seaport*:ConfigPath'] = $c; . ([scriptblock]::Create($snippet))",
            new Hashtable { ["c"] = config, ["snippet"] = snippet });
        Assert.False(r.HadErrors, r.ErrorText);
        Assert.Equal("beep boop", Assert.Single(r.Output).ToString().TrimEnd());
        await Task.Run(server.Stop).WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void A_crashing_command_is_restarted_then_given_up_with_an_error_and_nothing_stays_registered()
    {
        using var space = new SeaportSpace(nats.Server);
        var (config, _) = space.Node("a");
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($c) Start-SeaportService crash@1.0.0 -PortName http, metrics -Command sh, -c, 'echo \"port $0 env $PORT http $PORT_HTTP metrics $PORT_METRICS\"; exit 3' -MaxRestarts 2 -RestartDelay 10ms -ReadyTimeout 5 -Debug -ConfigPath $c 5>&1",
            new Hashtable { ["c"] = config }, verbose: true);
        Assert.Equal("RemoteOps.SeaportCommandFailed,RemoteOps.PowerShell.Cmdlets.StartSeaportServiceCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Equal(3, Pids(r.Verbose).Count);
        Assert.Contains(r.Verbose, v => v.Contains("exited with code 3"));
        // The command got the port as its last argument, in $PORT and per name in $PORT_<NAME> (its output comes through -Debug).
        var said = r.Output.Select(o => o.ToString()).First(l => l.StartsWith("port "));
        var m = Regex.Match(said, @"^port (\d+) env (\d+) http (\d+) metrics (\d+)$");
        Assert.True(m.Success, said);
        Assert.Equal(m.Groups[1].Value, m.Groups[2].Value);
        Assert.Equal(m.Groups[1].Value, m.Groups[3].Value); // the first named port is the port
        Assert.NotEqual(m.Groups[3].Value, m.Groups[4].Value);
        foreach (var pid in Pids(r.Verbose)) Assert.False(Alive(pid));
        Assert.Empty(pwsh.Run("param($c) Get-SeaportService crash -ConfigPath $c", new Hashtable { ["c"] = config }).Output);
    }

    [Fact]
    public void A_missing_program_is_a_clear_error_not_a_restart_loop()
    {
        using var space = new SeaportSpace(nats.Server);
        var (config, _) = space.Node("a");
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($c) Start-SeaportService ghost@1.0.0 -Command no-such-program-remoteops -ConfigPath $c", new Hashtable { ["c"] = config });
        Assert.StartsWith("RemoteOps.SeaportCommandNotFound", Assert.Single(r.Errors).FullyQualifiedErrorId);
    }

    [Fact]
    public async Task The_registry_down_when_the_command_comes_up_does_not_kill_it_registration_is_retried()
    {
        await using var server = await NatsServer.StartAsync();
        using var space = new SeaportSpace(server, heartbeat: "1s");
        var (config, _) = space.Node("a");
        var gate = Path.Combine(space.Directory, "gate");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [gate])) mkfifo.WaitForExit();
        // The command waits at the gate, then serves HTTP on its port (the last argument, $0 of sh -c).
        var script = $"read x < '{gate}'; exec python3 -m http.server --bind 127.0.0.1 \"$0\"";
        using var pwsh = new Pwsh();
        using var run = new Streaming(pwsh, "param($c, $s) Start-SeaportService gated@1.0.0 -Command sh, -c, $s -Verbose -ConfigPath $c",
            new Hashtable { ["c"] = config, ["s"] = script });
        await run.NextVerbose(v => v.StartsWith("Started"));

        server.Kill(); // the registry goes away while the command is starting
        await File.WriteAllTextAsync(gate, "go\n"); // opens the fifo: the command goes on and listens
        await run.NextVerbose(v => v.StartsWith("WARNING: Could not register gated@1.0.0"), seconds: 60);
        Assert.Equal(PSInvocationState.Running, run.Shell.InvocationStateInfo.State);
        // Meanwhile a query says the registry is unreachable (after a bounded wait), which is not "no matches".
        using (var other = new Pwsh())
        {
            var q = other.Run("param($c) Get-SeaportService gated -ConfigPath $c", new Hashtable { ["c"] = config });
            Assert.StartsWith("RemoteOps.SeaportUnavailable", Assert.Single(q.Errors).FullyQualifiedErrorId);
        }

        await server.RestartAsync();
        var registered = await run.Next(o => o.BaseObject.GetType().Name == "SeaportService", seconds: 90);
        Assert.Equal("gated@1.0.0", registered.Properties["Role"].Value);
        var pid = Assert.Single(Pids(run.Shell.Streams.Verbose.Select(v => v.Message)));
        await Task.Run(run.Stop).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(Alive(pid));
    }
}
