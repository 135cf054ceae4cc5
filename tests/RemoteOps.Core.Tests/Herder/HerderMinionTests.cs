using System.Net;
using System.Net.Sockets;
using System.Text;
using RemoteOps.Config;
using RemoteOps.Herder;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Herder;

/// <summary>Minions run on this machine as real processes in the real bubblewrap sandbox (CI installs it): files in,
/// output back, and each limit and wall of the sandbox tried by a minion that pushes on it.</summary>
public sealed class HerderMinionTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private RemoteOpsConfig Config(string herder = "")
    {
        var path = _dir.File($"config-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "destination: com.acme.minions\nherder:\n  max_timeout: 20s\n" + herder);
        return ConfigLoader.Load(path);
    }

    private static Dictionary<string, byte[]> Files(params (string Name, string Text)[] files) =>
        files.ToDictionary(f => f.Name, f => Encoding.UTF8.GetBytes(f.Text));

    private Task<HerderMinionResult> Run(string environment, (string, string)[] files, string? output = null, TimeSpan? timeout = null,
        long? memory = null, bool network = false, RemoteOpsConfig? config = null) =>
        HerderMinionRunner.RunAsync(config ?? Config(), new HerderMinionRequest
        {
            Environment = environment, Files = Files(files), Output = output, Timeout = timeout, MemoryLimit = memory, Network = network,
        }, CancellationToken.None);

    [Fact]
    public async Task Python_reads_its_files_and_returns_an_output_file()
    {
        var r = await Run("python", [("main.py", "import json\nd = json.load(open('in.json'))\nopen('result.txt','w').write(str(d['a'] * 7))\nprint('done')"), ("in.json", "{\"a\": 6}")], output: "result.txt");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("done\n", r.Stdout);
        Assert.Equal("42", Encoding.UTF8.GetString(r.Output!));
        Assert.Equal(("python", "com.acme.minions", "result.txt", true, false, false), (r.Environment, r.Node, r.OutputName, r.Sandboxed, r.TimedOut, r.MemoryExceeded));
    }

    [Fact]
    public async Task Bash_and_node_run_with_stdout_and_stderr_apart()
    {
        var bash = await Run("bash", [("main.sh", "echo out; echo err >&2; exit 3")]);
        Assert.Equal((3, "out\n", "err\n"), (bash.ExitCode, bash.Stdout, bash.Stderr));
        var node = await Run("node", [("main.js", "console.log(6*7)")]);
        Assert.Equal((0, "42\n"), (node.ExitCode, node.Stdout));
    }

    [Fact]
    public async Task A_timeout_kills_the_whole_tree_grandchildren_included()
    {
        // A unique sleep length marks the grandchild in /proc, whatever pid namespace it is in.
        var mark = $"{Random.Shared.Next(100000, 999999)}.5";
        var r = await Run("bash", [("main.sh", $"(sleep {mark}; echo escaped) &\nbash -c 'sleep {mark}'\n")], timeout: TimeSpan.FromSeconds(2));
        Assert.True(r.TimedOut);
        Assert.Empty(ProcessesWith($"sleep {mark}"));
    }

    [Fact]
    public async Task A_memory_hog_is_refused_the_memory_and_reported()
    {
        var r = await Run("python", [("main.py", "x = bytearray(512 * 1024 * 1024)\nprint('got it')")], memory: 64L * 1024 * 1024);
        Assert.True(r.MemoryExceeded, r.Stderr);
        Assert.NotEqual(0, r.ExitCode);
        Assert.DoesNotContain("got it", r.Stdout);
        var small = await Run("python", [("main.py", "x = bytearray(8 * 1024 * 1024)\nprint('got it')")], memory: 64L * 1024 * 1024);
        Assert.Equal((0, false, "got it\n"), (small.ExitCode, small.MemoryExceeded, small.Stdout));
    }

    [Fact]
    public async Task The_network_is_cut_unless_asked_for()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var connect = $"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=5)\nprint('connected')";
        var cut = await Run("python", [("main.py", connect)]);
        Assert.NotEqual(0, cut.ExitCode);
        Assert.Contains("Error", cut.Stderr);
        var open = await Run("python", [("main.py", connect)], network: true);
        Assert.Equal((0, "connected\n"), (open.ExitCode, open.Stdout));
    }

    [Fact]
    public async Task Only_its_own_directory_is_writable_and_tmp_is_private()
    {
        var outside = _dir.File("outside.txt");
        var script = $"""
            echo x > {outside} || echo outside-refused
            echo x > /usr/minion-was-here || echo usr-refused
            echo x > /tmp/minion-tmp && echo tmp-ok
            echo x > mine.txt && echo own-ok
            """;
        var r = await Run("bash", [("main.sh", script)]);
        Assert.Equal("outside-refused\nusr-refused\ntmp-ok\nown-ok\n", r.Stdout);
        Assert.False(File.Exists(outside));
        Assert.False(File.Exists("/usr/minion-was-here"));
        Assert.False(File.Exists("/tmp/minion-tmp"));
    }

    [Fact]
    public async Task It_sees_neither_the_config_file_nor_the_callers_environment_and_has_its_own_pids()
    {
        var path = "/etc/remoteops-herder-test-" + Guid.NewGuid().ToString("N") + ".yaml";
        File.WriteAllText(path, "destination: com.acme.minions\nherder:\n  max_timeout: 20s\n# secret-marker\n");
        try
        {
            Environment.SetEnvironmentVariable("REMOTEOPS_HERDER_TEST_SECRET", "leaked");
            var r = await Run("bash", [("main.sh", $"cat {path}; echo \"[$REMOTEOPS_HERDER_TEST_SECRET]\"; echo $$")], config: ConfigLoader.Load(path));
            Assert.DoesNotContain("secret-marker", r.Stdout);
            Assert.Contains("[]", r.Stdout);
            // bash is the only process of its PID namespace besides bubblewrap's init: a tiny pid.
            Assert.True(int.Parse(r.Stdout.Trim().Split('\n')[^1]) < 10, r.Stdout);
        }
        finally
        {
            File.Delete(path);
            Environment.SetEnvironmentVariable("REMOTEOPS_HERDER_TEST_SECRET", null);
        }
    }

    [Fact]
    public async Task Unsandboxed_runs_happen_only_where_the_config_allows_them()
    {
        var r = await Run("bash", [("main.sh", "echo $HOME")], config: Config("  sandbox: none\n"));
        Assert.Equal((0, false), (r.ExitCode, r.Sandboxed));
        Assert.Contains("remoteops-minion-", r.Stdout);
    }

    [Fact]
    public async Task Configured_environments_add_to_and_replace_the_built_ins()
    {
        var config = Config("  environments:\n    shout: [bash, -c, 'echo LOUD; cat words.txt']\n    python: [bash, main.py]\n");
        var shout = await Run("shout", [("words.txt", "hi")], config: config);
        Assert.Equal("LOUD\nhi", shout.Stdout);
        var python = await Run("python", [("main.py", "echo not python")], config: config);
        Assert.Equal("not python\n", python.Stdout);
        var names = HerderEnvironments.All(config.Herder).Select(e => e.Name).ToArray();
        Assert.Equal(["bash", "python", "node", "ruby", "pwsh", "latex", "shout"], names);
    }

    [Theory]
    [InlineData("cobol", HerderFailure.UnknownEnvironment, "Unknown environment 'cobol'")]
    [InlineData("../main.py", HerderFailure.InvalidFile, "'..'")]
    [InlineData("sub/main.py", HerderFailure.InvalidFile, "'/'")]
    [InlineData("big", HerderFailure.InvalidFile, "MiB")]
    [InlineData("slow", HerderFailure.InvalidLimit, "herder.max_timeout")]
    [InlineData("greedy", HerderFailure.InvalidLimit, "herder.memory_limit")]
    [InlineData("bad-output", HerderFailure.InvalidFile, "-Output")]
    public async Task Bad_requests_are_refused_before_anything_runs(string kind, HerderFailure failure, string says)
    {
        var request = new HerderMinionRequest { Environment = "bash", Files = Files(("main.sh", "touch ran")) };
        request = kind switch
        {
            "cobol" => request with { Environment = "cobol" },
            "big" => request with { Files = new Dictionary<string, byte[]> { ["main.sh"] = new byte[100 * 1024 * 1024] } },
            "slow" => request with { Timeout = TimeSpan.FromMinutes(5) },
            "greedy" => request with { MemoryLimit = 1L << 36 },
            "bad-output" => request with { Output = "../../etc/passwd" },
            _ => request with { Files = Files((kind, "x")) },
        };
        var e = await Assert.ThrowsAsync<HerderException>(() => HerderMinionRunner.RunAsync(Config(), request, CancellationToken.None));
        Assert.Equal(failure, e.Failure);
        Assert.Equal("RemoteOps.Herder" + failure, e.ErrorId);
        Assert.Contains(says, e.Message);
    }

    [Fact]
    public async Task An_output_link_planted_to_read_outside_is_not_followed()
    {
        var r = await Run("bash", [("main.sh", "ln -s /etc/hostname result.txt")], output: "result.txt");
        Assert.Equal(0, r.ExitCode);
        Assert.Null(r.Output);
    }

    [Fact]
    public async Task Cancelling_kills_the_run_and_removes_its_directory()
    {
        var mark = $"{Random.Shared.Next(100000, 999999)}.25";
        using var cts = new CancellationTokenSource();
        var run = HerderMinionRunner.RunAsync(Config(), new HerderMinionRequest { Environment = "bash", Files = Files(("main.sh", $"echo $PWD > /dev/stderr; sleep {mark}")) }, cts.Token);
        await Until(() => ProcessesWith($"sleep {mark}").Count > 0);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Empty(ProcessesWith($"sleep {mark}"));
        Assert.DoesNotContain(Directory.GetDirectories(Path.GetTempPath(), "remoteops-minion-*"), d => Directory.GetFiles(d).Any(f => File.ReadAllText(f).Contains(mark)));
    }

    private static async Task Until(Func<bool> condition)
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition()) await Task.Delay(20, bound.Token);
    }

    /// <summary>Pids of live processes whose command line contains <paramref name="text"/>.</summary>
    internal static List<int> ProcessesWith(string text)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                var state = File.ReadAllText(Path.Combine(dir, "stat"));
                // A zombie is already dead; only its parent's reaping is pending.
                if (cmdline.Contains(text) && !state[(state.LastIndexOf(')') + 2)..].StartsWith('Z')) found.Add(pid);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return found;
    }
}
