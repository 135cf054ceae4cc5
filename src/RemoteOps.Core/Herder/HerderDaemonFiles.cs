using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Win32.SafeHandles;

namespace RemoteOps.Herder;

/// <summary>What a daemon's state file holds: enough to list it, to adopt its process after a crash of its host
/// (pid and the process's start time, against pid reuse), and to start it again.</summary>
internal sealed record HerderDaemonRecord
{
    public required string Name { get; init; }
    public required string Owner { get; init; }
    /// <summary>Who started it (the sender's identity name); it finds its daemons by that too when a token's owner pays.</summary>
    public string StartedBy { get; init; } = "";
    public string Node { get; init; } = "";
    /// <summary>The full command line the wrapper runs (bubblewrap's, or the limited program's).</summary>
    public List<string> Command { get; init; } = [];
    /// <summary>Variables given on top of the inherited ones (unsandboxed: PORT…, HOME, TMPDIR).</summary>
    public Dictionary<string, string> Environment { get; init; } = [];
    public Dictionary<string, int> Ports { get; init; } = [];
    /// <summary>Port names in the order given (the first is PORT).</summary>
    public List<string> PortNames { get; init; } = [];
    public string? SeaportId { get; init; }
    /// <summary>The host its ports are claimed on in seaport.</summary>
    public string? SeaportHost { get; init; }
    public HerderDaemonRestart Restart { get; init; }
    public bool Sandboxed { get; init; }
    /// <summary>The token that pays (kept so an adopting agent goes on charging its owner); the file is the owner's only.</summary>
    public string? Token { get; init; }
    public HerderDaemonState State { get; set; }
    public int Pid { get; set; }
    public long? PidStart { get; set; }
    /// <summary>The process that hosts it (an agent, or a PowerShell session) and its start time.</summary>
    public int HostPid { get; set; }
    public long? HostStart { get; set; }
    public DateTimeOffset Started { get; set; }
    public int Restarts { get; set; }
    public int? ExitCode { get; set; }
    public string StopReason { get; set; } = "";

    public HerderDaemon ToDaemon() => new()
    {
        Name = Name, Node = Node, Owner = Owner, State = State, ProcessId = State is HerderDaemonState.Running ? Pid : 0,
        Ports = new Dictionary<string, int>(Ports), Started = Started, Restarts = Restarts, ExitCode = ExitCode, Restart = Restart,
        StopReason = StopReason, Sandboxed = Sandboxed,
    };
}

