using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace RemoteOps.Processes;

/// <summary>What <see cref="OneShotRunner"/> runs.</summary>
/// <param name="Command">
/// The command: <c>Command[0]</c> is the program (found by <see cref="ExecutableLocator"/>: a bare name is looked up in
/// PATH; a relative path is resolved against <see cref="WorkingDirectory"/>), the rest are its arguments.
/// </param>
public sealed record OneShotOptions(IReadOnlyList<string> Command)
{
    /// <summary>The default cap of the kept output.</summary>
    public const int DefaultMaxOutputBytes = 4 * 1024 * 1024;

    /// <summary>Extra environment variables for the child, on top of the inherited ones.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>The child's working directory (null: the current directory of this process).</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>
    /// Most bytes of output kept (the first ones); the rest is still read, so the child never blocks on a full pipe,
    /// and counted in <see cref="OneShotResult.DroppedBytes"/>.
    /// </summary>
    public int MaxOutputBytes { get; init; } = DefaultMaxOutputBytes;

    /// <summary>
    /// How long the run may take, until the command has exited and its output is closed; then the whole process tree
    /// is killed and the result has <see cref="OneShotResult.TimedOut"/>. Null: no limit.
    /// </summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Stops the run early, as a timeout does (the tree is killed), but with a result that says
    /// <see cref="OneShotResult.Stopped"/>: for a caller's own reason (a budget ran out), unlike a cancellation.</summary>
    public CancellationToken Stop { get; init; }

    /// <summary>Windows: bytes the run's processes may have together, enforced by the job object every one-shot run is
    /// held in there (Linux limits memory in the command itself). Null: no cap.</summary>
    public long? JobMemoryLimit { get; init; }
}

/// <summary>How a one-shot command ended.</summary>
public sealed record OneShotResult
{
    /// <summary>Windows: the run's job object reached <see cref="OneShotOptions.JobMemoryLimit"/>.</summary>
    public bool JobMemoryExceeded { get; init; }

    /// <summary>
    /// The exit code (a process killed by a signal on Unix: 128 + signal). -1 when it could not start
    /// (<see cref="StartFailure"/>) or, after a timeout, did not exit even when killed.
    /// </summary>
    public int ExitCode { get; init; }

    /// <summary>stdout and stderr combined, each in order (two pipes: how the two interleave is approximate), as UTF-8,
    /// at most MaxOutputBytes of it.</summary>
    public string Output { get; init; } = "";

    /// <summary>Bytes of the combined output read beyond MaxOutputBytes and dropped.</summary>
    public long DroppedBytes { get; init; }

    /// <summary>Whether <see cref="Output"/> lacks the end of the output.</summary>
    public bool OutputTruncated => DroppedBytes > 0;

    /// <summary>stderr alone (also in <see cref="Output"/>), at most MaxOutputBytes of it.</summary>
    public string StandardError { get; init; } = "";

    /// <summary>stdout alone (also in <see cref="Output"/>), at most MaxOutputBytes of it.</summary>
    public string StandardOutput { get; init; } = "";

    /// <summary>The timeout ran out: the whole process tree was killed.</summary>
    public bool TimedOut { get; init; }

    /// <summary><see cref="OneShotOptions.Stop"/> fired: the whole process tree was killed.</summary>
    public bool Stopped { get; init; }

    /// <summary>Why the command could not start ("Cannot start 'x': …"); null when it ran.</summary>
    public string? StartFailure { get; init; }

    /// <summary>The pid of the command's own process (0 when it could not start).</summary>
    public int ProcessId { get; init; }
}

