using System.Diagnostics;
using System.Text.RegularExpressions;
using RemoteOps.Config;
using RemoteOps.Processes;

namespace RemoteOps.Herder;

/// <summary>A minion to run: an environment, its files (the seed's form variables), and its limits.</summary>
public sealed record HerderMinionRequest
{
    public required string Environment { get; init; }
    public IReadOnlyDictionary<string, byte[]> Files { get; init; } = new Dictionary<string, byte[]>();
    /// <summary>The file to return instead of only stdout and stderr (the seed's <c>output</c>); null for none.</summary>
    public string? Output { get; init; }
    /// <summary>Null: herder.max_timeout.</summary>
    public TimeSpan? Timeout { get; init; }
    /// <summary>Bytes; null: herder.memory_limit.</summary>
    public long? MemoryLimit { get; init; }
    /// <summary>Keep the host's network (a minion has none by default).</summary>
    public bool Network { get; init; }
    /// <summary>A herder token: its owner pays for the run's time (herder.credits_per_second). Required when
    /// herder.require_token is set.</summary>
    public string? Token { get; init; }
}

/// <summary>
/// Runs one minion on this machine: a fresh private directory with its files, the environment's command in the
/// sandbox (<see cref="HerderSandbox"/>) under its memory limit, the whole tree killed at its timeout, then the
/// directory removed. Refusals (unknown environment, bad file, a limit past the config's, no sandbox) are
/// <see cref="HerderException"/>s before anything runs; how the run ended is the result.
/// </summary>
public static class HerderMinionRunner
{
    /// <summary>Kept of stdout and of stderr each; the rest is read and dropped, so the minion never blocks.</summary>
    public const int MaxStreamBytes = 4 * 1024 * 1024;
    /// <summary>The most an -Output file may be to come back.</summary>
    public const long MaxOutputFileBytes = 64L * 1024 * 1024;

