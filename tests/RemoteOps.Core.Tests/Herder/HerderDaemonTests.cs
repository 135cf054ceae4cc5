using System.Net.Sockets;
using System.Text;
using RemoteOps.Config;
using RemoteOps.Herder;
using RemoteOps.Identity;
using RemoteOps.Messaging;
using RemoteOps.Seaport;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Herder;

/// <summary>Daemons on this machine as real processes in the real sandbox, with a real nats-server for their seaport
/// registration: start, list, attach (a read and a write through the FIFO), ports in PORT/PORT_NAME and in seaport,
/// restart policies, stop (the whole tree), logs after exit, rotation and retention, adoption by a new host, and
/// the refusals (a duplicate name, an unknown daemon).</summary>
public sealed class HerderDaemonTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private NatsServer _server = null!;
    private readonly TempDir _dir = new();
    private readonly SigningKey _key = SigningKey.Generate();
    private readonly List<HerderDaemonHost> _hosts = [];

    public async Task InitializeAsync() => _server = await NatsServer.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts) await host.DisposeAsync();
        await ConnectionPool.DisconnectAsync(Config());
        await _server.DisposeAsync();
        _dir.Dispose();
        _key.Dispose();
    }

    private string? _configPath;

    private RemoteOpsConfig Config(string herder = "")
    {
        var path = _dir.File($"c-{Guid.NewGuid():N}.yaml");
        if (_configPath is not null && herder.Length == 0) return ConfigLoader.Load(_configPath);
        File.WriteAllText(path, $"""
            servers: [{_server.Url}]
            destination: com.acme.daemons
            default_identity: {_key.PublicBase58}
            identities:
              - public: {_key.PublicBase58}
                private: {_key.ExportSeedBase58()}
                verbs: ["*"]
            steward:
              data_directory: {_dir.Path}/steward
            herder:
              log_retention: 1h
            {herder}
            """);
        if (herder.Length == 0) _configPath = path;
        return ConfigLoader.Load(path);
    }

    private async Task<HerderDaemonHost> Host(RemoteOpsConfig? config = null, bool adopts = false, string? root = null, long? maxLogBytes = null)
    {
        var host = await HerderDaemonHost.OpenAsync(config ?? Config(), root ?? Path.Combine(_dir.Path, "daemons"), "com.acme.daemons", adopts,
            maintainEvery: TimeSpan.FromHours(1), maxLogBytes: maxLogBytes);
        _hosts.Add(host);
        return host;
    }

    private static HerderDaemonRequest Bash(string name, string script, HerderDaemonRestart restart = HerderDaemonRestart.OnFailure, params string[] ports) => new()
    {
        Name = name, Environment = "bash", Files = new Dictionary<string, byte[]> { ["main.sh"] = Encoding.UTF8.GetBytes(script) }, Restart = restart, Ports = ports,
    };

    private static async Task Until(Func<bool> condition, string what)
    {
        using var limit = new CancellationTokenSource(Patience);
        while (!condition())
        {
            if (limit.IsCancellationRequested) Assert.Fail($"Not within {Patience}: {what}");
            await Task.Delay(20);
        }
    }

    private static async Task<List<HerderDaemonOutput>> Lines(HerderDaemonTail tail, int count)
    {
        var lines = new List<HerderDaemonOutput>();
        await Until(() => { lines.AddRange(tail.ReadNew()); return lines.Count >= count; }, $"{count} lines");
        return lines;
    }

    [Fact]
    public async Task A_daemon_starts_lists_echoes_its_input_stops_with_its_tree_and_keeps_its_logs()
    {
        var host = await Host();
        // An echo server on stdin, with a background child that must die with it.
        var started = await host.StartAsync(Bash("echo", "sleep 300 & echo ready; while read line; do echo \"got $line\"; echo \"err $line\" >&2; done"), "ada", CancellationToken.None);
        Assert.Equal((HerderDaemonState.Running, "ada", "com.acme.daemons", true), (started.State, started.Owner, started.Node, started.Sandboxed));
        Assert.True(started.ProcessId > 0);

        var listed = Assert.Single(host.List("ada", "ec*"));
        Assert.Equal("echo", listed.Name);
        Assert.Empty(host.List("bob", null));

        var tail = HerderDaemonTail.Open("echo", host.DirectoryOf("ada", "echo"), new HerderDaemonLogPosition(0, 0));
        Assert.Equal("ready", (await Lines(tail, 1))[0].Line);
        host.WriteInput("ada", "echo", ["hello"]);
        var lines = await Lines(tail, 2);
        Assert.Contains(lines, l => l is { Stream: HerderDaemonStream.Output, Line: "got hello" });
        Assert.Contains(lines, l => l is { Stream: HerderDaemonStream.Error, Line: "err hello" });

        var pid = started.ProcessId;
        var stopped = await host.StopAsync("ada", "echo", "test", CancellationToken.None);
        Assert.Equal(HerderDaemonState.Stopped, stopped.State);
        // The whole tree is gone: no process left in the daemon's group (its sleep included).
        Assert.False(Directory.EnumerateDirectories("/proc").Any(d => File.Exists(Path.Combine(d, "stat"))
            && int.TryParse(Path.GetFileName(d), out _) && GroupOf(d) == pid), "a process of the daemon's group survived");

        var (log, _) = HerderDaemonLogReader.Read("echo", host.DirectoryOf("ada", "echo"), tail: null);
        Assert.Contains(log, l => l is { Stream: HerderDaemonStream.Output, Line: "got hello" });
        Assert.Contains(log, l => l.Stream == HerderDaemonStream.Error && l.Line.Contains("Stopped: test", StringComparison.Ordinal));
        Assert.All(log, l => Assert.Null(l.Time));
        Assert.Equal(["ready", "got hello"], log.Where(l => l.Stream == HerderDaemonStream.Output).Select(l => l.Line));
        Assert.Equal(["got hello"], HerderDaemonLogReader.Read("echo", host.DirectoryOf("ada", "echo"), tail: 1).Lines.Where(l => l.Stream == HerderDaemonStream.Output).Select(l => l.Line));
    }

    private static int GroupOf(string procDir)
    {
        try
        {
            var stat = File.ReadAllText(Path.Combine(procDir, "stat"));
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields[0] is "Z" or "X" ? -1 : int.Parse(fields[2]);
        }
        catch (IOException) { return -1; }
    }

    [Fact]
    public async Task A_duplicate_name_is_refused_and_an_unknown_daemon_is_not_found()
    {
        var host = await Host();
        await host.StartAsync(Bash("dup", "sleep 300"), "ada", CancellationToken.None);
        var e = await Assert.ThrowsAsync<HerderException>(() => host.StartAsync(Bash("dup", "sleep 300"), "ada", CancellationToken.None));
        Assert.Equal("RemoteOps.HerderDaemonExists", e.ErrorId);
        // Names are unique per owner: another owner may have one of the same name.
        await host.StartAsync(Bash("dup", "sleep 300"), "bob", CancellationToken.None);
        Assert.Equal("RemoteOps.HerderDaemonNotFound", (await Assert.ThrowsAsync<HerderException>(() => host.StopAsync("ada", "nope", "x", CancellationToken.None))).ErrorId);
        Assert.Equal("RemoteOps.HerderDaemonNotFound", Assert.Throws<HerderException>(() => host.Get("ada", "../etc")).ErrorId);
        Assert.Equal("RemoteOps.HerderInvalidDaemon", (await Assert.ThrowsAsync<HerderException>(() => host.StartAsync(Bash("a/b", "x"), "ada", CancellationToken.None))).ErrorId);
        // A stopped daemon's name may be used again.
        await host.StopAsync("ada", "dup", "x", CancellationToken.None);
        Assert.Equal(HerderDaemonState.Running, (await host.StartAsync(Bash("dup", "sleep 300"), "ada", CancellationToken.None)).State);
    }

    [Fact]
    public async Task Ports_are_passed_in_PORT_and_PORT_NAME_registered_in_seaport_and_freed_on_stop()
    {
        var config = Config();
        var host = await Host(config);
        var daemon = await host.StartAsync(Bash("web", "echo \"$PORT $PORT_HTTP $PORT_ADMIN\"; sleep 300", HerderDaemonRestart.Never, "http", "admin"), "ada", CancellationToken.None);
        Assert.Equal(["admin", "http"], daemon.Ports.Keys.Order());
        var tail = HerderDaemonTail.Open("web", host.DirectoryOf("ada", "web"), new HerderDaemonLogPosition(0, 0));
        Assert.Equal($"{daemon.Ports["http"]} {daemon.Ports["http"]} {daemon.Ports["admin"]}", (await Lines(tail, 1))[0].Line);

        var found = Assert.Single(await SeaportQueries.QueryAsync(config, "web@0.0.0", null, null, CancellationToken.None));
        Assert.Equal((daemon.Ports["http"], daemon.Ports["http"], daemon.Ports["admin"]), (found.Port, found.Ports["http"], found.Ports["admin"]));
        await host.StopAsync("ada", "web", "test", CancellationToken.None);
        Assert.Empty(await SeaportQueries.QueryAsync(config, "web@0.0.0", null, null, CancellationToken.None));
    }

    [Fact]
    public async Task Restart_policies_start_again_after_a_failure_or_always_and_never_otherwise()
    {
        var host = await Host();
        await host.StartAsync(Bash("fails", "echo run; exit 3"), "ada", CancellationToken.None);
        await host.StartAsync(Bash("done", "echo run; exit 0"), "ada", CancellationToken.None);
        await host.StartAsync(Bash("always", "echo run; exit 0", HerderDaemonRestart.Always), "ada", CancellationToken.None);
        await host.StartAsync(Bash("never", "exit 5", HerderDaemonRestart.Never), "ada", CancellationToken.None);
        await Until(() => host.Get("ada", "fails").Restarts >= 1 && host.Get("ada", "always").Restarts >= 1, "two restarts");
        await Until(() => host.Get("ada", "done").State == HerderDaemonState.Exited, "done exited");
        await Until(() => host.Get("ada", "never").State == HerderDaemonState.Exited, "never exited");
        Assert.Equal((0, 0), (host.Get("ada", "done").ExitCode, host.Get("ada", "done").Restarts));
        Assert.Equal((5, 0), (host.Get("ada", "never").ExitCode, host.Get("ada", "never").Restarts));
        // The last exit code stays while it runs again.
        Assert.Equal(3, host.Get("ada", "fails").ExitCode);
    }

    [Fact]
    public async Task Logs_rotate_by_size_and_rotated_logs_past_retention_are_deleted()
    {
        var host = await Host(maxLogBytes: 1000);
        await host.StartAsync(Bash("chatty", "for i in $(seq 1 100); do echo \"line $i of some length to fill the log\"; done; sleep 300"), "ada", CancellationToken.None);
        var directory = host.DirectoryOf("ada", "chatty");
        await Until(() => HerderDaemonLogReader.Read("chatty", directory, null).Lines.Any(l => l.Line.StartsWith("line 100 ", StringComparison.Ordinal)), "100 lines");
        host.Maintain(DateTimeOffset.UtcNow);
        var rotated = Assert.Single(Directory.GetFiles(directory, "out.log.*"), f => !f.EndsWith("out.log", StringComparison.Ordinal));
        Assert.Equal(0, new FileInfo(Path.Combine(directory, "out.log")).Length);
        // Nothing lost: the rotated file is read back before the current one.
        var lines = HerderDaemonLogReader.Read("chatty", directory, null).Lines.Where(l => l.Stream == HerderDaemonStream.Output).ToList();
        Assert.Equal(100, lines.Count);
        // The daemon goes on writing at the start of the truncated file (O_APPEND).
        host.Maintain(DateTimeOffset.UtcNow.AddHours(2));
        Assert.False(File.Exists(rotated));
    }

    [Fact]
    public async Task A_new_agent_host_adopts_a_running_daemon_and_restarts_a_dead_one_and_a_session_host_stops_orphans()
    {
        var root = Path.Combine(_dir.Path, "adopt");
        var config = Config();
        // The first host's daemons, written as a killed agent leaves them: records say Running, processes live on.
        var first = await Host(config, adopts: true, root: root);
        var alive = await first.StartAsync(Bash("alive", "echo up; while read l; do echo \"again $l\"; done"), "ada", CancellationToken.None);
        var dead = await first.StartAsync(Bash("dead", "echo up; sleep 300"), "ada", CancellationToken.None);
        var records = new[] { "alive", "dead" }.ToDictionary(n => n, n => File.ReadAllText(Path.Combine(first.DirectoryOf("ada", n), "state.json")));
        var deadDirectory = first.DirectoryOf("ada", "dead");
        // Keep the processes: a host with no runs cannot stop them; then the records are put back as they were.
        await first.DisposeAsync();
        _hosts.Remove(first);
        foreach (var (name, json) in records) File.WriteAllText(Path.Combine(root, Directory.GetDirectories(root)[0], name, "state.json"), json.Replace($"\"HostPid\": {Environment.ProcessId}", "\"HostPid\": 1"));
        // "alive" is started again by hand as it was, so that a live process matches its record.
        var pid = StartDetached(first, "alive", records["alive"]);
        File.WriteAllText(Path.Combine(root, Directory.GetDirectories(root)[0], "alive", "state.json"),
            System.Text.RegularExpressions.Regex.Replace(System.Text.RegularExpressions.Regex.Replace(records["alive"], "\"Pid\": \\d+", $"\"Pid\": {pid}"),
                "\"PidStart\": \\d+", $"\"PidStart\": {RemoteOps.Steward.DetachedCommand.ReadStartTime(pid)}").Replace($"\"HostPid\": {Environment.ProcessId}", "\"HostPid\": 1"));

        var second = await Host(config, adopts: true, root: root);
        Assert.Equal((HerderDaemonState.Running, pid), (second.Get("ada", "alive").State, second.Get("ada", "alive").ProcessId));
        second.WriteInput("ada", "alive", ["x"]);
        var tail = HerderDaemonTail.Open("alive", second.DirectoryOf("ada", "alive"), new HerderDaemonLogPosition(0, 0));
        await Until(() => tail.ReadNew().Any(l => l.Line == "again x"), "the adopted daemon answers");
        // The dead one (its pid gone) was started again.
        await Until(() => second.Get("ada", "dead") is { State: HerderDaemonState.Running, ProcessId: > 0 } d && d.ProcessId != dead.ProcessId, "dead restarted");
        Assert.True(second.Get("ada", "dead").Restarts >= 1);
        await second.StopAsync("ada", "alive", "test", CancellationToken.None);
        Assert.False(RemoteOps.Steward.DetachedCommand.Adopt("", pid, null).IsAlive);
        _ = deadDirectory;
        _ = alive;
    }

    /// <summary>Runs a daemon's recorded command as its wrapper would, outside any host (as a killed agent leaves it).</summary>
    private static int StartDetached(HerderDaemonHost host, string name, string recordJson)
    {
        var directory = host.Root;
        var folder = Directory.GetDirectories(Directory.GetDirectories(directory)[0]).Single(d => Path.GetFileName(d) == name);
        using var doc = System.Text.Json.JsonDocument.Parse(recordJson);
        var command = doc.RootElement.GetProperty("Command").EnumerateArray().Select(e => e.GetString()!).ToList();
        var psi = RemoteOps.Processes.ProcessTree.StartInfo("/bin/sh", ["-c", HerderDaemonFiles.Wrapper, folder, .. command],
            Path.Combine(folder, "work"), new Dictionary<string, string>());
        var tree = RemoteOps.Processes.ProcessTree.Start(psi);
        return tree.Pid;
    }

    private RemoteOpsConfig TokenConfig() => Config($"""
          token_issuers: [{_key.PublicBase58}]
          require_token: true
          credits_per_second: 1
          ledger_bucket: dl{Guid.NewGuid():N}
        """);

    [Fact]
    public async Task Under_require_token_a_daemon_needs_credits_and_is_stopped_with_the_reason_in_its_log_when_its_owner_runs_out()
    {
        var config = TokenConfig();
        var host = await Host(config, root: Path.Combine(_dir.Path, "paid"));
        Assert.Equal("RemoteOps.HerderInvalidToken", (await Assert.ThrowsAsync<HerderException>(() => host.StartAsync(Bash("free", "sleep 300"), "ada", CancellationToken.None))).ErrorId);
        var broke = (await HerderTokenService.IssueAsync(config, "broke@example.com", 0, null, CancellationToken.None)).Token;
        var refused = await Assert.ThrowsAsync<HerderException>(() => host.StartAsync(Bash("poor", "sleep 300") with { Token = broke }, "ada", CancellationToken.None));
        Assert.Equal("RemoteOps.HerderNoCredits", refused.ErrorId);
        Assert.Empty(host.List(null, null));

        var token = (await HerderTokenService.IssueAsync(config, "cleo@example.com", 2, null, CancellationToken.None)).Token;
        var daemon = await host.StartAsync(Bash("paid", "sleep 300") with { Token = token }, "ada", CancellationToken.None);
        // The token's owner owns it; who started it still finds it by name.
        Assert.Equal("cleo@example.com", daemon.Owner);
        await Until(() => host.Get("ada", "paid").State == HerderDaemonState.Stopped, "stopped when the credits ran out");
        Assert.Contains("ran out of credits", host.Get("ada", "paid").StopReason, StringComparison.Ordinal);
        Assert.Contains(HerderDaemonLogReader.Read("paid", host.DirectoryOf("ada", "paid"), null).Lines,
            l => l.Stream == HerderDaemonStream.Error && l.Line.Contains("ran out of credits", StringComparison.Ordinal));
        Assert.True((await HerderTokenService.InspectAsync(config, token, CancellationToken.None)).Credits <= 0);
    }
}
