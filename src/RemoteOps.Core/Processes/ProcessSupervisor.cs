using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace RemoteOps.Processes;

/// <summary>
/// What <see cref="ProcessSupervisor"/> runs and how it restarts it (a long-running service).
/// </summary>
/// <param name="Command">
/// The command: <c>Command[0]</c> is the program (found by <see cref="ExecutableLocator"/>: a bare name is looked up in
/// PATH; a relative path is resolved against <see cref="WorkingDirectory"/>, else the process's current directory), the
/// rest are its arguments.
/// </param>
public sealed record SupervisorOptions(IReadOnlyList<string> Command)
{
    /// <summary>Extra environment variables for the child (PORT, PORT_HTTP…), on top of the inherited ones.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>Arguments appended after <see cref="Command"/> (the assigned port, so it is the last argument).</summary>
    public IReadOnlyList<string> TrailingArguments { get; init; } = [];

    /// <summary>The child's working directory (null: the current directory of this process).</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Delay before the first restart; each further consecutive restart doubles it up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The cap of the restart delay.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How many consecutive restarts are allowed; when the command exits once more after that many,
    /// the supervisor reports <see cref="SupervisorEventKind.GaveUp"/> and returns. 0: never restart; &lt; 0: unlimited.
    /// </summary>
    public int MaxRestarts { get; init; } = 10;