    /// <summary>What interpreters print when an allocation is refused: under an rlimit the run dies of that refusal,
    /// and this is how the refusal is told from any other failure.</summary>
    private static readonly Regex OutOfMemory = new(
        @"MemoryError|out of memory|Cannot allocate memory|cannot allocate|failed to allocate memory|bad_alloc|Allocation failed|OutOfMemoryException|NoMemoryError|Fatal process OOM",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    /// <summary>Checks the request against the config and this machine, without running anything.</summary>
    /// <returns>The environment, the program that would run, its limits, and bubblewrap's path when it runs sandboxed.</returns>
    public static (HerderEnvironmentSpec Environment, string Program, TimeSpan Timeout, long MemoryLimit, string? Bubblewrap) Check(HerderConfig config, HerderMinionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var environment = HerderEnvironments.Find(config, request.Environment);
        HerderFiles.Validate(request.Files);
        if (request.Output is { } output && !HerderFiles.TryValidateName(output, out var problem))
            throw new HerderException(HerderFailure.InvalidFile, "-Output: " + problem);
        var timeout = request.Timeout ?? config.MaxTimeout;
        if (timeout <= TimeSpan.Zero || timeout > config.MaxTimeout)
            throw new HerderException(HerderFailure.InvalidLimit,
                $"Timeout {Duration.Format(timeout)} is outside (0, {Duration.Format(config.MaxTimeout)}]: herder.max_timeout is the longest a minion may run; raise it in the config for longer runs.");
        var memory = request.MemoryLimit ?? config.MemoryLimit;
        if (memory < HerderConfigReader.MinMemoryLimit || memory > config.MemoryLimit)
            throw new HerderException(HerderFailure.InvalidLimit,
                $"Memory limit {memory} bytes is outside [{HerderConfigReader.MinMemoryLimit}, {config.MemoryLimit}]: herder.memory_limit is the most a minion may have; raise it in the config for more.");
        var program = HerderEnvironments.Locate(environment)
            ?? throw new HerderException(HerderFailure.EnvironmentUnavailable,
                $"The environment '{environment.Name}' needs '{environment.Command[0]}', which is not installed here (not in PATH). Install it, or point herder.environments.{environment.Name} at it.");
        var bubblewrap = config.Sandbox == HerderSandboxKind.Bubblewrap ? HerderSandbox.FindBubblewrap() : null;
        if (config.Sandbox == HerderSandboxKind.Bubblewrap && bubblewrap is null)
            throw new HerderException(HerderFailure.SandboxUnavailable, OperatingSystem.IsLinux()
                ? "bubblewrap is not installed, and minions run sandboxed: install it (apt-get install bubblewrap), or set herder.sandbox: none to allow unsandboxed runs explicitly."
                : "The bubblewrap sandbox exists on Linux only: set herder.sandbox: none to allow unsandboxed runs on this machine explicitly.");
        return (environment, program, timeout, memory, bubblewrap);
    }

    /// <summary>Runs the minion to its end.</summary>
    /// <exception cref="HerderException">Refused before running, or the sandbox could not start.</exception>
    /// <exception cref="OperationCanceledException">Cancelled: the tree was killed and the directory removed.</exception>
    public static async Task<HerderMinionResult> RunAsync(RemoteOpsConfig config, HerderMinionRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(config);
        var section = config.Herder;
        var (environment, program, timeout, memory, bubblewrap) = Check(section, request);
        await using var meter = await HerderMeter.StartAsync(config, request.Token, ct).ConfigureAwait(false);
        var directory = CreatePrivateDirectory();
        try
        {
            foreach (var (name, content) in request.Files)
                await File.WriteAllBytesAsync(Path.Combine(directory, name), content ?? [], ct).ConfigureAwait(false);

            var sandboxed = bubblewrap is not null;
            var arguments = environment.Command.Skip(1).ToArray();
            // A memory cgroup where this machine lets us make one (the kernel counts the whole tree and kills past
            // the limit); RLIMIT_DATA per process otherwise.
            using var cgroup = MemoryCgroup.TryCreate("remoteops-minion-" + Path.GetFileName(directory)["remoteops-minion-".Length..], memory);
            var rlimit = cgroup is null ? memory : (long?)null;
            var command = sandboxed
                ? HerderSandbox.Wrap(bubblewrap!, program, arguments,
                    new HerderSandboxSpec(directory, request.Network, rlimit, config.SourcePath is { } p ? [Path.GetFullPath(p)] : []))
                : HerderSandbox.Limited(program, arguments, rlimit);
            if (cgroup is not null) command = cgroup.Join(command);
            var options = new OneShotOptions(command)
            {
                WorkingDirectory = directory,
                Timeout = timeout,
                MaxOutputBytes = MaxStreamBytes,
                Environment = sandboxed ? new Dictionary<string, string>() : new Dictionary<string, string> { ["HOME"] = directory, ["TMPDIR"] = directory },
                Stop = meter?.RanOut ?? CancellationToken.None,
                // Windows has neither rlimit nor cgroup: the job object that holds the run caps its memory.
                JobMemoryLimit = OperatingSystem.IsWindows() ? memory : null,
            };
            var watch = Stopwatch.StartNew();
            meter?.Begin();
            var run = await OneShotRunner.RunAsync(options, ct).ConfigureAwait(false);
            watch.Stop();
            var spent = meter is null ? 0 : await meter.EndAsync(watch.Elapsed, ct).ConfigureAwait(false);
            if (run.StartFailure is { } failure)
                throw new HerderException(sandboxed ? HerderFailure.SandboxUnavailable : HerderFailure.EnvironmentUnavailable, failure);
            // bubblewrap's own failures (no user namespaces, a bind it cannot make) end it before the program starts.
            if (sandboxed && run.ExitCode == 1 && run.StandardOutput.Length == 0 && run.StandardError.StartsWith("bwrap: ", StringComparison.Ordinal))
                throw new HerderException(HerderFailure.SandboxUnavailable,
                    $"bubblewrap could not set up the sandbox: {run.StandardError.Trim()}. Check that user namespaces are allowed (sysctl kernel.unprivileged_userns_clone), or set herder.sandbox: none.");

            return new HerderMinionResult
            {
                Node = string.IsNullOrEmpty(config.Destination) ? System.Environment.MachineName : config.Destination,
                Environment = environment.Name,
                ExitCode = run.ExitCode,
                Stdout = run.StandardOutput,
                Stderr = run.StandardError,
                OutputName = request.Output ?? "",
                Output = request.Output is { } output ? ReadOutput(directory, output) : null,
                Duration = watch.Elapsed,
                TimedOut = run.TimedOut,
                MemoryExceeded = cgroup is not null ? cgroup.OutOfMemory() : run.JobMemoryExceeded || !run.TimedOut && run.ExitCode != 0 && OutOfMemory.IsMatch(run.StandardError),
                Sandboxed = sandboxed,
                CreditsSpent = spent,
                StopReason = run.Stopped ? $"Stopped: the owner {meter!.Owner} ran out of credits." : run.TimedOut ? $"Timed out after {Duration.Format(timeout)}." : "",
            };
        }
        finally
        {
            RemoveDirectory(directory);
        }
    }

    /// <summary>The output file, when the run left a regular file of that name; never a link the minion planted to
    /// read something outside its directory.</summary>
    private static byte[]? ReadOutput(string directory, string name)
    {
        var file = new FileInfo(Path.Combine(directory, name));
        if (!file.Exists || file.LinkTarget is not null || file.Length > MaxOutputFileBytes) return null;
        return File.ReadAllBytes(file.FullName);
    }

    private static string CreatePrivateDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), "remoteops-minion-" + Guid.NewGuid().ToString("N"));
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(path);
        else Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    /// <summary>Removes the minion's directory, even where it took away its own write permission.</summary>
    private static void RemoveDirectory(string directory)
    {
        try
        {
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                foreach (var d in Directory.EnumerateDirectories(directory, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
                    if (new DirectoryInfo(d).LinkTarget is null) File.SetUnixFileMode(d, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
