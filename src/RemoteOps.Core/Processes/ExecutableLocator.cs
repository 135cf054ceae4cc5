using System.Diagnostics.CodeAnalysis;

namespace RemoteOps.Processes;

/// <summary>
/// Finds the file a command's program names, before anything is started, so that a missing or non-executable
/// program is a clear message rather than a failed exec (which, behind <c>setsid</c>, would only be an exit code).
/// </summary>
/// <remarks>
/// A bare name is looked up in PATH; a name with a slash is a path, resolved against the working directory (else the
/// current directory of this process). A candidate counts only if it exists and has an execute bit. On Windows the
/// name is left as it is: CreateProcess searches PATH itself (appending .exe).
/// </remarks>
public static class ExecutableLocator
{
    /// <summary>
    /// Resolves <paramref name="program"/> for a process to be started in <paramref name="workingDirectory"/>.
    /// </summary>
    /// <param name="program">The program: a bare name (looked up in PATH) or a path (absolute, or relative to the working directory).</param>
    /// <param name="workingDirectory">The child's working directory; null: the current directory of this process. It must exist.</param>
    /// <param name="path">The full path to start (on Windows: <paramref name="program"/> unchanged).</param>
    /// <param name="problem">When false: a readable sentence, "Cannot start 'x': …".</param>
    public static bool TryResolve(string program, string? workingDirectory,
        [NotNullWhen(true)] out string? path, [NotNullWhen(false)] out string? problem)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(program);
        path = null;
        problem = null;
        if (workingDirectory is not null && !Directory.Exists(workingDirectory))
        {
            problem = $"Cannot start '{program}': the working directory '{workingDirectory}' does not exist.";
            return false;
        }
        if (OperatingSystem.IsWindows())
        {
            path = program;
            return true;
        }
        if (program.Contains('/'))
        {
            var full = Path.GetFullPath(program, workingDirectory ?? Environment.CurrentDirectory);
            if (!File.Exists(full)) problem = $"Cannot start '{program}': '{full}' does not exist.";
            else if (!IsExecutable(full)) problem = $"Cannot start '{program}': '{full}' is not executable.";
            else path = full;
            return path is not null;
        }
        path = Find(program);
        if (path is null) problem = $"Cannot start '{program}': no such program in PATH.";
        return path is not null;
    }

    /// <summary>
    /// The first executable file named <paramref name="name"/> in a PATH directory, else in one of
    /// <paramref name="fallbackDirectories"/> (in order); null when there is none. The name is taken as it is
    /// (on Windows, give the extension: "tool.exe").
    /// </summary>
    public static string? Find(string name, IEnumerable<string>? fallbackDirectories = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(fallbackDirectories ?? []);
        foreach (var dir in dirs)
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate) && IsExecutable(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>Has any execute bit (always true on Windows, where there are none).</summary>
    public static bool IsExecutable(string path)
    {
        if (OperatingSystem.IsWindows()) return true;
        return (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
    }
}
