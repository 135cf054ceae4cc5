using System.Collections;
using System.Diagnostics;
using System.Management.Automation;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>A server of its own for the 1,000-node fleet (its load would slow every other test on a shared one).</summary>
public sealed class FleetServerFixture : IAsyncLifetime
{
    public NatsServer Server { get; private set; } = null!;
    public async Task InitializeAsync() => Server = await NatsServer.StartAsync();
    public Task DisposeAsync() { Server.Dispose(); return Task.CompletedTask; }
}

/// <summary>The fleet line: <c>Invoke-StewardMethod -Method Ping -ToNode '**'</c> over 1,000 registered nodes
/// gives one reply per live node and names each offline one. The agents run in two RemoteOps.StewardNodeHost
/// processes (--fleet): the live ones, and the ones that are stopped (SIGKILL) and so go offline after three of their
/// own (short) hello intervals.</summary>
public class StewardFleetPingTests(FleetServerFixture nats) : IClassFixture<FleetServerFixture>
{
    private const int Fleet = 1000;
    private const int Stopped = 25;

    private static readonly string HostDll = Path.Combine(Repo.Root, "tests", "RemoteOps.StewardNodeHost", "bin",
#if DEBUG
        "Debug",
#else
        "Release",
#endif
        "net10.0", "RemoteOps.StewardNodeHost.dll");

    /// <summary>One host process running an agent per listed config.</summary>
    private sealed class FleetProcess : IDisposable
    {
        private readonly Process _process;
        private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly System.Text.StringBuilder _output = new();

        public FleetProcess(string list)
        {
            var psi = new ProcessStartInfo("dotnet", [HostDll, "--fleet", list]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            _process = new Process { StartInfo = psi, EnableRaisingEvents = true };
            DataReceivedEventHandler onLine = (_, e) =>
            {
                if (e.Data is null) return;
                lock (_output) _output.AppendLine(e.Data);
                if (e.Data.StartsWith("READY", StringComparison.Ordinal)) _ready.TrySetResult();
            };
            _process.OutputDataReceived += onLine;
            _process.ErrorDataReceived += onLine;
            _process.Exited += (_, _) => _ready.TrySetException(new InvalidOperationException("the fleet host exited:\n" + Output));
            _process.Start();
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public string Output { get { lock (_output) return _output.ToString(); } }

        // Generous: 1,000 agents each open a SQLite store and a consumer, on a machine other jobs share.
        public Task Ready => _ready.Task.WaitAsync(TimeSpan.FromMinutes(5));

        public void Kill()
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        public void Dispose()
        {
            Kill();
            _process.Dispose();
        }
    }

    private const string PingForAll = "  methods:\n    Ping: { allowed: ['*'] }\n";

    private static string ListFile(StewardSpace space, string name, IEnumerable<string> configs)
    {
        var path = Path.Combine(space.Directory, name);
        File.WriteAllLines(path, configs);
        return path;
    }

    [Fact]
    public async Task Ping_to_every_node_of_a_1000_node_registry_answers_once_per_live_node_and_names_each_offline_one()
    {
        Assert.True(File.Exists(HostDll), $"{HostDll} is built with the tests");
        using var space = new StewardSpace(nats.Server.Url);
        var live = Enumerable.Range(0, Fleet - Stopped).Select(i => $"com.acme.n{i:D4}").ToArray();
        var stopped = Enumerable.Range(0, Stopped).Select(i => $"com.acme.off{i:D2}").ToArray();
        // Live nodes say hello every 30 s (online for 90 s after each); the stopped ones every second, so that they are
        // offline three seconds after their host is killed.
        var liveList = ListFile(space, "live.txt", live.Select(n => space.Node(n, "  hello_interval: 30s\n" + PingForAll)));
        var stoppedList = ListFile(space, "stopped.txt", stopped.Select(n => space.Node(n, "  hello_interval: 1s\n" + PingForAll)));
        var sender = space.Sender();

        using var liveHost = new FleetProcess(liveList);
        using (var stoppedHost = new FleetProcess(stoppedList))
        {
            await Task.WhenAll(liveHost.Ready, stoppedHost.Ready);
            stoppedHost.Kill();
        }

        using var pwsh = new Pwsh();
        // Wait (bounded) until the registry holds every live node online and every stopped one offline.
        var registry = pwsh.Run("""
            param($c, $live, $stopped)
            $deadline = [DateTime]::UtcNow.AddSeconds(180)
            do {
                $all = @(Get-StewardNode -ConfigPath $c)
                $online = @($all | Where-Object Online).Count
                $offline = @($all | Where-Object { -not $_.Online }).Count
            } while (($online -ne $live -or $offline -ne $stopped) -and [DateTime]::UtcNow -lt $deadline -and -not [Threading.Thread]::Sleep(250))
            "$online $offline"
            """, new Hashtable { ["c"] = sender, ["live"] = live.Length, ["stopped"] = stopped.Length });
        Assert.False(registry.HadErrors, registry.ErrorText);
        Assert.Equal($"{live.Length} {stopped.Length}", registry.Output.Single().ToString());

        var ping = pwsh.Run("param($c) Invoke-StewardMethod -ToNode 'com.acme.**' -Method Ping -ThrottleLimit 64 -ConfigPath $c",
            new Hashtable { ["c"] = sender });

        // One reply per live node, each Succeeded.
        var replies = ping.Output.Select(o => (Node: (string)o.Properties["Node"].Value, Status: o.Properties["Status"].Value.ToString())).ToArray();
        Assert.Equal(live.Order(StringComparer.Ordinal), replies.Select(r => r.Node).Order(StringComparer.Ordinal));
        Assert.All(replies, r => Assert.Equal("Succeeded", r.Status));
        // Each offline node named exactly once, by one NodeOffline error whose target is the node; no other error.
        Assert.All(ping.Errors, e =>
        {
            Assert.Equal("RemoteOps.StewardNodeOffline", e.FullyQualifiedErrorId.Split(',')[0]);
            Assert.Equal(ErrorCategory.ResourceUnavailable, e.CategoryInfo.Category);
            Assert.Contains((string)e.TargetObject, e.Exception.Message);
        });
        Assert.Equal(stopped, ping.Errors.Select(e => (string)e.TargetObject).ToArray());
    }
}
