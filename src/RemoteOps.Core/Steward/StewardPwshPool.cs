using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using RemoteOps.Processes;

namespace RemoteOps.Steward;

/// <summary>One pwsh worker process running <see cref="StewardPwsh.Bootstrap"/>: started, warmed (its serializer and
/// first-command path run once on a throwaway script), then waiting for one job on stdin. It runs exactly one script
/// and is then killed, so nothing a caller left behind (variables, modules, a background job, a changed location) is
/// seen by the next.</summary>
internal sealed class PwshWorker
{
    /// <summary>The line a worker writes once it is warm and reads its job.</summary>
    public const string ReadyLine = "remoteops-steward-worker-ready";

    private readonly TaskCompletionSource<bool> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly StringBuilder _stderr = new();
    private volatile bool _isReady;

    private PwshWorker(ProcessTree tree) { Tree = tree; }

    public ProcessTree Tree { get; }
    /// <summary>The worker's stdout lines after <see cref="ReadyLine"/>: the job's records.</summary>
    public Channel<string> Lines { get; } = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    /// <summary>True once warm and waiting; false when the worker exited before.</summary>
    public Task<bool> Ready => _ready.Task;
    public bool IsReady => _isReady;

    public string Stderr { get { lock (_stderr) return _stderr.ToString().Trim(); } }

    /// <summary>Starts a worker; <paramref name="warm"/> false skips the warm-up (a worker started for the script that
    /// waits for it gains nothing from it).</summary>
    /// <exception cref="System.ComponentModel.Win32Exception">And the other exceptions of Process.Start.</exception>
    public static PwshWorker Start(string program, IReadOnlyList<string> workerArgs, bool warm)
    {
        var tiering = RuntimeTiering();
        // The worker's own settings are not its script's: taken out of its environment before the script runs, so a
        // program the script starts sees the agent's environment.
        var unset = string.Concat(tiering.Keys.Select(k => $"Remove-Item -LiteralPath env:{k}\n"));
        var bootstrap = $"$__stewardWarm = {(warm ? StewardPwsh.WarmJobs.Count : 0)}\n" + unset + StewardPwsh.Bootstrap;
        var psi = ProcessTree.StartInfo(program,
            [.. workerArgs, "-NoLogo", "-NoProfile", "-NonInteractive", "-EncodedCommand", Convert.ToBase64String(Encoding.Unicode.GetBytes(bootstrap))],
            null, tiering);
        psi.StandardInputEncoding = new UTF8Encoding(false);
        psi.StandardOutputEncoding = Encoding.UTF8;
        psi.StandardErrorEncoding = Encoding.UTF8;
        var tree = ProcessTree.Start(psi);
        var worker = new PwshWorker(tree);
        tree.Exited.ContinueWith(_ => worker._ready.TrySetResult(false), TaskScheduler.Default);
        // Each pipe is read by a thread of its own: on Unix an anonymous pipe's async read (BeginOutputReadLine) holds a
        // thread-pool thread for as long as it waits, so a hundred idle workers would starve the agent's own work.
        StartReader(tree.Process.StandardOutput, line =>
        {
            if (line is null) { worker.Lines.Writer.TryComplete(); worker._ready.TrySetResult(false); return; }
            if (worker._isReady) worker.Lines.Writer.TryWrite(line);
            else if (line == ReadyLine) { worker._isReady = true; worker._ready.TrySetResult(true); }
        });
        StartReader(tree.Process.StandardError, line =>
        {
            lock (worker._stderr) if (line is not null && worker._stderr.Length < 4096) worker._stderr.AppendLine(line);
        });
        if (warm)
        {
            // The warm jobs wait in the pipe (a few KiB: never blocks) for the worker to read them before its real one.
            try
            {
                foreach (var job in StewardPwsh.WarmJobs) tree.Process.StandardInput.WriteLine(job);
                tree.Process.StandardInput.Flush();
            }
            catch (IOException) { /* it died at once: its exit says so */ }
        }
        return worker;
    }

    private static readonly (string Name, string Value)[] Tiering =
        [("DOTNET_TC_CallCountThreshold", "65535"), ("DOTNET_TC_CallCountingDelayMs", "10000")];

