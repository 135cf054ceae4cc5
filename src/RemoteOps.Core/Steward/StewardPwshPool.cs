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
        var bootstrap = (warm ? "$__stewardWarm = $true\n" : "$__stewardWarm = $false\n") + StewardPwsh.Bootstrap;
        var psi = ProcessTree.StartInfo(program,
            [.. workerArgs, "-NoLogo", "-NoProfile", "-NonInteractive", "-EncodedCommand", Convert.ToBase64String(Encoding.Unicode.GetBytes(bootstrap))],
            null, new Dictionary<string, string>());
        psi.StandardInputEncoding = new UTF8Encoding(false);
        psi.StandardOutputEncoding = Encoding.UTF8;
        psi.StandardErrorEncoding = Encoding.UTF8;
        PwshWorker? worker = null;
        var tree = ProcessTree.Start(psi, p =>
        {
            p.OutputDataReceived += (_, e) =>
            {
                var w = worker!;
                if (e.Data is null) { w.Lines.Writer.TryComplete(); w._ready.TrySetResult(false); return; }
                if (w._isReady) w.Lines.Writer.TryWrite(e.Data);
                else if (e.Data == ReadyLine) { w._isReady = true; w._ready.TrySetResult(true); }
            };
            p.ErrorDataReceived += (_, e) =>
            {
                var w = worker!;
                lock (w._stderr) if (e.Data is not null && w._stderr.Length < 4096) w._stderr.AppendLine(e.Data);
            };
        });
        worker = new PwshWorker(tree);
        tree.Exited.ContinueWith(_ => worker._ready.TrySetResult(false), TaskScheduler.Default);
        tree.Process.BeginOutputReadLine();
        tree.Process.BeginErrorReadLine();
        return worker;
    }

    /// <summary>Hands the worker its job (one line of base64: the worker reads one line), then closes its stdin, so a
    /// script that reads the console sees its end rather than waiting for methodTimeout.</summary>
    public async Task SendJobAsync(string base64Job)
    {
        await Tree.Process.StandardInput.WriteLineAsync(base64Job).ConfigureAwait(false);
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
/// <see cref="DisposeAsync"/> kills the idle workers and the ones being recycled, so none outlives the agent (and a
/// worker whose agent died reads the end of its stdin and exits).</summary>
public sealed class StewardPwshPool : IAsyncDisposable
{
    private readonly IReadOnlyList<string>? _command;
    private readonly Action<string> _log;
    private readonly Lock _lock = new();
    private readonly List<PwshWorker> _idle = [];
    private readonly HashSet<Task> _background = [];
    private int _failedStarts;
    private bool _disposed;

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

    /// <summary>Starts workers until <see cref="Size"/> are waiting or starting (in the background; never throws).</summary>
    public void Fill()
    {
        if (Size == 0) return;
        if (!StewardPwsh.TryLocateWorker(_command, out var program, out var args, out _)) return;
        lock (_lock)
        {
            // A worker that cannot start (a broken pwsh_command) is not started again and again: a script's own start
            // then says why.
            if (_disposed || _failedStarts >= 3) return;
            while (_idle.Count < Size)
            {
                PwshWorker worker;
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

    /// <summary>Kills a used worker and what it started, then starts its replacement, in the background (the script's
    /// answer does not wait for either).</summary>
    /// <remarks>On a thread of its own: the kill's first steps (reading /proc, Kill(entireProcessTree)) are synchronous
    /// and take tens of milliseconds on a busy machine.</remarks>
    internal void Recycle(PwshWorker worker) => Track(Task.Run(() => RecycleAsync(worker)));

    private async Task RecycleAsync(PwshWorker worker)
    {
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
        await Task.WhenAll(idle.Select(w => w.KillAsync())).ConfigureAwait(false);
        Task[] background;
        lock (_lock) background = [.. _background];
        try { await Task.WhenAll(background).WaitAsync(ProcessTree.KillWait * 2).ConfigureAwait(false); }
        catch (Exception) { /* a watcher of a killed worker ends with it; nothing else to do */ }
    }
}
