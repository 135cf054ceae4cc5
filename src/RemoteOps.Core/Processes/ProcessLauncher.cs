using System.Collections.Concurrent;
using System.Diagnostics;

namespace RemoteOps.Processes;

/// <summary>
/// Starts processes from one dedicated thread that lives as long as this process. A child's parent-death signal
/// (bubblewrap's <c>--die-with-parent</c>, <c>setpriv --pdeathsig</c>, prctl PR_SET_PDEATHSIG) fires when the
/// <em>thread</em> that forked it ends, not the process, and thread-pool threads retire when idle: a sandboxed minion,
/// daemon or browser forked from a pool thread would be killed whenever that thread retired.
/// </summary>
public static class ProcessLauncher
{
    private static readonly BlockingCollection<Action> Queue = new();
    private static readonly Lazy<Thread> Thread = new(() =>
    {
        var thread = new Thread(() => { foreach (var start in Queue.GetConsumingEnumerable()) start(); })
        {
            IsBackground = true, Name = "RemoteOps process launcher",
        };
        thread.Start();
        return thread;
    });

    /// <summary><see cref="ProcessTree.Start(ProcessStartInfo, Action{Process}?, bool, long?)"/>, on the launcher thread (Linux;
    /// elsewhere on the caller's).</summary>
    public static Task<ProcessTree> StartAsync(ProcessStartInfo startInfo, Action<Process>? beforeStart = null, bool inWindowsJob = false, long? jobMemoryLimit = null)
    {
        if (!OperatingSystem.IsLinux())
        {
            try { return Task.FromResult(ProcessTree.Start(startInfo, beforeStart, inWindowsJob, jobMemoryLimit)); }
            catch (Exception e) { return Task.FromException<ProcessTree>(e); }
        }
        var started = new TaskCompletionSource<ProcessTree>(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Thread.Value;
        Queue.Add(() =>
        {
            try { started.SetResult(ProcessTree.Start(startInfo, beforeStart, inWindowsJob, jobMemoryLimit)); }
            catch (Exception e) { started.SetException(e); }
        });
        return started.Task;
    }

    /// <summary>The same, for callers that cannot await (the start itself is quick).</summary>
    public static ProcessTree Start(ProcessStartInfo startInfo, Action<Process>? beforeStart = null, bool inWindowsJob = false, long? jobMemoryLimit = null) =>
        StartAsync(startInfo, beforeStart, inWindowsJob, jobMemoryLimit).GetAwaiter().GetResult();
}
