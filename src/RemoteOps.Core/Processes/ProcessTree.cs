using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace RemoteOps.Processes;

/// <summary>
/// A started process that leads a process group of its own, and the killing of everything it started, so that no
/// orphans remain.
/// </summary>
/// <remarks>
/// <para>On Linux the program is started in a session (and process group) of its own through <c>setsid</c> when that
/// program exists (<c>/usr/bin/setsid</c> or <c>/bin/setsid</c>). The child is not a process-group leader, so setsid(1)
/// does not fork: the pid stays the program's own. A new session also keeps Ctrl+C at a terminal (SIGINT to the
/// foreground process group) away from the child.</para>
/// <para><see cref="KillAsync"/> kills every member of that group, including grandchildren that were re-parented to
/// init because their parent died (<c>(sleep 300 &amp;)</c>) and ones at the far end of a pipe, plus every descendant
/// found in /proc (ones that left the group with setsid/setpgid), plus whatever <see cref="Process.Kill(bool)"/> with
/// entireProcessTree finds, and waits until all of them are gone. A process that both leaves the group and is
/// re-parented (a classic double-fork daemon) cannot be found and is not killed; on other systems only
/// Kill(entireProcessTree) is used.</para>
/// </remarks>
public sealed class ProcessTree : IDisposable
{
    /// <summary>How every RemoteOps child is started: no shell, stdin/stdout/stderr redirected (stdin is closed by the
    /// caller), no window, the given working directory, arguments and extra environment over ours.</summary>
    public static ProcessStartInfo StartInfo(string program, IEnumerable<string> arguments, string? workingDirectory, IReadOnlyDictionary<string, string> environment)
    {
        var psi = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
        };
        if (workingDirectory is not null) psi.WorkingDirectory = workingDirectory;
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        return psi;
    }

    /// <summary>How long the kill waits for the processes to be gone before it gives up on them.</summary>
    public static readonly TimeSpan KillWait = TimeSpan.FromSeconds(10);

    private static readonly string? Setsid = OperatingSystem.IsLinux()
        ? new[] { "/usr/bin/setsid", "/bin/setsid" }.FirstOrDefault(File.Exists)
        : null;

    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ProcessTree(Process process, bool ownGroup)
    {
        Process = process;
        OwnGroup = ownGroup;
    }

    /// <summary>The started process (for its streams and exit code). Disposed with this tree.</summary>
    public Process Process { get; }

    /// <summary>The program's own pid (also the id of its process group when <see cref="OwnGroup"/>).</summary>
    public int Pid { get; private set; }

    /// <summary>Whether the program was started in a process group of its own (Linux with setsid).</summary>
    public bool OwnGroup { get; }

    /// <summary>Completes when the program's own process exits (what it started may still be running).</summary>
    public Task Exited => _exited.Task;

    public bool HasExited => _exited.Task.IsCompleted;

    /// <summary>The exit code, once <see cref="Exited"/> (a process killed by a signal on Unix: 128 + signal).</summary>
    public int ExitCode => Process.ExitCode;

    /// <summary>
    /// Starts <paramref name="startInfo"/> in a process group of its own where possible. Its FileName must be the
    /// resolved program (see <see cref="ExecutableLocator"/>: setsid would otherwise look it up itself) and its
    /// arguments must be in ArgumentList; both are rewritten to go through setsid.
    /// </summary>
    /// <param name="beforeStart">Called with the process before it starts (to subscribe to its output events).</param>
    /// <exception cref="Win32Exception">And the other exceptions of <see cref="Process.Start()"/>: it could not start.</exception>
    public static ProcessTree Start(ProcessStartInfo startInfo, Action<Process>? beforeStart = null) =>
        Start(startInfo, beforeStart, inWindowsJob: false, jobMemoryLimit: null);

    /// <inheritdoc cref="Start(ProcessStartInfo, Action{Process}?)"/>
    /// <param name="inWindowsJob">On Windows, hold the tree in a job object (<see cref="WindowsJob"/>): killed as a whole,
    /// and when the job closes (the tree is disposed, or this process dies). Only for trees that must not outlive their
    /// caller. Ignored elsewhere.</param>
    /// <param name="jobMemoryLimit">With <paramref name="inWindowsJob"/>: bytes the job's processes may have together.</param>
    public static ProcessTree Start(ProcessStartInfo startInfo, Action<Process>? beforeStart, bool inWindowsJob, long? jobMemoryLimit)
    {
        ArgumentNullException.ThrowIfNull(startInfo);
        if (!string.IsNullOrEmpty(startInfo.Arguments))
            throw new ArgumentException("Give the arguments in ArgumentList, not Arguments.", nameof(startInfo));
        var ownGroup = Setsid is not null;
        if (ownGroup)
        {
            startInfo.ArgumentList.Insert(0, startInfo.FileName);
            startInfo.FileName = Setsid!;
        }
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var tree = new ProcessTree(process, ownGroup);
        process.Exited += (_, _) => tree._exited.TrySetResult();
        try
        {
            beforeStart?.Invoke(process);
            process.Start();
        }
        catch
        {
            process.Dispose();
            throw;
        }
        tree.Pid = process.Id;
        if (inWindowsJob && OperatingSystem.IsWindows())
        {
            // Assigned right after the start: a child it spawns in that instant escapes the job, not the tree walk.
            try { tree._job = WindowsJob.Assign(process, jobMemoryLimit); }
            catch (Win32Exception) { /* a job the caller's own job forbids nesting in: the tree walk still kills */ }
        }
        return tree;
    }

    /// <summary>Windows: the job object holding the tree, when <see cref="Start(ProcessStartInfo, Action{Process}?, bool, long?)"/> made one.</summary>
    private WindowsJob? _job;

    /// <summary>Windows: whether the tree's job reached its memory cap.</summary>
    public bool JobMemoryExceeded => OperatingSystem.IsWindows() && _job is { } job && job.MemoryExceeded;

    /// <summary>Kills the process, its descendants and its process group, and waits (at most <see cref="KillWait"/>
    /// for each step) until they are gone.</summary>
    public async Task KillAsync()
    {
        var victims = new HashSet<int>();
        if (OperatingSystem.IsLinux())
        {
            var table = ProcTable.Read();
            victims.UnionWith(table.DescendantsOf(Pid));
            if (OwnGroup) victims.UnionWith(table.GroupMembers(Pid));
            victims.Remove(Pid);
        }
        if (OperatingSystem.IsWindows() && _job is { } job) job.Terminate();
        if (!HasExited)
        {
            try { Process.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { } // exited meanwhile
            catch (Win32Exception) { }
            catch (AggregateException) { } // some descendant could not be killed; handled below
        }
        foreach (var pid in victims) KillPid(pid);
        try { await Exited.WaitAsync(KillWait).ConfigureAwait(false); } catch (TimeoutException) { }
        if (OperatingSystem.IsLinux()) await KillUntilGoneAsync(victims).ConfigureAwait(false);
    }

    /// <summary>Waits at most <paramref name="timeout"/> for the program to end (cancellation counts as not ending).
    /// Ended: its redirected output is read to the end and what it left in its group is killed; true. Not ended: its
    /// whole tree is killed; false.</summary>
    public async Task<bool> WaitOrKillAsync(TimeSpan timeout, CancellationToken ct)
    {
        bool ended;
        try { await Exited.WaitAsync(timeout, ct).ConfigureAwait(false); ended = true; }
        catch (TimeoutException) { ended = false; }
        catch (OperationCanceledException) { ended = false; }
        if (!ended)
        {
            await KillAsync().ConfigureAwait(false);
            return false;
        }
        // The streams are read to their end before the exit counts as complete.
        await Process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        await KillLeftoversAsync().ConfigureAwait(false);
        return true;
    }

    /// <summary>After the process exited by itself: kills what is still running in its process group (a leftover
    /// would typically still hold a port or the output pipes).</summary>
    public async Task KillLeftoversAsync()
    {
        if (!OperatingSystem.IsLinux() || !OwnGroup) return;
        // Nothing left in the group (the usual case): one signal-0 syscall says so, without reading all of /proc.
        if (Sys.Kill(-Pid, 0) != 0 && Marshal.GetLastPInvokeError() == Sys.NoSuchProcess) return;
        await KillUntilGoneAsync([]).ConfigureAwait(false);
    }

    /// <summary>Asks a process to stop (SIGTERM); false where that cannot be done (Windows, or the signal failed).</summary>
    public static bool Terminate(int pid)
    {
        if (OperatingSystem.IsWindows()) return false;
        return Sys.Kill(pid, Sys.SigTerm) == 0;
    }

    private async Task KillUntilGoneAsync(HashSet<int> victims)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(KillWait.TotalSeconds * Stopwatch.Frequency);
        var pause = TimeSpan.FromMilliseconds(5);
        while (true)
        {
            var table = ProcTable.Read();
            // Members that appeared since (a fork racing the kill) are killed too.
            if (OwnGroup) victims.UnionWith(table.GroupMembers(Pid).Where(p => p != Pid));
            victims.RemoveWhere(p => !table.IsAlive(p));
            if (victims.Count == 0 || Stopwatch.GetTimestamp() > deadline) return;
            foreach (var pid in victims) KillPid(pid);
            await Task.Delay(pause).ConfigureAwait(false);
            if (pause < TimeSpan.FromMilliseconds(100)) pause *= 2;
        }
    }

    private static void KillPid(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            p.Kill();
        }
        catch (ArgumentException) { } // gone
        catch (InvalidOperationException) { }
        catch (Win32Exception) { }
    }

    public void Dispose()
    {
        if (OperatingSystem.IsWindows() && _job is { } job) job.Dispose();
        Process.Dispose();
    }

    private static class Sys
    {
        internal const int SigTerm = 15;
        internal const int NoSuchProcess = 3; // ESRCH

        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        internal static extern int Kill(int pid, int signal);
    }
}
