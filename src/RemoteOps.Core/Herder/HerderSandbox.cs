namespace RemoteOps.Herder;

/// <summary>What a sandboxed run may touch.</summary>
/// <param name="Directory">The minion's own directory: the only writable place, and the working directory.</param>
/// <param name="Network">Whether the run keeps the host's network (daemons, and minions given -Network).</param>
/// <param name="MemoryLimit">Bytes of data memory the run may have (RLIMIT_DATA); null for none.</param>
/// <param name="Hidden">Files the run must not read even though they sit in a system directory it sees (the node's
/// config file with its private keys).</param>
public sealed record HerderSandboxSpec(string Directory, bool Network, long? MemoryLimit, IReadOnlyList<string> Hidden)
{
    /// <summary>Whether it dies with the process that started it (a minion); a daemon outlives a crashed agent, which
    /// adopts it again on restart.</summary>
    public bool DieWithParent { get; init; } = true;
    /// <summary>Variables set inside, on top of the clean environment (a daemon's PORT and PORT_&lt;NAME&gt;).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// Builds the command line that runs a program isolated. With bubblewrap: its own PID, IPC, UTS, user (and, unless
/// asked, network) namespaces; the system directories read-only; a private /tmp; only its own directory writable; it
/// dies with its parent (so a killed agent leaves no minion behind). The memory limit is RLIMIT_DATA, set by the
/// shell just before the program starts: unlike an address-space limit it leaves alone the large reservations that
/// V8 and .NET make without using them, so node and pwsh still start, while an allocation past it fails.
/// </summary>
public static class HerderSandbox
{
    /// <summary>Read-only system directories, bound where they exist (as symlinks where the host has merged /usr).</summary>
    private static readonly string[] SystemRoots = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt"];

    /// <summary>Where bubblewrap is installed; null when it is not.</summary>
    public static string? FindBubblewrap() =>
        OperatingSystem.IsLinux() ? new[] { "/usr/bin/bwrap", "/bin/bwrap", "/usr/local/bin/bwrap" }.FirstOrDefault(File.Exists) : null;

    /// <summary>The program with its memory limit, unsandboxed: the limit still applies (on Linux).</summary>
    public static IReadOnlyList<string> Limited(string program, IReadOnlyList<string> arguments, long? memoryLimit)
    {
        if (memoryLimit is not { } bytes || !OperatingSystem.IsLinux()) return [program, .. arguments];
        // $0 is the limit in KiB; exec keeps the program's pid, so a timeout's kill reaches it.
        return ["/bin/sh", "-c", "ulimit -d \"$0\" && exec \"$@\"", (bytes / 1024).ToString(System.Globalization.CultureInfo.InvariantCulture), program, .. arguments];
    }

    /// <summary>The bubblewrap command line that runs <paramref name="program"/> under <paramref name="spec"/>.</summary>
    public static IReadOnlyList<string> Wrap(string bubblewrap, string program, IReadOnlyList<string> arguments, HerderSandboxSpec spec)
    {
        var args = new List<string> { bubblewrap };
        if (spec.DieWithParent) args.Add("--die-with-parent");
        args.AddRange(["--new-session", "--unshare-all"]);
        if (spec.Network) args.Add("--share-net");
        var bound = new List<string>();
        foreach (var root in SystemRoots)
        {
            var info = new DirectoryInfo(root);
            if (!info.Exists) continue;
            if (info.LinkTarget is { } target) args.AddRange(["--symlink", target, root]);
            else { args.AddRange(["--ro-bind", root, root]); bound.Add(root); }
        }
        // An interpreter installed outside the system directories (pyenv, nvm, a dotnet tool) is bound read-only by
        // its install root: the first directory below the home directory, or below /.
        if (InstallRoot(program) is { } install && !bound.Any(b => IsUnder(install, b)))
            args.AddRange(["--ro-bind", install, install]);
        foreach (var hidden in spec.Hidden.Where(File.Exists).Where(h => bound.Any(b => IsUnder(h, b))))
            args.AddRange(["--ro-bind", "/dev/null", hidden]);
        args.AddRange(["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]);
        args.AddRange(["--bind", spec.Directory, spec.Directory, "--chdir", spec.Directory]);
        // A clean environment: nothing of the agent's (credentials, config paths) leaks in.
        args.AddRange(["--clearenv", "--setenv", "PATH", Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin",
            "--setenv", "HOME", spec.Directory, "--setenv", "TMPDIR", "/tmp", "--setenv", "LANG", "C.UTF-8"]);
        foreach (var (name, value) in spec.Environment) args.AddRange(["--setenv", name, value]);
        args.Add("--");
        args.AddRange(Limited(program, arguments, spec.MemoryLimit));
        return args;
    }

    private static string? InstallRoot(string program)
    {
        var full = Path.GetFullPath(program);
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var below = !string.IsNullOrEmpty(home) && home != "/" && IsUnder(full, home) ? home : "/";
        var rest = Path.GetRelativePath(below, full).Split(Path.DirectorySeparatorChar);
        return rest.Length < 2 ? null : Path.Combine(below, rest[0]);
    }

    private static bool IsUnder(string path, string directory) =>
        path == directory || path.StartsWith(directory.TrimEnd('/') + "/", StringComparison.Ordinal);
}