    /// <summary>The .NET runtime settings a worker starts with, where the agent's environment does not set them already.</summary>
    /// <remarks>A worker runs one script and is killed. The runtime's tiered compilation recompiles hot methods in the
    /// background once they have been called 30 times and 100 ms have passed without new methods: in a fresh worker that
    /// is right after its first script, so it burned 100–150 ms of CPU after answering (measured here), competing with
    /// the answer on the agent's machine and multiplied by every node of a fleet. With these, nothing is recompiled
    /// before 10 s without new methods, or before 65535 calls (the most the runtime takes), so a short script never
    /// pays for code it will not run again, while a long, busy script still gets its hot loops optimized; a warm start
    /// took about a quarter less CPU too.</remarks>
    internal static Dictionary<string, string> RuntimeTiering()
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in Tiering)
            if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name))) settings[name] = value;
        return settings;
    }

    private static void StartReader(StreamReader reader, Action<string?> onLine)
    {
        new Thread(() =>
        {
            try
            {
                while (reader.ReadLine() is { } line) onLine(line);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException) { /* killed and disposed: its end */ }
            onLine(null);
        }) { IsBackground = true, Name = "pwsh worker pipe" }.Start();
    }

    /// <summary>Hands the worker its job (one line, <see cref="StewardPwsh.JobLine"/>), then closes its stdin, so a
    /// script, or a program it runs, that reads stdin sees its end rather than waiting for methodTimeout.</summary>
    public async Task SendJobAsync(string jobLine)
    {
        await Tree.Process.StandardInput.WriteLineAsync(jobLine).ConfigureAwait(false);
        Tree.Process.StandardInput.Close();
    }

    /// <summary>Kills the worker and all it started; never throws.</summary>
    public async Task KillAsync()
    {
        try { await Tree.KillAsync().ConfigureAwait(false); }
        catch (Exception) { /* best effort: gone or not ours to kill any more */ }
        finally { Tree.Dispose(); }
    }
}

/// <summary>The agent's warm pwsh workers (<c>steward.pwsh_workers</c>): that many are started ahead and wait, so a
/// short script costs a message round trip rather than a pwsh start. A worker is taken for one script and replaced in
/// the background once that script is done; one that dies while idle is replaced too. With size 0 every script starts its own worker (cold).
/// <para>A pwsh start takes a core for a second or more, and the scripts' answers come first: a used worker is killed,
/// and its replacement started, once this process has seen no script start or end for <see cref="QuietPeriod"/> (at
/// most <see cref="MaxDeferral"/> later), and at most <see cref="ConcurrentStarts"/> warm workers start at a time in
/// this process (all its agents' pools together). A script that finds no worker starts one at once.</para>
/// <see cref="DisposeAsync"/> kills the idle workers and the ones being recycled, so none outlives the agent (and a
/// worker whose agent died reads the end of its stdin and exits).</summary>
public sealed class StewardPwshPool : IAsyncDisposable
{
    private readonly IReadOnlyList<string>? _command;
    private readonly Action<string> _log;
    private readonly Lock _lock = new();
    private readonly List<PwshWorker> _idle = [];
    private readonly HashSet<Task> _background = [];
    private readonly CancellationTokenSource _disposing = new();
    private int _failedStarts;
    private int _queued;
    private bool _disposed;

    /// <summary>How long this process must have seen no script start or end before a used worker is killed and
    /// replacements start.</summary>
    public static readonly TimeSpan QuietPeriod = TimeSpan.FromMilliseconds(200);
    /// <summary>The longest a kill or replacement waits for a quiet moment (scripts that never stop coming).</summary>
    public static readonly TimeSpan MaxDeferral = TimeSpan.FromSeconds(5);
    /// <summary>How many warm workers start at a time in this process (its cores: more only share them).</summary>
    public static int ConcurrentStarts { get; } = Math.Max(1, Environment.ProcessorCount);
    private static readonly SemaphoreSlim StartGate = new(ConcurrentStarts, ConcurrentStarts);
    private static long _lastActivity;
    private static TaskCompletionSource _activity = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="size">How many workers wait (0: none; each script starts its own).</param>
    /// <param name="pwshCommand">steward.pwsh_command (null: located as <see cref="StewardPwsh.TryLocateWorker"/> says).</param>
    /// <param name="log">Where a worker that could not start is reported (verbose).</param>
    public StewardPwshPool(int size, IReadOnlyList<string>? pwshCommand, Action<string>? log = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        Size = size;
        _command = pwshCommand;
        _log = log ?? (_ => { });
    }

