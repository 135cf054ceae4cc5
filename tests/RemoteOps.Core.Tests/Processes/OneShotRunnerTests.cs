using RemoteOps.Processes;
using RemoteOps.TestSupport;
using static RemoteOps.Core.Tests.Processes.ProcessProbe;

namespace RemoteOps.Core.Tests.Processes;

// Real processes (/bin/sh, sleep, cat) and /proc: the suites run on Linux.
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class OneShotRunnerTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private static OneShotOptions Sh(string script, params string[] args) => new(["/bin/sh", "-c", script, "sh", .. args]);

    private static Task<OneShotResult> Run(OneShotOptions options, CancellationToken ct = default) =>
        OneShotRunner.RunAsync(options, ct).WaitAsync(Bound);

    [Fact]
    public async Task Exit_code_and_output_are_returned_with_stderr_also_alone()
    {
        var result = await Run(Sh("echo out1; echo err1 >&2; echo out2; exit 7"));
        Assert.Equal(7, result.ExitCode);
        Assert.Null(result.StartFailure);
        Assert.False(result.TimedOut);
        Assert.False(result.OutputTruncated);
        Assert.Equal(0, result.DroppedBytes);
        // Two pipes: stdout's lines keep their order, stderr's place among them is not fixed.
        Assert.Equal(["err1", "out1", "out2"], result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order());
        Assert.Contains("out1\nout2\n", result.Output.Replace("err1\n", ""));
        Assert.Equal("err1\n", result.StandardError);
        Assert.True(result.ProcessId > 0);
    }

    /// <summary>A parent-death signal (bubblewrap's --die-with-parent, setpriv --pdeathsig) follows the thread that
    /// forked the child. A run started from a thread that ends at once must live on: it is forked from the launcher's
    /// thread, which lives as long as the process.</summary>
    [Fact]
    public async Task A_child_with_a_parent_death_signal_outlives_the_thread_that_asked_for_it()
    {
        var setpriv = new[] { "/usr/bin/setpriv", "/bin/setpriv" }.First(File.Exists);
        Task<OneShotResult>? run = null;
        var starter = new Thread(() => run = OneShotRunner.RunAsync(new OneShotOptions(
            [setpriv, "--pdeathsig", "KILL", "--", "/bin/sh", "-c", "sleep 1; echo survived"]), default));
        starter.Start();
        starter.Join();
        var result = await run!.WaitAsync(Bound);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("survived\n", result.StandardOutput);
    }

    [Fact]
    public async Task Arguments_reach_the_program_unchanged_and_stdin_is_closed()
    {
        // cat reads stdin: it ends at once only because stdin is closed.
        var result = await Run(Sh("""printf '[%s]' "$@"; cat""", "a b", "", "$HOME", "'q'"));
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("[a b][][$HOME]['q']", result.Output);
    }

    [Fact]
    public async Task Output_beyond_the_cap_is_dropped_and_counted_without_blocking_the_child()
    {
        // 300 000 bytes on each pipe: beyond a pipe buffer, so the run only ends if both are read to the end.
        var result = await Run(Sh("head -c 300000 /dev/zero | tr '\\0' x; head -c 300000 /dev/zero | tr '\\0' y >&2; exit 4")
            with { MaxOutputBytes = 1000 });
        Assert.Equal(4, result.ExitCode);
        Assert.Equal(1000, result.Output.Length);
        Assert.True(result.OutputTruncated);
        Assert.Equal(600_000 - 1000, result.DroppedBytes);
        Assert.Equal(new string('y', 1000), result.StandardError);
    }

    [Fact]
    public async Task Environment_variables_are_added_to_the_inherited_ones()
    {
        var options = Sh("""printf '%s|%s' "$REMOTEOPS_TEST_VAR" "${PATH:+has-path}" """) with
        {
            Environment = new Dictionary<string, string> { ["REMOTEOPS_TEST_VAR"] = "a value with spaces" },
        };
        var result = await Run(options);
        Assert.Equal("a value with spaces|has-path", result.Output.TrimEnd());
    }

    [Fact]
    public async Task The_timeout_kills_the_command_its_children_and_grandchildren_through_pipes()
    {
        using var dir = new TempDir();
        var pidFile = dir.File("pids");
        // The command, a background child, and a nested shell whose background sleep and pipeline are grandchildren.
        const string script = """
            echo $$ >> "$1/pids"
            sleep 300 & echo $! >> "$1/pids"
            sh -c '
              sleep 300 & echo $! >> "$0/pids"
              sh -c "echo \$\$ >> \"$0/pids\"; exec sleep 300" | sh -c "echo \$\$ >> \"$0/pids\"; exec cat"
              wait' "$1" &
            echo $! >> "$1/pids"
            wait
            """;
        var run = Run(Sh(script, dir.Path) with { Timeout = TimeSpan.FromSeconds(5) });
        var pids = await PidsAsync(pidFile, 6, run);
        Assert.Equal(6, pids.Length);

        var result = await run;
        Assert.True(result.TimedOut);
        Assert.Null(result.StartFailure);
        Assert.Equal(pids[0], result.ProcessId);
        Assert.Equal(128 + 9, result.ExitCode); // SIGKILL
        Assert.All(pids, pid => Assert.False(Alive(pid), $"pid {pid} survived"));
    }

    [Fact]
    public async Task A_background_child_holding_the_output_keeps_the_run_going_until_the_timeout_kills_it()
    {
        using var dir = new TempDir();
        var result = await Run(Sh("""sleep 300 & echo $! > "$1/pids"; echo bye; exit 3""", dir.Path) with { Timeout = TimeSpan.FromSeconds(2) });
        Assert.True(result.TimedOut);
        Assert.Equal(3, result.ExitCode); // the command's own exit code: it had exited
        Assert.Equal("bye\n", result.Output);
        var leftover = Assert.Single(ReadPids(dir.File("pids")));
        Assert.False(Alive(leftover), "the background child survived");
    }

    [Fact]
    public async Task A_background_child_that_let_go_of_the_output_is_left_running()
    {
        using var dir = new TempDir();
        var result = await Run(Sh("""sleep 300 >/dev/null 2>&1 & echo $! > "$1/pids"; exit 0""", dir.Path));
        var daemon = Assert.Single(ReadPids(dir.File("pids")));
        try
        {
            Assert.False(result.TimedOut);
            Assert.Equal(0, result.ExitCode);
            Assert.True(Alive(daemon));
        }
        finally
        {
            try { System.Diagnostics.Process.GetProcessById(daemon).Kill(); } catch (ArgumentException) { }
        }
    }

    [Fact]
    public async Task Cancellation_kills_the_whole_tree_and_throws()
    {
        using var dir = new TempDir();
        const string script = """
            echo $$ >> "$1/pids"
            sleep 300 & echo $! >> "$1/pids"
            sh -c 'sleep 300 & echo $! >> "$0/pids"; wait' "$1" &
            echo $! >> "$1/pids"
            wait
            """;
        using var cts = new CancellationTokenSource();
        var run = OneShotRunner.RunAsync(Sh(script, dir.Path), cts.Token);
        var pids = await PidsAsync(dir.File("pids"), 4, run);
        Assert.Equal(4, pids.Length);
        Assert.All(pids, pid => Assert.True(Alive(pid)));

        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(Bound));
        Assert.All(pids, pid => Assert.False(Alive(pid), $"pid {pid} survived"));
    }

    [Fact]
    public async Task Cancelled_before_the_start_runs_nothing()
    {
        using var dir = new TempDir();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            Run(Sh("""echo ran > "$1/ran" """, dir.Path), new CancellationToken(true)));
        Assert.False(File.Exists(dir.File("ran")));
    }

    [Fact]
    public async Task A_missing_program_is_a_start_failure_not_an_exception()
    {
        var result = await Run(new OneShotOptions(["no-such-program-remoteops", "x"]));
        Assert.Equal(-1, result.ExitCode);
        Assert.NotNull(result.StartFailure);
        Assert.Contains("no-such-program-remoteops", result.StartFailure);
        Assert.Contains("PATH", result.StartFailure);
        Assert.Equal("", result.Output);
        Assert.Equal(0, result.ProcessId);
    }

    [Fact]
    public async Task A_missing_path_a_non_executable_file_and_a_missing_working_directory_are_start_failures()
    {
        using var dir = new TempDir();
        var missing = await Run(new OneShotOptions([dir.File("nope")]));
        Assert.Contains("does not exist", missing.StartFailure);

        File.WriteAllText(dir.File("plain.sh"), "#!/bin/sh\nexit 0\n");
        var notExecutable = await Run(new OneShotOptions(["./plain.sh"]) { WorkingDirectory = dir.Path });
        Assert.Contains("not executable", notExecutable.StartFailure);

        var noDirectory = await Run(new OneShotOptions(["true"]) { WorkingDirectory = dir.File("gone") });
        Assert.Contains("working directory", noDirectory.StartFailure);
        Assert.All([missing, notExecutable, noDirectory], r => Assert.Equal(-1, r.ExitCode));
    }

    [Fact]
    public async Task A_relative_program_runs_in_the_working_directory()
    {
        using var dir = new TempDir();
        // A symlink rather than a script written here: executing a file just written can fail with ETXTBSY while a
        // process forked at that moment by a parallel test still holds its write descriptor.
        File.CreateSymbolicLink(dir.File("tool"), "/bin/sh");
        var result = await Run(new OneShotOptions(["./tool", "-c", "pwd"]) { WorkingDirectory = dir.Path });
        Assert.Null(result.StartFailure);
        Assert.Equal(Path.GetFullPath(dir.Path), result.Output.TrimEnd());
    }

    public static TheoryData<string, OneShotOptions> BadOptions => new()
    {
        { "empty command", new OneShotOptions([]) },
        { "blank program", new OneShotOptions(["  "]) },
        { "negative cap", new OneShotOptions(["true"]) { MaxOutputBytes = -1 } },
        { "zero timeout", new OneShotOptions(["true"]) { Timeout = TimeSpan.Zero } },
        { "env name with =", new OneShotOptions(["true"]) { Environment = new Dictionary<string, string> { ["A=B"] = "x" } } },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public async Task Bad_options_are_rejected(string what, OneShotOptions options)
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => OneShotRunner.RunAsync(options, CancellationToken.None));
        Assert.False(string.IsNullOrEmpty(e.Message), what);
    }
}
