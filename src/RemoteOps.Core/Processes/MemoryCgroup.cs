using System.Globalization;

namespace RemoteOps.Processes;

/// <summary>
/// A memory cgroup made for one run, where this machine lets the caller make one: the kernel then accounts every
/// page the run's whole tree touches and kills it past the limit, which an rlimit (per process, data segment only)
/// cannot do. Made as a child of the caller's own cgroup: in cgroup v2 when that cgroup delegates the memory
/// controller to its children (its <c>cgroup.subtree_control</c> has, or accepts, <c>memory</c>: systemd's
/// <c>Delegate=memory</c>), in cgroup v1 when the memory hierarchy is writable there. Elsewhere (a container's
/// read-only /sys/fs/cgroup, an unprivileged user without delegation, Windows) <see cref="TryCreate"/> returns null
/// and the caller falls back to an rlimit.
/// </summary>
public sealed class MemoryCgroup : IDisposable
{
    private MemoryCgroup(string path, bool unified)
    {
        Path = path;
        Unified = unified;
    }

    /// <summary>The cgroup's directory.</summary>
    public string Path { get; }

    /// <summary>cgroup v2 (the unified hierarchy); false for the v1 memory hierarchy.</summary>
    public bool Unified { get; }

    /// <summary>Makes a cgroup named <paramref name="name"/> limited to <paramref name="limitBytes"/> (swap included
    /// where the kernel accounts it), or returns null where no cgroup can be made here.</summary>
    /// <param name="cgroupRoot">Where cgroups are mounted (tests point it elsewhere).</param>
    /// <param name="selfCgroupFile">This process's cgroup membership (/proc/self/cgroup).</param>
    public static MemoryCgroup? TryCreate(string name, long limitBytes, string cgroupRoot = "/sys/fs/cgroup", string selfCgroupFile = "/proc/self/cgroup")
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Contains('/') || name is "." or "..") throw new ArgumentException("A cgroup name is one path segment.", nameof(name));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limitBytes);
        if (!OperatingSystem.IsLinux() && cgroupRoot == "/sys/fs/cgroup") return null;
        string membership;
        try { membership = File.ReadAllText(selfCgroupFile); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        var own = ParseMembership(membership);

        string? parent;
        bool unified;
        if (File.Exists(System.IO.Path.Combine(cgroupRoot, "cgroup.controllers")))
        {
            unified = true;
            parent = own.TryGetValue("", out var v2Path) ? Under(cgroupRoot, v2Path) : null;
            if (parent is null || !DelegatesMemory(parent)) return null;
        }
        else
        {
            unified = false;
            var hierarchy = System.IO.Path.Combine(cgroupRoot, "memory");
            if (!Directory.Exists(hierarchy)) return null;
            // Inside a cgroup namespace the membership may name a path the mount does not show: use the mount's root.
            parent = own.TryGetValue("memory", out var v1Path) && Under(hierarchy, v1Path) is { } p && Directory.Exists(p) ? p : hierarchy;
        }

        var path = System.IO.Path.Combine(parent, name);
        try
        {
            Directory.CreateDirectory(path);
            var cgroup = new MemoryCgroup(path, unified);
            var limit = limitBytes.ToString(CultureInfo.InvariantCulture);
            try
            {
                if (unified)
                {
                    File.WriteAllText(System.IO.Path.Combine(path, "memory.max"), limit);
                    TryWrite(System.IO.Path.Combine(path, "memory.swap.max"), "0");
                }
                else
                {
                    File.WriteAllText(System.IO.Path.Combine(path, "memory.limit_in_bytes"), limit);
                    // Memory plus swap, where swap accounting is on; without it the limit alone holds RAM.
                    TryWrite(System.IO.Path.Combine(path, "memory.memsw.limit_in_bytes"), limit);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                cgroup.Dispose();
                return null;
            }
            return cgroup;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>The command line that joins this cgroup before anything of <paramref name="command"/> runs: a shell
    /// writes its own pid into cgroup.procs and execs the command, so not one page is allocated outside it.</summary>
    public IReadOnlyList<string> Join(IReadOnlyList<string> command) =>
        ["/bin/sh", "-c", "echo $$ > \"$0\" && exec \"$@\"", System.IO.Path.Combine(Path, "cgroup.procs"), .. command];

    /// <summary>Whether the kernel killed something in this cgroup for want of memory.</summary>
    public bool OutOfMemory()
    {
        var file = System.IO.Path.Combine(Path, Unified ? "memory.events" : "memory.oom_control");
        try { return File.Exists(file) && OomKills(File.ReadAllText(file)) > 0; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>Kills what is left in the cgroup and removes it.</summary>
    public void Dispose()
    {
        try
        {
            var procs = System.IO.Path.Combine(Path, "cgroup.procs");
            if (File.Exists(procs))
                foreach (var line in File.ReadAllLines(procs))
                    if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0)
                        Kill(pid);
            // A plain directory (tests) is removed as one. A cgroup is removed by rmdir, kernel files and all, once its
            // last process is gone: killed above and reaped by its parent a moment later, hence the retries.
            if (!IsKernelDirectory(Path)) { Directory.Delete(Path, recursive: true); return; }
            for (var attempt = 0; ; attempt++)
            {
                try { Directory.Delete(Path, recursive: false); return; }
                catch (IOException) when (attempt < 40) { Thread.Sleep(50); }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>Parses /proc/self/cgroup ("hierarchy-id:controllers:path" per line) into controller → path; the
    /// unified hierarchy (v2, "0::/path") is under the empty name. Lines that do not parse are skipped.</summary>
    public static IReadOnlyDictionary<string, string> ParseMembership(string text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in (text ?? "").Split('\n'))
        {
            var first = line.IndexOf(':');
            var second = first < 0 ? -1 : line.IndexOf(':', first + 1);
            if (second < 0) continue;
            var path = line[(second + 1)..].TrimEnd('\r');
            if (!path.StartsWith('/')) continue;
            var controllers = line[(first + 1)..second];
            if (controllers.Length == 0) result.TryAdd("", path);
            else foreach (var c in controllers.Split(',')) if (c.Length > 0) result.TryAdd(c, path);
        }
        return result;
    }

    /// <summary>The oom_kill count of memory.events (v2) or memory.oom_control (v1): "key value" lines.</summary>
    public static long OomKills(string text)
    {
        foreach (var line in (text ?? "").Split('\n'))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && parts[0] == "oom_kill" && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                return n;
        }
        return 0;
    }

    private static bool DelegatesMemory(string cgroup)
    {
        var control = System.IO.Path.Combine(cgroup, "cgroup.subtree_control");
        try
        {
            if (File.Exists(control) && File.ReadAllText(control).Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Contains("memory")) return true;
            // Delegated but not yet enabled: enabling it is allowed only where this cgroup may manage its children.
            File.WriteAllText(control, "+memory");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    private static string? Under(string root, string path)
    {
        var relative = path.TrimStart('/');
        if (relative.Split('/').Any(s => s == "..")) return null;
        return relative.Length == 0 ? root : System.IO.Path.Combine(root, relative);
    }

    private static void Kill(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            process.Kill();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception) { }
    }

    private static void TryWrite(string file, string value)
    {
        // Optional knobs (swap) exist only where the kernel accounts them.
        try { if (File.Exists(file)) File.WriteAllText(file, value); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>A cgroup file system's directory (its files are the kernel's), as opposed to a plain one.</summary>
    private static bool IsKernelDirectory(string directory) =>
        directory.StartsWith("/sys/fs/cgroup/", StringComparison.Ordinal);
}