    /// <summary>How many warm workers the pool keeps.</summary>
    public int Size { get; }

    /// <summary>The pids of the workers waiting now (tests, diagnostics).</summary>
    public IReadOnlyList<int> IdlePids { get { lock (_lock) return _idle.Select(w => w.Tree.Pid).ToArray(); } }

    /// <summary>How many workers are waiting and ready now.</summary>
    public int ReadyCount { get { lock (_lock) return _idle.Count(w => w.IsReady && !w.Tree.HasExited); } }

    /// <summary>Starts workers until <see cref="Size"/> are waiting or starting (in the background, through the
    /// process's start gate; never throws).</summary>
    public void Fill()
    {
        if (Size == 0) return;
        if (!StewardPwsh.TryLocateWorker(_command, out var program, out var args, out _)) return;
        lock (_lock)
        {
            // A worker that cannot start (a broken pwsh_command) is not started again and again: a script's own start
            // then says why.
            if (_disposed || _failedStarts >= 3) return;
            for (; _idle.Count + _queued < Size; _queued++)
                Track(Task.Run(() => StartWarmAsync(program, args)));
        }
    }

    /// <summary>One warm worker, started when the gate lets it (after a quiet moment); the gate is held until it is
    /// warm, since its warm-up is what takes the core.</summary>
    private async Task StartWarmAsync(string program, IReadOnlyList<string> args)
    {
        var entered = false;
        try
        {
            await WhenQuietAsync(_disposing.Token).ConfigureAwait(false);
            await StartGate.WaitAsync(_disposing.Token).ConfigureAwait(false);
            entered = true;
            PwshWorker worker;
            lock (_lock)
            {
                _queued--;
                if (_disposed || _failedStarts >= 3 || _idle.Count >= Size) return;
                try { worker = PwshWorker.Start(program, args, warm: true); }
                catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
                {
                    _failedStarts++;
                    _log($"A warm pwsh worker did not start ('{program}'): {e.Message}");
                    return;
                }
                _idle.Add(worker);
                Watch(worker);
            }
            // A worker that hangs in its warm-up does not hold the gate for ever.
            try { await worker.Ready.WaitAsync(TimeSpan.FromMinutes(2), _disposing.Token).ConfigureAwait(false); }
            catch (TimeoutException) { _log($"A warm pwsh worker (pid {worker.Tree.Pid}) is not ready after 2 minutes; starting others meanwhile."); }
        }
        catch (OperationCanceledException)
        {
            lock (_lock) if (!entered) _queued--;
        }
        finally
        {
            if (entered) StartGate.Release();
        }
    }

