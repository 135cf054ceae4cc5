using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using RemoteOps.Processes;

namespace RemoteOps.Steward;

/// <summary>A CliCommand that outlives its agent (Linux and other Unix systems with /bin/sh): it runs in a session and
/// process group of its own (setsid), with stdin from /dev/null and stdout, stderr and exit status going to files in
/// its run directory, so a kill -9 of the agent leaves it running, and the restarted agent adopts it by pid (checked
/// against the process start time, against pid reuse) and the files. The wrapper shell leads the group, so killing
/// the group kills the command, its children and anything at the ends of its pipes.</summary>
public sealed class DetachedCommand
{
    // No temporary file and mv (two more programs to start, 3 ms of every command): echo writes each file in one
    // write(), and the exit file is read only once the wrapper is gone; a pid file caught empty is looked up in /proc.
    private const string Wrapper =
        "d=\"$0\"; echo $$ > \"$d/pid\"; " +
        "\"$@\" </dev/null >\"$d/stdout\" 2>\"$d/stderr\"; " +
        "echo $? > \"$d/exit\"";

    private static readonly string? Shell = new[] { "/bin/sh", "/usr/bin/sh" }.FirstOrDefault(File.Exists);

    /// <summary>Whether commands can be detached here (Unix with /bin/sh). Elsewhere (Windows) a command runs as the
    /// agent's child and ends with it; a restarted agent reports it Failed, never runs it twice.</summary>
    public static bool Supported => !OperatingSystem.IsWindows() && Shell is not null;

    public string RunDirectory { get; }
    public int Pid { get; }
    /// <summary>The process's start time (clock ticks since boot, /proc/&lt;pid&gt;/stat), null where unknown.</summary>
    public long? PidStart { get; }
    private readonly ProcessTree? _tree;

    private DetachedCommand(string runDirectory, int pid, long? pidStart, ProcessTree? tree)
    {
        RunDirectory = runDirectory; Pid = pid; PidStart = pidStart; _tree = tree;
    }

    /// <summary>Starts <paramref name="program"/> detached, its files in <paramref name="runDirectory"/> (created).</summary>
    /// <exception cref="Win32Exception">The shell could not start.</exception>
    public static DetachedCommand Start(string runDirectory, string program, IReadOnlyList<string> args, string? workingDirectory)
    {
        Directory.CreateDirectory(runDirectory);
        var psi = ProcessTree.StartInfo(Shell!, ["-c", Wrapper, runDirectory, program, .. args], workingDirectory, new Dictionary<string, string>());
        var tree = ProcessTree.Start(psi);
        // The wrapper writes nothing to its own streams: closing them lets it live on when the agent dies.
        tree.Process.StandardInput.Close();
        return new DetachedCommand(runDirectory, tree.Pid, ReadStartTime(tree.Pid), tree);
    }

    /// <summary>A command a previous agent started: the pid from the row, else from the wrapper's pid file.</summary>
    public static DetachedCommand Adopt(string runDirectory, int? pid, long? pidStart)
    {
        if (pid is null && TryReadInt(Path.Combine(runDirectory, "pid"), out var fromFile)) pid = fromFile;
        return new DetachedCommand(runDirectory, pid ?? 0, pidStart, null);
    }