    /// <summary>A run that lasted at least this long resets the backoff and the restart count.</summary>
    public TimeSpan StableAfter { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// When set, the process counts as up (<see cref="SupervisorEventKind.Ready"/>) only once a TCP connection to
    /// 127.0.0.1 (or ::1) on this port succeeds. When null, Ready follows Started at once.
    /// </summary>
    public int? ReadyPort { get; init; }

    /// <summary>
    /// How long to wait for <see cref="ReadyPort"/> to accept connections; when it runs out, Ready is reported anyway
    /// with <see cref="SupervisorEvent.ReadyTimedOut"/> set (the process is treated as up).
    /// </summary>
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Options for a service given its ports: the first port is appended as the last argument,
    /// set in PORT and used as <see cref="ReadyPort"/>; each named port is also set in PORT_&lt;NAME&gt; (the name upper-cased,
    /// any character other than A-Z, 0-9 and _ replaced by _; the names http and metrics give PORT_HTTP and PORT_METRICS).
    /// A single unnamed port can be passed with the name "port" (it then only sets PORT).
    /// </summary>
    public static SupervisorOptions ForPorts(IReadOnlyList<string> command, IReadOnlyList<KeyValuePair<string, int>> ports)
    {
        ArgumentNullException.ThrowIfNull(ports);
        if (ports.Count == 0) throw new ArgumentException("At least one port is needed.", nameof(ports));
        var env = new Dictionary<string, string> { ["PORT"] = ports[0].Value.ToString(CultureInfo.InvariantCulture) };
        foreach (var (name, port) in ports)
        {
            var variable = PortVariable(name);
            if (variable == "PORT") continue;
            if (!env.TryAdd(variable, port.ToString(CultureInfo.InvariantCulture)))
                throw new ArgumentException($"The port names give the environment variable {variable} twice.", nameof(ports));
        }
        return new SupervisorOptions(command)
        {
            Environment = env,
            TrailingArguments = [ports[0].Value.ToString(CultureInfo.InvariantCulture)],
            ReadyPort = ports[0].Value,
        };
    }

    /// <summary>The environment variable of a named port: PORT_&lt;NAME&gt; (PORT for the name "port").</summary>
    public static string PortVariable(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (string.Equals(name, "port", StringComparison.OrdinalIgnoreCase)) return "PORT";
        return "PORT_" + new string(name.ToUpperInvariant().Select(c => c is (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' ? c : '_').ToArray());
    }
}

/// <summary>The kinds of <see cref="SupervisorEvent"/>, in the order a run reports them.</summary>
public enum SupervisorEventKind
{
    /// <summary>The process was started (ProcessId is the command's own pid).</summary>
    Started,
    /// <summary>The process is up: it accepts connections on ReadyPort, or ReadyTimeout ran out (ReadyTimedOut), or no ReadyPort was given.</summary>
    Ready,
    /// <summary>The process exited by itself (ExitCode set); whatever it left behind in its process group has been killed.</summary>
    Exited,
    /// <summary>The process will be started again after Delay.</summary>
    Restarting,
    /// <summary>The process exited after MaxRestarts consecutive restarts; RunAsync returns.</summary>
    GaveUp,
    /// <summary>
    /// Cancellation stopped the supervisor: the process tree has been killed (and is gone). Replaces Exited for a run
    /// ended by cancellation; ProcessId/ExitCode are those of the last process (0/null if none ran). Last event.
    /// </summary>
    Stopped,
}

/// <summary>One thing that happened to the supervised command.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="ProcessId">The pid of the command's process (of the last one for Restarting/GaveUp/Stopped; 0 if none ran).</param>
/// <param name="ExitCode">Exit code, for Exited, GaveUp and Stopped (a process killed by a signal on Unix: 128 + signal).</param>
/// <param name="Delay">For Restarting: how long until the next start.</param>
/// <param name="Message">A readable sentence for -Verbose or an error message.</param>
public sealed record SupervisorEvent(SupervisorEventKind Kind, int ProcessId, int? ExitCode, TimeSpan? Delay, string Message)
{
    /// <summary>Ready only: the port did not accept connections within ReadyTimeout; the process is treated as up anyway.</summary>
    public bool ReadyTimedOut { get; init; }

    /// <summary>Consecutive restarts so far (since the last stable run), including the one announced by Restarting.</summary>
    public int Restarts { get; init; }
}

/// <summary>The command could not be started at all (missing program, bad working directory…): not a reason to restart.</summary>
public sealed class ProcessSupervisorException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Runs a command, restarts it when it exits (exponential backoff with a cap, a restart limit), and kills its whole
/// process tree when cancelled, so that no orphans remain.
/// </summary>
/// <remarks>
/// <para>The command is started as a <see cref="ProcessTree"/>: on Linux in a process group of its own (the pid stays
/// the command's own). Stopping kills that group, every descendant and whatever Kill(entireProcessTree) finds, and
/// waits until all of them are gone (see <see cref="ProcessTree"/> for what cannot be found). When the command exits
/// by itself, what it left running in its group is killed too before the restart (a leftover would typically still
/// hold the port).</para>
/// <para>The child's stdin is an open pipe that is never written to; stdout and stderr are read line by line and given
/// to the output callback (or discarded), so the child never blocks on a full pipe.</para>
/// </remarks>
public sealed class ProcessSupervisor
{
    private static readonly TimeSpan OutputDrainWait = TimeSpan.FromSeconds(5);
    private readonly SupervisorOptions _options;
    private readonly object _outputGate = new(); // one for all runs: a late line of a killed run never overlaps the next run's

    /// <summary>Checks the options (ArgumentException for an empty command, a negative delay, a port out of 1-65535…).</summary>
    public ProcessSupervisor(SupervisorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Command is null || options.Command.Count == 0 || string.IsNullOrWhiteSpace(options.Command[0]))
            throw new ArgumentException("The command is empty: give the program to run (and its arguments).", nameof(options));
        if (options.Command.Any(a => a is null) || options.TrailingArguments is null || options.TrailingArguments.Any(a => a is null))
            throw new ArgumentException("A command argument is null.", nameof(options));
        if (options.Environment is null || options.Environment.Any(kv => string.IsNullOrEmpty(kv.Key) || kv.Key.Contains('=') || kv.Value is null))
            throw new ArgumentException("An environment variable has an empty name, a name with '=', or a null value.", nameof(options));
        if (options.InitialBackoff < TimeSpan.Zero) throw new ArgumentException($"InitialBackoff {options.InitialBackoff} is negative.", nameof(options));
        if (options.MaxBackoff < options.InitialBackoff)
            throw new ArgumentException($"MaxBackoff {options.MaxBackoff} is less than InitialBackoff {options.InitialBackoff}.", nameof(options));
        if (options.StableAfter < TimeSpan.Zero) throw new ArgumentException($"StableAfter {options.StableAfter} is negative.", nameof(options));
        if (options.ReadyPort is < 1 or > 65535) throw new ArgumentException($"ReadyPort {options.ReadyPort} is not in 1-65535.", nameof(options));
        if (options.ReadyTimeout <= TimeSpan.Zero) throw new ArgumentException($"ReadyTimeout {options.ReadyTimeout} is not positive.", nameof(options));
        _options = options;
    }

    /// <summary>The delay before the given consecutive restart (1-based): InitialBackoff × 2^(n-1), at most MaxBackoff.</summary>
    public TimeSpan BackoffFor(int restart)
    {
        if (restart < 1) return TimeSpan.Zero;
        var ticks = (double)_options.InitialBackoff.Ticks * Math.Pow(2, Math.Min(restart - 1, 62));
        return ticks >= _options.MaxBackoff.Ticks ? _options.MaxBackoff : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>
    /// Runs the command until <paramref name="ct"/> is cancelled (then kills the process tree, waits until it is gone,
    /// reports Stopped and returns normally) or until the restart limit is reached (reports GaveUp and returns).
    /// </summary>
    /// <param name="onEvent">
    /// Awaited for each event, in order, before the supervisor goes on (Started, Ready, Exited, Restarting, GaveUp,
    /// Stopped). It gets <paramref name="ct"/>, except for Stopped, which gets CancellationToken.None (bound your
    /// own clean-up). If it throws, the process tree is killed and the exception propagates (an
    /// OperationCanceledException caused by <paramref name="ct"/> counts as a stop).
    /// </param>
    /// <param name="onOutput">
    /// Each line the child writes to stdout or stderr, called on a background thread, never concurrently; an
    /// exception it throws is ignored. Null: output is read and discarded.
    /// </param>
    /// <param name="ct">Stops the supervisor, also during a backoff wait or a readiness wait.</param>
    /// <exception cref="ProcessSupervisorException">The program cannot be started (not found, not executable, bad working directory).</exception>
    public async Task RunAsync(Func<SupervisorEvent, CancellationToken, Task> onEvent, Action<string>? onOutput, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(onEvent);
        var program = ResolveProgram();
        var restarts = 0;
        var lastPid = 0;
        int? lastExit = null;
        Run? run = null;
        try
        {
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                run = Run.Start(program, _options, onOutput, _outputGate);
                lastPid = run.Pid;
                lastExit = null;
                var startedAt = Stopwatch.GetTimestamp();
                await onEvent(new SupervisorEvent(SupervisorEventKind.Started, run.Pid, null, null,
                    $"Started {Describe()} (pid {run.Pid}).") { Restarts = restarts }, ct).ConfigureAwait(false);

                await WaitReadyAsync(run, onEvent, restarts, ct).ConfigureAwait(false);
                await run.Exited.WaitAsync(ct).ConfigureAwait(false);

                // Exited by itself: kill what it left behind in its group, and deliver its last output lines, before anything else.
                var ranFor = Stopwatch.GetElapsedTime(startedAt);
                lastExit = run.ExitCode;
                await run.KillLeftoversAsync().ConfigureAwait(false);
                run.Dispose();
                run = null;
                await onEvent(new SupervisorEvent(SupervisorEventKind.Exited, lastPid, lastExit, null,
                    $"{Describe()} (pid {lastPid}) exited with code {lastExit} after {ranFor.TotalSeconds:0.###} s.") { Restarts = restarts }, ct).ConfigureAwait(false);

                if (ranFor >= _options.StableAfter) restarts = 0;
                if (_options.MaxRestarts >= 0 && restarts >= _options.MaxRestarts)
                {
                    await onEvent(new SupervisorEvent(SupervisorEventKind.GaveUp, lastPid, lastExit, null,
                        $"{Describe()} exited with code {lastExit} after {restarts} consecutive restart(s); giving up (the limit is {_options.MaxRestarts}).")
                        { Restarts = restarts }, ct).ConfigureAwait(false);
                    return;
                }
                restarts++;
                var delay = BackoffFor(restarts);
                await onEvent(new SupervisorEvent(SupervisorEventKind.Restarting, lastPid, lastExit, delay,
                    $"Restarting {Describe()} in {delay.TotalSeconds:0.###} s (restart {restarts}{(_options.MaxRestarts >= 0 ? " of " + _options.MaxRestarts : "")}).")
                    { Restarts = restarts }, ct).ConfigureAwait(false);
                if (delay > TimeSpan.Zero) await Task.Delay(delay, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            if (run is not null)
            {
                await run.KillTreeAsync().ConfigureAwait(false);
                lastExit = run.HasExited ? run.ExitCode : null;
                run.Dispose();
                run = null;
            }
            await onEvent(new SupervisorEvent(SupervisorEventKind.Stopped, lastPid, lastExit, null,
                lastPid == 0 ? $"Stopped {Describe()} before it started." : $"Stopped {Describe()} (pid {lastPid}) and every process it started."),
                CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            if (run is not null)
            {
                await run.KillTreeAsync().ConfigureAwait(false);
                run.Dispose();
            }
        }
    }

    private async Task WaitReadyAsync(Run run, Func<SupervisorEvent, CancellationToken, Task> onEvent, int restarts, CancellationToken ct)
    {
        if (_options.ReadyPort is not { } port)
        {
            await onEvent(new SupervisorEvent(SupervisorEventKind.Ready, run.Pid, null, null, $"{Describe()} (pid {run.Pid}) is running.")
                { Restarts = restarts }, ct).ConfigureAwait(false);
            return;
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.ReadyTimeout);
        var pause = TimeSpan.FromMilliseconds(20);
        while (true)
        {
            if (run.Exited.IsCompleted) return; // exited before it was up: no Ready, the caller reports Exited
            try
            {
                if (await CanConnectAsync(port, timeout.Token).ConfigureAwait(false))
                {
                    await onEvent(new SupervisorEvent(SupervisorEventKind.Ready, run.Pid, null, null,
                        $"{Describe()} (pid {run.Pid}) accepts connections on port {port}.") { Restarts = restarts }, ct).ConfigureAwait(false);
                    return;
                }
                // Wait a little, but wake at once when the process exits.
                await Task.WhenAny(run.Exited, Task.Delay(pause, timeout.Token)).ConfigureAwait(false);
                timeout.Token.ThrowIfCancellationRequested();
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                if (run.Exited.IsCompleted) return;
                await onEvent(new SupervisorEvent(SupervisorEventKind.Ready, run.Pid, null, null,
                    $"{Describe()} (pid {run.Pid}) did not accept connections on port {port} within {_options.ReadyTimeout.TotalSeconds:0.###} s; treating it as up.")
                    { ReadyTimedOut = true, Restarts = restarts }, ct).ConfigureAwait(false);
                return;
            }
            if (pause < TimeSpan.FromMilliseconds(250)) pause *= 2;
        }
    }

    private static async Task<bool> CanConnectAsync(int port, CancellationToken ct)
    {
        foreach (var address in new[] { IPAddress.Loopback, IPAddress.IPv6Loopback })
        {
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
            attempt.CancelAfter(TimeSpan.FromSeconds(1));
            using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), attempt.Token).ConfigureAwait(false);
                return true;
            }
            catch (SocketException) { }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested) { }
        }
        return false;
    }

    private string Describe() => "'" + _options.Command[0] + "'";

    private string ResolveProgram() =>
        ExecutableLocator.TryResolve(_options.Command[0], _options.WorkingDirectory, out var path, out var problem)
            ? path
            : throw new ProcessSupervisorException(problem);

    /// <summary>One started process, the delivery of its output, and the clean-up of what it started.</summary>
    private sealed class Run : IDisposable
    {
        private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private ProcessTree _tree = null!;

        public int Pid => _tree.Pid;
        public Task Exited => _tree.Exited;
        public bool HasExited => _tree.HasExited;
        public int ExitCode => _tree.ExitCode;

        public static Run Start(string program, SupervisorOptions options, Action<string>? onOutput, object outputGate)
        {
            var psi = ProcessTree.StartInfo(program, options.Command.Skip(1).Concat(options.TrailingArguments), options.WorkingDirectory, options.Environment);

            var run = new Run();
            void Deliver(string? line, TaskCompletionSource closed)
            {
                if (line is null) { closed.TrySetResult(); return; } // end of the stream
                if (onOutput is null) return;
                lock (outputGate)
                {
                    try { onOutput(line); } catch { /* never let a callback crash the reader thread */ }
                }
            }
            try
            {
                run._tree = ProcessTree.Start(psi, process =>
                {
                    process.OutputDataReceived += (_, e) => Deliver(e.Data, run._stdoutClosed);
                    process.ErrorDataReceived += (_, e) => Deliver(e.Data, run._stderrClosed);
                });
            }
            catch (Exception e) when (e is Win32Exception or InvalidOperationException or IOException or UnauthorizedAccessException)
            {
                throw new ProcessSupervisorException($"Cannot start '{options.Command[0]}': {e.Message}", e);
            }
            run._tree.Process.BeginOutputReadLine();
            run._tree.Process.BeginErrorReadLine();
            return run;
        }

        /// <summary>
        /// Waits until the child's stdout and stderr have been read to their end (so its last lines are delivered
        /// before the next event), bounded: a process that escaped the group may hold the pipes open.
        /// </summary>
        public async Task DrainOutputAsync()
        {
            try { await Task.WhenAll(_stdoutClosed.Task, _stderrClosed.Task).WaitAsync(OutputDrainWait).ConfigureAwait(false); }
            catch (TimeoutException) { }
        }

        /// <summary>Kills the process, its descendants and its process group, and waits until they are gone.</summary>
        public async Task KillTreeAsync()
        {
            await _tree.KillAsync().ConfigureAwait(false);
            await DrainOutputAsync().ConfigureAwait(false);
        }

        /// <summary>After the process exited by itself: kills what is still running in its process group.</summary>
        public async Task KillLeftoversAsync()
        {
            await _tree.KillLeftoversAsync().ConfigureAwait(false);
            await DrainOutputAsync().ConfigureAwait(false);
        }

        public void Dispose() => _tree.Dispose();
    }
}
