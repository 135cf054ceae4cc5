using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using RemoteOps.Processes;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Processes;

// Real processes (/bin/sh, sleep, python3) and /proc: the suites run on Linux.
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class ProcessSupervisorTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>Records events and output, and lets a test await them.</summary>
    private sealed class Recorder
    {
        private readonly Channel<SupervisorEvent> _events = Channel.CreateUnbounded<SupervisorEvent>();
        private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
        public ConcurrentQueue<SupervisorEvent> All { get; } = new();
        public ConcurrentQueue<string> Lines { get; } = new();
        public Func<SupervisorEvent, Task>? Hook { get; set; }

        public async Task OnEvent(SupervisorEvent e, CancellationToken ct)
        {
            All.Enqueue(e);
            if (Hook is not null) await Hook(e); // before a test awaiting Next sees it
            _events.Writer.TryWrite(e);
        }

        public void OnOutput(string line)
        {
            Lines.Enqueue(line);
            _lines.Writer.TryWrite(line);
        }

        public async Task<SupervisorEvent> Next(SupervisorEventKind kind)
        {
            while (true)
            {
                var e = await _events.Reader.ReadAsync().AsTask().WaitAsync(Bound);
                if (e.Kind == kind) return e;
            }
        }

        public async Task<string> Line(Func<string, bool> match)
        {
            while (true)
            {
                string line;
                try { line = await _lines.Reader.ReadAsync().AsTask().WaitAsync(Bound); }
                catch (TimeoutException) { throw new TimeoutException($"No such line; output: [{string.Join(" | ", Lines)}]; events: [{string.Join(", ", Kinds)}]"); }
                if (match(line)) return line;
            }
        }

        public SupervisorEventKind[] Kinds => All.Select(e => e.Kind).ToArray();
    }

    private static SupervisorOptions Sh(string script, params string[] args) =>
        new(["/bin/sh", "-c", script, "sh", .. args]) { InitialBackoff = TimeSpan.FromMilliseconds(10), MaxBackoff = TimeSpan.FromMilliseconds(40) };

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    /// <summary>Alive: /proc/PID exists and the process is not a zombie (an unreaped orphan is dead).</summary>
    private static bool Alive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..][0];
            return state is not ('Z' or 'X');
        }
        catch (IOException) { return false; }
    }

    /// <summary>Every descendant of PID, from /proc/PID/task/*/children (independent of the supervisor's own scan).</summary>
    private static HashSet<int> Descendants(int pid)
    {
        var found = new HashSet<int>();
        var queue = new Queue<int>([pid]);
        while (queue.Count > 0)
        {
            var p = queue.Dequeue();
            string[] tasks;
            try { tasks = Directory.GetDirectories($"/proc/{p}/task"); } catch (IOException) { continue; }
            foreach (var t in tasks)
            {
                string children;
                try { children = File.ReadAllText(Path.Combine(t, "children")); } catch (IOException) { continue; }
                foreach (var c in children.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse))
                    if (found.Add(c)) queue.Enqueue(c);
            }
        }
        return found;
    }

    private static int[] ReadPids(string file) =>
        File.ReadAllLines(file).Where(l => l.Trim().Length > 0).Select(l => int.Parse(l.Trim())).ToArray();

    [Fact]
    public async Task Port_is_the_last_argument_and_in_PORT_and_the_pid_is_the_commands_own()
    {
        var options = Sh("""printf 'arg=%s\n' "$@"; echo "PORT=$PORT"; echo "pid=$$"; exec sleep 300""", "a", "b c") with
        {
            TrailingArguments = ["31234"],
            Environment = new Dictionary<string, string> { ["PORT"] = "31234", ["PORT_HTTP"] = "31234" },
        };
        var rec = new Recorder();
        using var cts = new CancellationTokenSource();
        var run = new ProcessSupervisor(options).RunAsync(rec.OnEvent, rec.OnOutput, cts.Token);

        var started = await rec.Next(SupervisorEventKind.Started);
        var args = new List<string>();
        for (var i = 0; i < 3; i++) args.Add(await rec.Line(l => l.StartsWith("arg=")));
        Assert.Equal(["arg=a", "arg=b c", "arg=31234"], args);
        Assert.Equal("PORT=31234", await rec.Line(l => l.StartsWith("PORT=")));
        Assert.Equal($"pid={started.ProcessId}", await rec.Line(l => l.StartsWith("pid=")));

        cts.Cancel();
        await run.WaitAsync(Bound);
        Assert.False(Alive(started.ProcessId));
        Assert.Equal(SupervisorEventKind.Stopped, rec.Kinds[^1]);
    }

    [Fact]
    public async Task A_crashing_command_is_restarted_with_backoff_then_given_up()
    {
        var rec = new Recorder();
        var options = Sh("exit 3") with { MaxRestarts = 2 };
        await new ProcessSupervisor(options).RunAsync(rec.OnEvent, null, CancellationToken.None).WaitAsync(Bound);

        SupervisorEventKind[] run = [SupervisorEventKind.Started, SupervisorEventKind.Ready, SupervisorEventKind.Exited];
        Assert.Equal([.. run, SupervisorEventKind.Restarting, .. run, SupervisorEventKind.Restarting, .. run, SupervisorEventKind.GaveUp], rec.Kinds);
        Assert.All(rec.All.Where(e => e.Kind is SupervisorEventKind.Exited or SupervisorEventKind.GaveUp), e => Assert.Equal(3, e.ExitCode));
        var restarting = rec.All.Where(e => e.Kind == SupervisorEventKind.Restarting).ToArray();
        Assert.Equal([TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(20)], restarting.Select(e => e.Delay!.Value));
        Assert.Equal([1, 2], restarting.Select(e => e.Restarts));
        var pids = rec.All.Where(e => e.Kind == SupervisorEventKind.Started).Select(e => e.ProcessId).ToArray();
        Assert.Equal(3, pids.Distinct().Count());
        Assert.Contains("giving up", rec.All.Last().Message);
    }

    [Fact]
    public async Task MaxRestarts_zero_never_restarts()
    {
        var rec = new Recorder();
        await new ProcessSupervisor(Sh("exit 0") with { MaxRestarts = 0 }).RunAsync(rec.OnEvent, null, CancellationToken.None).WaitAsync(Bound);
        Assert.Equal([SupervisorEventKind.Started, SupervisorEventKind.Ready, SupervisorEventKind.Exited, SupervisorEventKind.GaveUp], rec.Kinds);
        Assert.Equal(0, rec.All.Last().ExitCode);
    }

    [Fact]
    public async Task A_stable_run_resets_the_backoff_and_the_count()
    {
        // StableAfter = 0: every run counts as stable, so the limit of 1 is never reached and the delay never grows.
        var rec = new Recorder();
        using var cts = new CancellationTokenSource();
        var options = Sh("exit 1") with { MaxRestarts = 1, StableAfter = TimeSpan.Zero };
        var restarts = 0;
        rec.Hook = e =>
        {
            if (e.Kind == SupervisorEventKind.Restarting && ++restarts == 4) cts.Cancel();
            return Task.CompletedTask;
        };
        await new ProcessSupervisor(options).RunAsync(rec.OnEvent, null, cts.Token).WaitAsync(Bound);
        var restarting = rec.All.Where(e => e.Kind == SupervisorEventKind.Restarting).ToArray();
        Assert.Equal(4, restarting.Length);
        Assert.All(restarting, e => Assert.Equal(TimeSpan.FromMilliseconds(10), e.Delay));
        Assert.All(restarting, e => Assert.Equal(1, e.Restarts));
        Assert.DoesNotContain(SupervisorEventKind.GaveUp, rec.Kinds);
        Assert.Equal(SupervisorEventKind.Stopped, rec.Kinds[^1]);
    }

    [Fact]
    public void Backoff_doubles_up_to_the_cap()
    {
        var s = new ProcessSupervisor(new SupervisorOptions(["true"]));
        Assert.Equal(
            [1, 2, 4, 8, 16, 30, 30],
            Enumerable.Range(1, 7).Select(n => (int)s.BackoffFor(n).TotalSeconds));
        Assert.Equal(TimeSpan.FromSeconds(30), s.BackoffFor(1000));
        Assert.Equal(TimeSpan.FromSeconds(30), s.BackoffFor(int.MaxValue));
    }

    [Fact]
    public async Task Cancellation_kills_the_whole_tree()
    {
        var rec = new Recorder();
        using var cts = new CancellationTokenSource();
        // Two background children and a third one of a nested shell (a grandchild).
        var options = Sh("sleep 300 & sleep 300 & sh -c 'sleep 300 & echo inner; wait' & echo ready; wait");
        var run = new ProcessSupervisor(options).RunAsync(rec.OnEvent, rec.OnOutput, cts.Token);
        var started = await rec.Next(SupervisorEventKind.Started);
        // "inner" comes from a background shell: it may come before or after "ready".
        var first = await rec.Line(l => l is "ready" or "inner");
        await rec.Line(l => l is "ready" or "inner" && l != first);
        var tree = Descendants(started.ProcessId);
        Assert.Equal(4, tree.Count);
        Assert.All(tree, pid => Assert.True(Alive(pid)));

        cts.Cancel();
        await run.WaitAsync(Bound);
        Assert.False(Alive(started.ProcessId));
        Assert.All(tree, pid => Assert.False(Alive(pid), $"pid {pid} survived"));
        var stopped = rec.All.Last();
        Assert.Equal(SupervisorEventKind.Stopped, stopped.Kind);
        Assert.Equal(started.ProcessId, stopped.ProcessId);
        Assert.Equal(1, rec.Kinds.Count(k => k == SupervisorEventKind.Stopped));
        Assert.DoesNotContain(SupervisorEventKind.Exited, rec.Kinds);
    }

    [Fact]
    public async Task Cancellation_kills_grandchildren_reparented_after_their_parent_died()
    {
        using var dir = new TempDir();
        var rec = new Recorder();
        using var cts = new CancellationTokenSource();
        // (sleep &) : the subshell exits at once, its sleep is re-parented away from the command's tree.
        var options = Sh("""(sleep 300 & echo $! > "$1/orphan"); sleep 300 & echo $! > "$1/child"; echo ready; wait""", dir.Path);
        var run = new ProcessSupervisor(options).RunAsync(rec.OnEvent, rec.OnOutput, cts.Token);
        var started = await rec.Next(SupervisorEventKind.Started);
        await rec.Line(l => l == "ready");
        var orphan = ReadPids(dir.File("orphan")).Single();
        var child = ReadPids(dir.File("child")).Single();
        Assert.True(Alive(orphan));
        Assert.True(Alive(child));
        Assert.DoesNotContain(orphan, Descendants(started.ProcessId)); // really outside the tree

        cts.Cancel();
        await run.WaitAsync(Bound);
        Assert.False(Alive(started.ProcessId));
        Assert.False(Alive(child), "the child survived");
        Assert.False(Alive(orphan), "the re-parented grandchild survived");
    }

    [Fact]
    public async Task What_an_exited_command_left_running_is_killed_before_the_restart()
    {
        using var dir = new TempDir();
        var rec = new Recorder();
        // Each run leaves a background sleep (holding the output pipe) and exits.
        var options = Sh("""sleep 300 & echo $! >> "$1/pids"; exit 5""", dir.Path) with { MaxRestarts = 1 };
        await new ProcessSupervisor(options).RunAsync(rec.OnEvent, null, CancellationToken.None).WaitAsync(Bound);
        Assert.Equal(SupervisorEventKind.GaveUp, rec.Kinds[^1]);
        Assert.Equal(5, rec.All.Last().ExitCode);
        var pids = ReadPids(dir.File("pids"));
        Assert.Equal(2, pids.Length);
        Assert.All(pids, pid => Assert.False(Alive(pid), $"pid {pid} survived"));
    }

    [Fact]
    public async Task Cancellation_during_the_backoff_stops_at_once()
    {
        var rec = new Recorder();
        using var cts = new CancellationTokenSource();
        var options = Sh("exit 1") with { InitialBackoff = TimeSpan.FromMinutes(10), MaxBackoff = TimeSpan.FromMinutes(10) };
        rec.Hook = e =>
        {
            if (e.Kind == SupervisorEventKind.Restarting) cts.Cancel();
            return Task.CompletedTask;
        };
        // Bounded far below the 10-minute backoff: returning at all means the wait was cancelled.
        await new ProcessSupervisor(options).RunAsync(rec.OnEvent, null, cts.Token).WaitAsync(Bound);
        Assert.Equal([SupervisorEventKind.Started, SupervisorEventKind.Ready, SupervisorEventKind.Exited, SupervisorEventKind.Restarting, SupervisorEventKind.Stopped], rec.Kinds);
        Assert.Equal(1, rec.All.Last().ExitCode);
    }

    [Fact]
    public async Task Cancelled_before_the_start_runs_nothing()
    {
        var rec = new Recorder();
        await new ProcessSupervisor(Sh("exit 1")).RunAsync(rec.OnEvent, null, new CancellationToken(true)).WaitAsync(Bound);
        Assert.Equal([SupervisorEventKind.Stopped], rec.Kinds);
        Assert.Equal(0, rec.All.Single().ProcessId);
    }

    [Fact]
    public async Task Ready_comes_only_once_the_child_listens_on_the_port()
    {
        using var dir = new TempDir();
        var port = FreePort();
        var gate = dir.File("go");
        // Listens only once the test creates the gate file; port = last argument.
        const string script = """
            import os, socket, sys, time
            print("waiting", flush=True)
            while not os.path.exists(sys.argv[1]):
                time.sleep(0.01)
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", int(sys.argv[-1])))
            s.listen()
            print("listening", flush=True)
            while True:
                s.accept()[0].close()
            """;
        var options = new SupervisorOptions(["python3", "-c", script, gate])
        {
            TrailingArguments = [port.ToString()],
            ReadyPort = port,
            ReadyTimeout = TimeSpan.FromMinutes(5),
        };
        var rec = new Recorder();
        using var cts = new CancellationTokenSource();
        var released = false;
        var connectedWhenReady = false;
        rec.Hook = async e =>
        {
            if (e.Kind != SupervisorEventKind.Ready) return;
            Assert.True(Volatile.Read(ref released), "Ready before the child could listen");
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            connectedWhenReady = true;
        };
        var run = new ProcessSupervisor(options).RunAsync(rec.OnEvent, rec.OnOutput, cts.Token);
        await rec.Line(l => l == "waiting");
        Volatile.Write(ref released, true);
        File.WriteAllText(gate, "");
        var ready = await rec.Next(SupervisorEventKind.Ready);
        Assert.False(ready.ReadyTimedOut);
        Assert.True(connectedWhenReady);
        Assert.Contains($"port {port}", ready.Message);

        cts.Cancel();
        await run.WaitAsync(Bound);
        Assert.Equal([SupervisorEventKind.Started, SupervisorEventKind.Ready, SupervisorEventKind.Stopped], rec.Kinds);
        Assert.False(Alive(ready.ProcessId));
    }

    [Fact]
    public async Task A_real_http_server_becomes_ready()
    {
        var port = FreePort();
        var options = new SupervisorOptions(["python3", "-m", "http.server", "--bind", "127.0.0.1"])
        {
            TrailingArguments = [port.ToString()],
            ReadyPort = port,
            ReadyTimeout = TimeSpan.FromMinutes(5),
        };
        var rec = new Recorder();
        using var cts = new CancellationTokenSource();
        var run = new ProcessSupervisor(options).RunAsync(rec.OnEvent, null, cts.Token);
        var ready = await rec.Next(SupervisorEventKind.Ready);
        Assert.False(ready.ReadyTimedOut);
        using (var http = new HttpClient())
        {
            var response = await http.GetAsync($"http://127.0.0.1:{port}/").WaitAsync(Bound);
            Assert.True(response.IsSuccessStatusCode);
        }
        cts.Cancel();
        await run.WaitAsync(Bound);
        Assert.False(Alive(ready.ProcessId));
    }

    [Fact]
    public async Task Not_ready_within_the_timeout_is_reported_and_treated_as_up()
    {
        var port = FreePort(); // nobody listens there
        var rec = new Recorder();
        using var cts = new CancellationTokenSource();
        var options = new SupervisorOptions(["sleep", "300"]) { ReadyPort = port, ReadyTimeout = TimeSpan.FromMilliseconds(200) };
        var run = new ProcessSupervisor(options).RunAsync(rec.OnEvent, null, cts.Token);
        var ready = await rec.Next(SupervisorEventKind.Ready);
        Assert.True(ready.ReadyTimedOut);
        Assert.Contains("treating it as up", ready.Message);
        Assert.True(Alive(ready.ProcessId));
        cts.Cancel();
        await run.WaitAsync(Bound);
        Assert.False(Alive(ready.ProcessId));
    }

    [Fact]
    public async Task A_command_that_exits_before_it_is_ready_is_never_ready()
    {
        var rec = new Recorder();
        var options = Sh("exit 2") with { ReadyPort = FreePort(), ReadyTimeout = TimeSpan.FromMinutes(5), MaxRestarts = 0 };
        await new ProcessSupervisor(options).RunAsync(rec.OnEvent, null, CancellationToken.None).WaitAsync(Bound);
        Assert.Equal([SupervisorEventKind.Started, SupervisorEventKind.Exited, SupervisorEventKind.GaveUp], rec.Kinds);
    }

    [Fact]
    public async Task Output_is_discarded_without_blocking_the_child()
    {
        // 2 MB on stdout and stderr: far beyond a pipe buffer; the run only ends if both pipes are drained.
        var rec = new Recorder();
        var options = Sh("head -c 2000000 /dev/zero | tr '\\0' 'x' | fold -w 100; head -c 2000000 /dev/zero | tr '\\0' 'y' | fold -w 100 >&2; exit 4") with { MaxRestarts = 0 };
        await new ProcessSupervisor(options).RunAsync(rec.OnEvent, null, CancellationToken.None).WaitAsync(Bound);
        Assert.Equal(4, rec.All.Last().ExitCode);
    }

    [Fact]
    public async Task Stderr_lines_reach_the_output_callback_too()
    {
        var rec = new Recorder();
        using var cts = new CancellationTokenSource();
        var run = new ProcessSupervisor(Sh("echo to-stderr >&2; exec sleep 300")).RunAsync(rec.OnEvent, rec.OnOutput, cts.Token);
        Assert.Equal("to-stderr", await rec.Line(_ => true));
        cts.Cancel();
        await run.WaitAsync(Bound);
    }

    [Fact]
    public async Task The_last_lines_of_a_short_run_are_delivered_before_Exited()
    {
        for (var i = 0; i < 20; i++)
        {
            var rec = new Recorder();
            var seenAtExit = -1;
            rec.Hook = e =>
            {
                if (e.Kind == SupervisorEventKind.Exited) seenAtExit = rec.Lines.Count;
                return Task.CompletedTask;
            };
            var options = Sh("echo out1; echo err1 >&2; echo out2; exit 0") with { MaxRestarts = 0 };
            await new ProcessSupervisor(options).RunAsync(rec.OnEvent, rec.OnOutput, CancellationToken.None).WaitAsync(Bound);
            Assert.Equal(3, seenAtExit);
            Assert.Equal(["err1", "out1", "out2"], rec.Lines.Order());
        }
    }

    [Fact]
    public async Task An_output_callback_that_throws_does_not_disturb_the_run()
    {
        var rec = new Recorder();
        var lines = 0;
        var options = Sh("echo one; echo two; echo three; exit 6") with { MaxRestarts = 0 };
        await new ProcessSupervisor(options).RunAsync(rec.OnEvent, _ => { Interlocked.Increment(ref lines); throw new InvalidOperationException("bad callback"); }, CancellationToken.None).WaitAsync(Bound);
        Assert.Equal([SupervisorEventKind.Started, SupervisorEventKind.Ready, SupervisorEventKind.Exited, SupervisorEventKind.GaveUp], rec.Kinds);
        Assert.Equal(6, rec.All.Last().ExitCode);
    }

    [Fact]
    public async Task Stopped_gets_a_token_that_is_not_cancelled_so_clean_up_can_run()
    {
        var rec = new Recorder();
        using var cts = new CancellationTokenSource();
        CancellationToken? stoppedToken = null;
        CancellationToken? readyToken = null;
        var run = new ProcessSupervisor(new SupervisorOptions(["sleep", "300"])).RunAsync(async (e, ct) =>
        {
            if (e.Kind == SupervisorEventKind.Ready) readyToken = ct;
            if (e.Kind == SupervisorEventKind.Stopped) stoppedToken = ct;
            await rec.OnEvent(e, ct);
        }, null, cts.Token);
        await rec.Next(SupervisorEventKind.Ready);
        cts.Cancel();
        await run.WaitAsync(Bound);
        Assert.True(readyToken!.Value.IsCancellationRequested); // the run's own token
        Assert.False(stoppedToken!.Value.CanBeCanceled);
    }

    [Fact]
    public async Task An_event_handler_that_throws_kills_the_tree_and_propagates()
    {
        var rec = new Recorder();
        var pid = 0;
        rec.Hook = e =>
        {
            if (e.Kind == SupervisorEventKind.Ready) { pid = e.ProcessId; throw new InvalidOperationException("registry down"); }
            return Task.CompletedTask;
        };
        var run = new ProcessSupervisor(new SupervisorOptions(["sleep", "300"])).RunAsync(rec.OnEvent, null, CancellationToken.None);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => run.WaitAsync(Bound));
        Assert.Equal("registry down", e.Message);
        Assert.NotEqual(0, pid);
        Assert.False(Alive(pid));
    }

    [Fact]
    public async Task A_missing_program_is_an_exception_not_a_restart_loop()
    {
        var rec = new Recorder();
        var e = await Assert.ThrowsAsync<ProcessSupervisorException>(() =>
            new ProcessSupervisor(new SupervisorOptions(["no-such-program-remoteops", "x"])).RunAsync(rec.OnEvent, null, CancellationToken.None));
        Assert.Contains("no-such-program-remoteops", e.Message);
        Assert.Contains("PATH", e.Message);
        Assert.Empty(rec.All);
    }

    [Fact]
    public async Task A_missing_path_a_non_executable_file_and_a_missing_working_directory_are_exceptions()
    {
        using var dir = new TempDir();
        var rec = new Recorder();
        var missing = await Assert.ThrowsAsync<ProcessSupervisorException>(() =>
            new ProcessSupervisor(new SupervisorOptions([dir.File("nope")])).RunAsync(rec.OnEvent, null, CancellationToken.None));
        Assert.Contains("does not exist", missing.Message);

        File.WriteAllText(dir.File("plain.sh"), "#!/bin/sh\nexit 0\n");
        var notExec = await Assert.ThrowsAsync<ProcessSupervisorException>(() =>
            new ProcessSupervisor(new SupervisorOptions(["./plain.sh"]) { WorkingDirectory = dir.Path }).RunAsync(rec.OnEvent, null, CancellationToken.None));
        Assert.Contains("not executable", notExec.Message);

        var noDir = await Assert.ThrowsAsync<ProcessSupervisorException>(() =>
            new ProcessSupervisor(new SupervisorOptions(["true"]) { WorkingDirectory = dir.File("gone") }).RunAsync(rec.OnEvent, null, CancellationToken.None));
        Assert.Contains("working directory", noDir.Message);
        Assert.Empty(rec.All);
    }

    [Fact]
    public async Task A_relative_program_runs_in_the_working_directory()
    {
        using var dir = new TempDir();
        // A symlink rather than a script written here (a precaution: executing a file just written can fail with
        // ETXTBSY while a process forked at that moment by a parallel test still holds its write descriptor).
        File.CreateSymbolicLink(dir.File("svc"), "/bin/sh");
        var rec = new Recorder();
        var options = new SupervisorOptions(["./svc", "-c", "echo \"cwd=$(pwd) last=$1\"", "sh"]) { WorkingDirectory = dir.Path, TrailingArguments = ["4242"], MaxRestarts = 0 };
        var run = new ProcessSupervisor(options).RunAsync(rec.OnEvent, rec.OnOutput, CancellationToken.None);
        Assert.Equal($"cwd={Path.GetFullPath(dir.Path)} last=4242", await rec.Line(l => l.StartsWith("cwd=")));
        await run.WaitAsync(Bound);
    }

    [Fact]
    public async Task ForPorts_passes_the_first_port_last_and_every_named_port_in_the_environment()
    {
        var options = SupervisorOptions.ForPorts(
            ["/bin/sh", "-c", """echo "last=$1 PORT=$PORT http=$PORT_HTTP metrics=$PORT_METRICS admin=$PORT_ADMIN_UI" """, "sh"],
            [new("http", 20001), new("metrics", 20002), new("admin-ui", 20003)]) with { MaxRestarts = 0 };
        Assert.Equal(20001, options.ReadyPort);
        var rec = new Recorder();
        var run = new ProcessSupervisor(options with { ReadyPort = null }).RunAsync(rec.OnEvent, rec.OnOutput, CancellationToken.None);
        Assert.Equal("last=20001 PORT=20001 http=20001 metrics=20002 admin=20003", await rec.Line(l => l.StartsWith("last=")));
        await run.WaitAsync(Bound);
    }

    [Fact]
    public void ForPorts_with_one_unnamed_port_sets_only_PORT_and_rejects_bad_names()
    {
        var options = SupervisorOptions.ForPorts(["svc"], [new("port", 25000)]);
        Assert.Equal(new Dictionary<string, string> { ["PORT"] = "25000" }, options.Environment);
        Assert.Equal(["25000"], options.TrailingArguments);
        Assert.Throws<ArgumentException>(() => SupervisorOptions.ForPorts(["svc"], []));
        Assert.Throws<ArgumentException>(() => SupervisorOptions.ForPorts(["svc"], [new("a-b", 1), new("a_b", 2)]));
        Assert.Throws<ArgumentException>(() => SupervisorOptions.ForPorts(["svc"], [new(" ", 1)]));
    }

    public static TheoryData<string, SupervisorOptions> BadOptions => new()
    {
        { "empty command", new SupervisorOptions([]) },
        { "blank program", new SupervisorOptions(["  "]) },
        { "negative backoff", new SupervisorOptions(["true"]) { InitialBackoff = TimeSpan.FromSeconds(-1) } },
        { "cap below the initial backoff", new SupervisorOptions(["true"]) { InitialBackoff = TimeSpan.FromSeconds(5), MaxBackoff = TimeSpan.FromSeconds(1) } },
        { "negative StableAfter", new SupervisorOptions(["true"]) { StableAfter = TimeSpan.FromSeconds(-1) } },
        { "port 0", new SupervisorOptions(["true"]) { ReadyPort = 0 } },
        { "port 65536", new SupervisorOptions(["true"]) { ReadyPort = 65536 } },
        { "zero ReadyTimeout", new SupervisorOptions(["true"]) { ReadyTimeout = TimeSpan.Zero } },
        { "env name with =", new SupervisorOptions(["true"]) { Environment = new Dictionary<string, string> { ["A=B"] = "x" } } },
        { "empty env name", new SupervisorOptions(["true"]) { Environment = new Dictionary<string, string> { [""] = "x" } } },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Bad_options_are_rejected(string what, SupervisorOptions options)
    {
        var e = Assert.Throws<ArgumentException>(() => new ProcessSupervisor(options));
        Assert.False(string.IsNullOrEmpty(e.Message), what);
    }
}