/// <summary>
/// A daemon's directory: <c>state.json</c>, <c>stdin</c> (a FIFO), <c>out.log</c> and <c>err.log</c> (which its
/// process writes straight into, O_APPEND, so it needs nobody alive to read its output), <c>exit</c> (its exit code,
/// written by the wrapper shell), rotated logs <c>out.log.&lt;UTC time&gt;</c>, and <c>work/</c>, its own writable
/// directory with its files.
/// </summary>
internal sealed class HerderDaemonFiles(string directory)
{
    public const string OutLog = "out.log", ErrLog = "err.log";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    };

    public string Directory { get; } = directory;
    public string StatePath => Path.Combine(Directory, "state.json");
    public string Stdin => Path.Combine(Directory, "stdin");
    public string ExitPath => Path.Combine(Directory, "exit");
    public string Work => Path.Combine(Directory, "work");
    public string Log(HerderDaemonStream stream) => Path.Combine(Directory, stream == HerderDaemonStream.Output ? OutLog : ErrLog);

    /// <summary>The wrapper: the daemon's streams are its files and its FIFO (opened read-write, so opening never waits
    /// for a writer and the daemon never sees end of input), and its exit code goes to a file an adopting agent reads.</summary>
    public const string Wrapper =
        "d=\"$0\"; \"$@\" <>\"$d/stdin\" >>\"$d/out.log\" 2>>\"$d/err.log\"; c=$?; echo $c > \"$d/exit\"; exit $c";

    /// <summary>A directory name for an owner: readable where it can be, and unique (a hash of the whole name).</summary>
    public static string OwnerFolder(string owner)
    {
        var readable = new string(owner.Take(32).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray()).TrimStart('.');
        return readable + "-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(owner)))[..12];
    }

    public void Create()
    {
        if (OperatingSystem.IsWindows()) { System.IO.Directory.CreateDirectory(Work); return; }
        const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        System.IO.Directory.CreateDirectory(Directory, Private);
        System.IO.Directory.CreateDirectory(Work, Private);
        if (!File.Exists(Stdin) && Native.MkFifo(Stdin, 0x180 /* 0600 */) != 0 && !File.Exists(Stdin))
            throw new IOException($"Cannot create the FIFO {Stdin}: errno {Marshal.GetLastPInvokeError()}.");
        foreach (var log in new[] { Log(HerderDaemonStream.Output), Log(HerderDaemonStream.Error) })
            if (!File.Exists(log)) File.WriteAllBytes(log, []);
    }

    public HerderDaemonRecord? Read()
    {
        try { return JsonSerializer.Deserialize<HerderDaemonRecord>(File.ReadAllBytes(StatePath), Json); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException) { return null; }
    }

    /// <summary>Written to a temporary file and renamed over the old one: a crash leaves the old or the new, never half.</summary>
    public void Write(HerderDaemonRecord record)
    {
        var temporary = StatePath + ".tmp" + Environment.CurrentManagedThreadId;
        File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(record, Json));
        File.Move(temporary, StatePath, overwrite: true);
    }

    public int? ReadExitCode()
    {
        try { return int.TryParse(File.ReadAllText(ExitPath).Trim(), out var code) ? code : null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>A line in the daemon's error log from herder itself (why it was stopped), marked as herder's.</summary>
    public void Note(string text)
    {
        try { File.AppendAllText(Log(HerderDaemonStream.Error), $"[herder {DateTimeOffset.UtcNow:u}] {text}\n"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>Writes lines to the daemon's stdin. Opened without waiting (a FIFO nobody reads would block the opener
    /// for ever): false when no process holds it open.</summary>
    public bool WriteInput(IEnumerable<string> lines)
    {
        if (OperatingSystem.IsWindows()) return false;
        var fd = Native.Open(Stdin, Native.WriteOnly | Native.NonBlock | Native.CloseOnExec);
        if (fd < 0) return false;
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        // Blocking again: a line longer than the pipe's buffer waits for the daemon to read rather than failing.
        Native.Fcntl(fd, Native.SetFlags, Native.WriteOnly);
        using var stream = new FileStream(handle, FileAccess.Write, 1);
        foreach (var line in lines)
        {
            var bytes = Encoding.UTF8.GetBytes(line + "\n");
            stream.Write(bytes);
        }
        return true;
    }

    /// <summary>The rotated logs of a stream, oldest first (their names end in a sortable UTC time).</summary>
    public IEnumerable<string> Rotated(HerderDaemonStream stream)
    {
        var name = Path.GetFileName(Log(stream));
        if (!System.IO.Directory.Exists(Directory)) return [];
        // "out.log.*" also matches "out.log" itself (the pattern's DOS heritage): the names are checked again.
        return System.IO.Directory.EnumerateFiles(Directory, name + ".*")
            .Where(f => Path.GetFileName(f).StartsWith(name + ".", StringComparison.Ordinal) && !f.EndsWith(".tmp", StringComparison.Ordinal)).Order(StringComparer.Ordinal);
    }

    /// <summary>Copies the log aside and truncates it (the daemon holds it open with O_APPEND, so it goes on writing
    /// at the new end); true when it rotated.</summary>
    public bool RotateIfOver(HerderDaemonStream stream, long maxBytes)
    {
        var log = Log(stream);
        var info = new FileInfo(log);
        if (!info.Exists || info.Length <= maxBytes) return false;
        var target = $"{log}.{DateTime.UtcNow:yyyyMMddTHHmmssfff}";
        using (var source = new FileStream(log, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete))
        {
            using (var copy = new FileStream(target, FileMode.CreateNew, FileAccess.Write)) source.CopyTo(copy);
            source.SetLength(0);
        }
        return true;
    }

    private static class Native
    {
        internal const int WriteOnly = 1, NonBlock = 0x800, CloseOnExec = 0x80000, SetFlags = 4;

        [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
        internal static extern int MkFifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);

        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        internal static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
        internal static extern int Fcntl(int fd, int command, int argument);
    }
}