/// <summary>
/// Runs a command once to its end and collects its output: the command runs as a <see cref="ProcessTree"/> (on Linux
/// in a process group of its own), its stdin is closed, and a timeout or a cancellation kills the whole tree
/// (children, grandchildren, both ends of pipes) and waits until it is gone.
/// </summary>
/// <remarks>
/// The run ends when the command has exited and its output pipes are closed: a background child that keeps them open
/// keeps the run going (until the timeout, if any). A child that let go of them (<c>daemon &gt;/dev/null 2&gt;&amp;1 &amp;</c>)
/// is left running when the command exits by itself, as a shell would.
/// </remarks>
public static class OneShotRunner
{
    /// <summary>After a kill, how long to wait for the output to reach its end (a process that escaped the group may hold the pipes).</summary>
    private static readonly TimeSpan OutputDrainWait = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Runs the command. A program that cannot start is a result (<see cref="OneShotResult.StartFailure"/>, exit code
    /// -1), not an exception.
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid (empty command, a bad environment name…).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled; the process tree has been killed.</exception>
    public static async Task<OneShotResult> RunAsync(OneShotOptions options, CancellationToken ct)
    {
        Validate(options);
        ct.ThrowIfCancellationRequested();
        if (!ExecutableLocator.TryResolve(options.Command[0], options.WorkingDirectory, out var program, out var problem))
            return new OneShotResult { ExitCode = -1, StartFailure = problem };

        var psi = ProcessTree.StartInfo(program, options.Command.Skip(1), options.WorkingDirectory, options.Environment);

        ProcessTree tree;
        try
        {
            // On Windows a job object holds the run: nothing of it outlives the run or this process. Started from the
            // launcher thread, so a sandbox's die-with-parent follows this process, not a retiring pool thread.
            tree = await ProcessLauncher.StartAsync(psi, null, inWindowsJob: true, options.JobMemoryLimit).ConfigureAwait(false);
        }
        catch (Exception e) when (e is Win32Exception or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            return new OneShotResult { ExitCode = -1, StartFailure = $"Cannot start '{options.Command[0]}': {e.Message}" };
        }
        using (tree)
        {
            tree.Process.StandardInput.Close();
            var combined = new CappedBuffer(options.MaxOutputBytes);
            var stderr = new CappedBuffer(options.MaxOutputBytes);
            var stdout = new CappedBuffer(options.MaxOutputBytes);
            var output = Task.WhenAll(
                PumpAsync(tree.Process.StandardOutput.BaseStream, combined, stdout),
                PumpAsync(tree.Process.StandardError.BaseStream, combined, stderr));

            using var timeout = new CancellationTokenSource();
            if (options.Timeout is { } limit) timeout.CancelAfter(limit);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token, options.Stop);
            var timedOut = false;
            var stopped = false;
            try
            {
                await Task.WhenAll(tree.Exited, output).WaitAsync(stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                await tree.KillAsync().ConfigureAwait(false);
                try { await output.WaitAsync(OutputDrainWait).ConfigureAwait(false); } catch (TimeoutException) { }
                ct.ThrowIfCancellationRequested();
                stopped = options.Stop.IsCancellationRequested && !timeout.IsCancellationRequested;
                timedOut = !stopped;
            }
            return new OneShotResult
            {
                ExitCode = tree.HasExited ? tree.ExitCode : -1,
                Output = combined.Text(),
                DroppedBytes = combined.Dropped,
                StandardError = stderr.Text(),
                StandardOutput = stdout.Text(),
                TimedOut = timedOut,
                Stopped = stopped,
                JobMemoryExceeded = tree.JobMemoryExceeded,
                ProcessId = tree.Pid,
            };
        }
    }

    private static void Validate(OneShotOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Command is null || options.Command.Count == 0 || string.IsNullOrWhiteSpace(options.Command[0]))
            throw new ArgumentException("The command is empty: give the program to run (and its arguments).", nameof(options));
        if (options.Command.Any(a => a is null)) throw new ArgumentException("A command argument is null.", nameof(options));
        if (options.Environment is null || options.Environment.Any(kv => string.IsNullOrEmpty(kv.Key) || kv.Key.Contains('=') || kv.Value is null))
            throw new ArgumentException("An environment variable has an empty name, a name with '=', or a null value.", nameof(options));
        if (options.MaxOutputBytes < 0) throw new ArgumentException($"MaxOutputBytes {options.MaxOutputBytes} is negative.", nameof(options));
        if (options.Timeout <= TimeSpan.Zero) throw new ArgumentException($"Timeout {options.Timeout} is not positive.", nameof(options));
    }

    /// <summary>Reads a pipe to its end into the combined buffer and <paramref name="alone"/> (that pipe's own).</summary>
    private static async Task PumpAsync(Stream pipe, CappedBuffer combined, CappedBuffer? alone)
    {
        var buffer = new byte[8192];
        try
        {
            int n;
            while ((n = await pipe.ReadAsync(buffer, CancellationToken.None).ConfigureAwait(false)) > 0)
            {
                combined.Write(buffer, n);
                alone?.Write(buffer, n);
            }
        }
        // The process was disposed while a pipe held open by an escaped process was still being read: the run is over.
        catch (ObjectDisposedException) { }
        catch (IOException) { }
    }

    /// <summary>Keeps the first bytes written, up to a cap, and counts the rest; written to by both pipes.</summary>
    private sealed class CappedBuffer(int max)
    {
        private readonly MemoryStream _kept = new();
        private readonly object _gate = new();
        private long _dropped;

        public long Dropped { get { lock (_gate) return _dropped; } }

        public void Write(byte[] buffer, int count)
        {
            lock (_gate)
            {
                var keep = (int)Math.Min(count, max - _kept.Length);
                _kept.Write(buffer, 0, keep);
                _dropped += count - keep;
            }
        }

        public string Text()
        {
            lock (_gate) return Encoding.UTF8.GetString(_kept.GetBuffer(), 0, (int)_kept.Length);
        }
    }
}