    /// <summary>Whether a command whose agent died before recording its pid was ever started: its wrapper writes its pid
    /// file before anything else, so with no pid file and no wrapper process (found by its run directory in
    /// /proc/*/cmdline) the command never ran, and may run now.</summary>
    public static bool NeverStarted(string runDirectory, out int? pid)
    {
        pid = null;
        if (TryReadInt(Path.Combine(runDirectory, "pid"), out var fromFile)) { pid = fromFile; return false; }
        if (!OperatingSystem.IsLinux()) return !Directory.Exists(runDirectory);
        var needle = "\0" + runDirectory + "\0";
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var candidate)) continue;
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "cmdline")).Contains(needle, StringComparison.Ordinal)) { pid = candidate; return false; }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return true;
    }

    /// <summary>The exit status the wrapper wrote when the command ended; null while it runs (or when it was killed).</summary>
    public int? ExitCode => TryReadInt(Path.Combine(RunDirectory, "exit"), out var code) ? code : null;

    /// <summary>Whether the wrapper is still running (the same process: same pid and start time).</summary>
    public bool IsAlive
    {
        get
        {
            if (_tree is not null) return !_tree.HasExited;
            if (Pid <= 0 || !ProcTable.TryReadStat(Pid, out var stat) || stat.State is 'Z' or 'X' or 'x') return false;
            return PidStart is null || ReadStartTime(Pid) == PidStart;
        }
    }

    /// <summary>Waits until the wrapper ended, at most until <paramref name="deadline"/>; true when it ended.</summary>
    public async Task<bool> WaitAsync(DateTimeOffset deadline, CancellationToken ct)
    {
        while (true)
        {
            var left = deadline - DateTimeOffset.UtcNow;
            if (!IsAlive) return true;
            if (left <= TimeSpan.Zero) return false;
            var pause = left < TimeSpan.FromMilliseconds(100) ? left : TimeSpan.FromMilliseconds(100);
            if (_tree is not null)
            {
                // Our own child: its exit is an event, not a poll.
                try { await _tree.Exited.WaitAsync(left, ct).ConfigureAwait(false); } catch (TimeoutException) { }
            }
            else await Task.Delay(pause, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Kills the wrapper's process group and every descendant, until none is left (bounded).</summary>
    public async Task KillTreeAsync()
    {
        if (_tree is not null) { await _tree.KillAsync().ConfigureAwait(false); return; }
        if (Pid <= 0 || !OperatingSystem.IsLinux()) return;
        var deadline = DateTimeOffset.UtcNow + ProcessTree.KillWait;
        // The leader and its descendants only while it is the same process (its pid may be reused once it ended).
        var leaderAlive = IsAlive;
        while (DateTimeOffset.UtcNow < deadline)
        {
            var table = ProcTable.Read();
            var victims = new HashSet<int>(table.GroupMembers(Pid));
            if (leaderAlive) { victims.UnionWith(table.DescendantsOf(Pid)); victims.Add(Pid); }
            else victims.Remove(Pid);
            victims.RemoveWhere(p => !table.IsAlive(p));
            if (victims.Count == 0) return;
            foreach (var pid in victims)
            {
                try { using var p = Process.GetProcessById(pid); p.Kill(); }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or Win32Exception) { }
            }
            await Task.Delay(20).ConfigureAwait(false);
        }
    }

    /// <summary>After the command ended: kills what it left running in its group (a background grandchild).</summary>
    public async Task KillLeftoversAsync()
    {
        if (_tree is not null) await _tree.KillLeftoversAsync().ConfigureAwait(false);
        else await KillTreeAsync().ConfigureAwait(false);
    }

    /// <summary>The first <paramref name="max"/> bytes of a result file as text, and how many bytes were beyond.</summary>
    public (string Text, long Dropped) Read(string stream, int max) => ReadCapped(Path.Combine(RunDirectory, stream), max);

    public static (string Text, long Dropped) ReadCapped(string path, int max)
    {
        if (!File.Exists(path)) return ("", 0);
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var length = f.Length;
        var buffer = new byte[(int)Math.Min(length, max)];
        f.ReadExactly(buffer);
        return (Encoding.UTF8.GetString(buffer), length - buffer.Length);
    }

    private static bool TryReadInt(string path, out int value)
    {
        value = 0;
        try { return File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), out value); }
        catch (IOException) { return false; }
    }

    /// <summary>Field 22 of /proc/&lt;pid&gt;/stat (start time since boot); null when unreadable.</summary>
    public static long? ReadStartTime(int pid)
    {
        try
        {
            return ParseStartTime(File.ReadAllText($"/proc/{pid}/stat"));
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>Field 22 of a /proc/&lt;pid&gt;/stat line; null when it is not one. The command name (field 2) may hold
    /// spaces and parentheses, so fields are counted from the last ')'.</summary>
    public static long? ParseStartTime(string stat)
    {
        var close = stat.LastIndexOf(')');
        if (close < 0 || close + 2 > stat.Length) return null;
        var fields = stat[(close + 2)..].Split(' ');
        // After "pid (comm) ", field 3 (state) is index 0, so field 22 is index 19.
        return fields.Length > 19 && long.TryParse(fields[19], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var start) ? start : null;
    }

    /// <summary>This boot's id (Linux: /proc/sys/kernel/random/boot_id); "" where unknown.</summary>
    public static string BootId()
    {
        try { return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return ""; }
    }
}