    /// <summary>A script started or ended in this process (it defers kills and starts, see <see cref="QuietPeriod"/>).</summary>
    internal static void NoteActivity()
    {
        Volatile.Write(ref _lastActivity, Stopwatch.GetTimestamp());
        Interlocked.Exchange(ref _activity, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>Until no script has started or ended in this process for <see cref="QuietPeriod"/>, or
    /// <see cref="MaxDeferral"/> has passed.</summary>
    private static async Task WhenQuietAsync(CancellationToken ct)
    {
        var giveUp = Stopwatch.GetTimestamp() + (long)(MaxDeferral.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var signal = Volatile.Read(ref _activity).Task;
            var now = Stopwatch.GetTimestamp();
            var quietAt = Volatile.Read(ref _lastActivity) + (long)(QuietPeriod.TotalSeconds * Stopwatch.Frequency);
            if (now >= quietAt || now >= giveUp) return;
            var wait = TimeSpan.FromSeconds((Math.Min(quietAt, giveUp) - now) / (double)Stopwatch.Frequency);
            // Woken by new activity too: the quiet moment then starts again.
            await Task.WhenAny(signal, Task.Delay(wait, ct)).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
        }
    }

    /// <summary>A waiting worker that exits (it crashed, or was killed from outside) is replaced.</summary>
    private void Watch(PwshWorker worker)
    {
        Track(Task.Run(async () =>
        {
            var ready = await worker.Ready.ConfigureAwait(false);
            await worker.Tree.Exited.ConfigureAwait(false);
            bool wasIdle;
            lock (_lock)
            {
                wasIdle = _idle.Remove(worker);
                if (wasIdle && !ready) _failedStarts++;
                else if (wasIdle) _failedStarts = 0;
            }
            if (!wasIdle) return; // taken: its script's run owns it
            if (!ready) _log($"A warm pwsh worker exited while starting (exit code {SafeExitCode(worker)}): {worker.Stderr}");
            await worker.KillAsync().ConfigureAwait(false);
            Fill();
        }));
    }

    private static string SafeExitCode(PwshWorker w)
    {
        try { return w.Tree.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture); } catch (InvalidOperationException) { return "?"; }
    }

    private void Track(Task task)
    {
        lock (_lock) _background.Add(task);
        task.ContinueWith(t => { lock (_lock) _background.Remove(t); }, TaskScheduler.Default);
    }

    /// <summary>A worker for one script: a warm one when one is waiting (its replacement starts in the background), else
    /// a new one started now; null with the problem when none could start. The caller owns it and must
    /// <see cref="Recycle"/> it.</summary>
    internal PwshWorker? Take(out string problem)
    {
        problem = "";
        PwshWorker? taken = null;
        lock (_lock)
        {
            if (_disposed) { problem = "stopped: the agent is shutting down"; return null; }
            // A ready one first; else the one that has started longest ago (it is nearest to ready).
            var i = _idle.FindIndex(w => w.IsReady && !w.Tree.HasExited);
            if (i < 0) i = _idle.FindIndex(w => !w.Tree.HasExited);
            if (i >= 0) { taken = _idle[i]; _idle.RemoveAt(i); }
        }
        // Its replacement starts once the script is done (Recycle): a pwsh start takes a core for a second or more, which
        // a burst of scripts on a small machine needs more.
        if (taken is not null) return taken;
        if (!StewardPwsh.TryLocateWorker(_command, out var program, out var args, out problem)) return null;
        try { taken = PwshWorker.Start(program, args, warm: false); }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            problem = $"Cannot start the pwsh worker '{program}': {e.Message}";
            return null;
        }
        lock (_lock) _failedStarts = 0;
        return taken;
    }

    /// <summary>Kills a used worker and what it started, then starts its replacement, in the background once the
    /// process is quiet (the script's answer, and the other scripts of a burst, do not wait for either; the used worker
    /// only waits meanwhile, never to run again).</summary>
    /// <remarks>On a thread of its own: the kill's first steps (reading /proc, Kill(entireProcessTree)) are synchronous
    /// and take tens of milliseconds on a busy machine.</remarks>
    internal void Recycle(PwshWorker worker) => Track(Task.Run(() => RecycleAsync(worker)));

    private async Task RecycleAsync(PwshWorker worker)
    {
        try { await WhenQuietAsync(_disposing.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) { /* the pool is going: killed now */ }
        await worker.KillAsync().ConfigureAwait(false);
        Fill();
    }

    /// <summary>Kills every idle worker and waits for the recycling in flight; later <see cref="Take"/>s fail.</summary>
    public async ValueTask DisposeAsync()
    {
        PwshWorker[] idle;
        lock (_lock)
        {
            _disposed = true;
            idle = [.. _idle];
            _idle.Clear();
        }
        _disposing.Cancel();
        await Task.WhenAll(idle.Select(w => w.KillAsync())).ConfigureAwait(false);
        Task[] background;
        lock (_lock) background = [.. _background];
        try { await Task.WhenAll(background).WaitAsync(ProcessTree.KillWait * 2).ConfigureAwait(false); }
        catch (Exception) { /* a watcher of a killed worker ends with it; nothing else to do */ }
    }
}
