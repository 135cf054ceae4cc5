using System.Collections.Concurrent;
using System.IO.Enumeration;
using RemoteOps.Config;
using RemoteOps.Processes;
using RemoteOps.Seaport;
using RemoteOps.Steward;

namespace RemoteOps.Herder;

/// <summary>A daemon to start: a name, what it runs (a command, or an environment with its files), its ports, its
/// restart policy and, optionally, the token that pays for it.</summary>
public sealed record HerderDaemonRequest
{
    public required string Name { get; init; }
    /// <summary>The program and its arguments (null when <see cref="Environment"/> is given).</summary>
    public IReadOnlyList<string>? Command { get; init; }
    /// <summary>An environment whose command runs in the daemon's directory, with <see cref="Files"/> written there.</summary>
    public string? Environment { get; init; }
    public IReadOnlyDictionary<string, byte[]> Files { get; init; } = new Dictionary<string, byte[]>();
    /// <summary>Port names: each gets a port, in PORT_&lt;NAME&gt;; the first also in PORT.</summary>
    public IReadOnlyList<string> Ports { get; init; } = [];
    public HerderDaemonRestart Restart { get; init; } = HerderDaemonRestart.OnFailure;
    public string? Token { get; init; }
}

/// <summary>
/// The daemons of one host process (a node agent, or a PowerShell session), in a directory of its own: one folder per
/// owner and name (<see cref="HerderDaemonFiles"/>). Each runs under <see cref="ProcessSupervisor"/> (restart policy,
/// whole tree killed on stop) but writes its output straight into its log files and reads its stdin from a FIFO, so
/// it needs nothing of its host to keep running: an agent killed with SIGKILL finds its daemons again when it starts
/// (state file, pid checked against the process start time in /proc), adopts those still running, and starts again
/// those that died. A session's host instead stops the daemons of sessions that ended without stopping them.
/// </summary>
public sealed class HerderDaemonHost : IAsyncDisposable
{
    /// <summary>Daemon names: they are seaport role names and folder names.</summary>
    public const int MaxNameLength = 64;
    /// <summary>How often logs are checked for rotation and retention.</summary>
    internal TimeSpan MaintainEvery { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>A log past this size is rotated (copied aside and truncated).</summary>
    public long MaxLogBytes { get; init; } = 16L * 1024 * 1024;
    private static readonly TimeSpan AdoptedPoll = TimeSpan.FromMilliseconds(200);
    private static readonly string Shell = new[] { "/bin/sh", "/usr/bin/sh" }.FirstOrDefault(File.Exists) ?? "/bin/sh";

    private readonly RemoteOpsConfig _config;
    private readonly bool _adopts;
    private readonly ConcurrentDictionary<string, DaemonRun> _runs = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _closing = new();
    private Task _maintenance = Task.CompletedTask;
    private static readonly int OwnPid = System.Environment.ProcessId;
    private static readonly long? OwnStart = OperatingSystem.IsLinux() ? DetachedCommand.ReadStartTime(System.Environment.ProcessId) : null;

    /// <summary>Where its daemons' folders are.</summary>
    public string Root { get; }
    /// <summary>The node name its daemons report.</summary>
    public string Node { get; }

    private HerderDaemonHost(RemoteOpsConfig config, string root, string node, bool adopts)
    {
        _config = config; Root = root; Node = node; _adopts = adopts;
    }

    /// <summary>Opens the daemons in <paramref name="root"/>. An agent's host (<paramref name="adopts"/>) adopts the
    /// daemons a crashed predecessor left running and starts again those that died; a session's host stops the
    /// daemons of sessions that are gone.</summary>
    public static async Task<HerderDaemonHost> OpenAsync(RemoteOpsConfig config, string root, string node, bool adopts, TimeSpan? maintainEvery = null, long? maxLogBytes = null)
    {
        Directory.CreateDirectory(root);
        var host = new HerderDaemonHost(config, root, node, adopts)
        {
            MaintainEvery = maintainEvery ?? TimeSpan.FromSeconds(10), MaxLogBytes = maxLogBytes ?? 16L * 1024 * 1024,
        };
        await host.RecoverAsync().ConfigureAwait(false);
        host._maintenance = host.MaintainLoopAsync(host._closing.Token);
        return host;
    }

    /// <summary>Checks a daemon name; the message says what is allowed.</summary>
    public static void ValidateName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength || name[0] == '.' || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
            throw new HerderException(HerderFailure.InvalidDaemon,
                $"'{HerderEnvironments.Clean(name)}' is not a daemon name: use 1 to {MaxNameLength} letters, digits, '.', '-' or '_' (it is also its seaport role, <name>@0.0.0).");
    }

    private HerderDaemonFiles FilesOf(string owner, string name) =>
        new(Path.Combine(Root, HerderDaemonFiles.OwnerFolder(owner), name));

    /// <summary>Starts a daemon for <paramref name="owner"/> (the token's owner instead, when a token is given).</summary>
    /// <exception cref="HerderException">DaemonExists, a bad request (name, environment, files, ports), no sandbox,
    /// InvalidToken, NoCredits.</exception>
    public async Task<HerderDaemon> StartAsync(HerderDaemonRequest request, string owner, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        ValidateName(request.Name);
        var section = _config.Herder;
        var (program, arguments) = Resolve(section, request);
        var bubblewrap = section.Sandbox == HerderSandboxKind.Bubblewrap ? HerderSandbox.FindBubblewrap() : null;
        if (section.Sandbox == HerderSandboxKind.Bubblewrap && bubblewrap is null)
            throw new HerderException(HerderFailure.SandboxUnavailable, OperatingSystem.IsLinux()
                ? "bubblewrap is not installed, and daemons run sandboxed: install it (apt-get install bubblewrap), or set herder.sandbox: none to allow unsandboxed runs explicitly."
                : "The bubblewrap sandbox exists on Linux only: set herder.sandbox: none to allow unsandboxed runs on this machine explicitly.");
        if (OperatingSystem.IsWindows())
            throw new HerderException(HerderFailure.SandboxUnavailable, "Daemons need a Unix system (their streams are files and a FIFO).");
        foreach (var port in request.Ports)
            if (string.IsNullOrWhiteSpace(port) || port.Length > 64 || !port.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                throw new HerderException(HerderFailure.InvalidDaemon, $"'{HerderEnvironments.Clean(port)}' is not a port name: use 1 to 64 letters, digits, '-' or '_'.");
        if (request.Ports.Distinct(StringComparer.OrdinalIgnoreCase).Count() != request.Ports.Count)
            throw new HerderException(HerderFailure.InvalidDaemon, "The port names repeat.");

        var meter = await HerderMeter.StartAsync(_config, request.Token, ct).ConfigureAwait(false);
        var startedBy = owner;
        owner = meter?.Owner ?? owner;
        HerderTokens.ValidateOwner(owner);
        var files = FilesOf(owner, request.Name);
        SeaportService? reserved = null;
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (files.Read() is { } existing && IsActive(existing, files))
                throw new HerderException(HerderFailure.DaemonExists,
                    $"A daemon named '{request.Name}' already runs for {owner} on {Node} (pid {existing.Pid}): stop it first (Stop-HerderDaemon), or choose another name.");
            if (request.Ports.Count > 0)
            {
                try
                {
                    reserved = await SeaportRegistrar.ReserveAsync(_config, new SeaportRegistration { Role = $"{request.Name}@0.0.0", PortNames = request.Ports }, ct).ConfigureAwait(false);
                }
                catch (SeaportArgumentException e) { throw new HerderException(HerderFailure.InvalidDaemon, e.Message); }
            }
            files.Create();
            foreach (var (name, content) in request.Files)
                await File.WriteAllBytesAsync(Path.Combine(files.Work, name), content ?? [], ct).ConfigureAwait(false);

            var ports = reserved is null ? new Dictionary<string, int>() : request.Ports.ToDictionary(n => n, n => reserved.Ports[n]);
            var portEnv = new Dictionary<string, string>();
            if (request.Ports.Count > 0)
            {
                portEnv["PORT"] = ports[request.Ports[0]].ToString(System.Globalization.CultureInfo.InvariantCulture);
                foreach (var name in request.Ports) portEnv[SupervisorOptions.PortVariable(name)] = ports[name].ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            var memory = section.MemoryLimit;
            IReadOnlyList<string> command = bubblewrap is not null
                ? HerderSandbox.Wrap(bubblewrap, program, arguments, new HerderSandboxSpec(files.Work, Network: true, memory,
                    _config.SourcePath is { } p ? [Path.GetFullPath(p)] : []) { DieWithParent = false, Environment = portEnv })
                : HerderSandbox.Limited(program, arguments, memory);
            var environment = bubblewrap is not null ? new Dictionary<string, string>()
                : new Dictionary<string, string>(portEnv) { ["HOME"] = files.Work, ["TMPDIR"] = files.Work };
            var record = new HerderDaemonRecord
            {
                Name = request.Name, Owner = owner, StartedBy = startedBy, Node = Node, Command = [.. command], Environment = environment, Ports = ports,
                PortNames = [.. request.Ports], SeaportId = reserved?.Id, SeaportHost = reserved?.HostName, Restart = request.Restart,
                Sandboxed = bubblewrap is not null, Token = request.Token, State = HerderDaemonState.Running, HostPid = OwnPid, HostStart = OwnStart,
                Started = DateTimeOffset.UtcNow,
            };
            files.Write(record);
            var run = new DaemonRun(files, record, meter);
            _runs[files.Directory] = run;
            run.Loop = RunAsync(run, adopted: null);
            meter = null; // the run owns it now
            reserved = null;
            await run.FirstStart.Task.WaitAsync(ct).ConfigureAwait(false);
            return run.Snapshot();
        }
        finally
        {
            _gate.Release();
            if (meter is not null) await meter.DisposeAsync().ConfigureAwait(false);
            if (reserved is not null) await SeaportRegistrar.ReleaseAsync(_config, reserved).ConfigureAwait(false);
        }
    }

    private static (string Program, IReadOnlyList<string> Arguments) Resolve(HerderConfig section, HerderDaemonRequest request)
    {
        if (request.Command is { Count: > 0 } command)
        {
            if (request.Environment is not null) throw new HerderException(HerderFailure.InvalidDaemon, "Give either a command or an environment with files, not both.");
            if (command.Any(string.IsNullOrEmpty)) throw new HerderException(HerderFailure.InvalidDaemon, "The command has an empty word.");
            var found = Path.IsPathRooted(command[0]) ? (File.Exists(command[0]) ? command[0] : null) : ExecutableLocator.Find(command[0]);
            return (found ?? throw new HerderException(HerderFailure.EnvironmentUnavailable,
                $"The program '{HerderEnvironments.Clean(command[0])}' is not installed here (not in PATH)."), [.. command.Skip(1)]);
        }
        if (string.IsNullOrEmpty(request.Environment))
            throw new HerderException(HerderFailure.InvalidDaemon, "Give the daemon a command (-Command), or an environment with its files (-Environment, -File).");
        var environment = HerderEnvironments.Find(section, request.Environment);
        HerderFiles.Validate(request.Files);
        var program = HerderEnvironments.Locate(environment)
            ?? throw new HerderException(HerderFailure.EnvironmentUnavailable,
                $"The environment '{environment.Name}' needs '{environment.Command[0]}', which is not installed here (not in PATH).");
        return (program, [.. environment.Command.Skip(1)]);
    }

    /// <summary>Whether a daemon's record says it runs, and something still runs it: this host, another live host
    /// process, or (for an agent's folder) its own process.</summary>
    private bool IsActive(HerderDaemonRecord record, HerderDaemonFiles files)
    {
        if (record.State is not (HerderDaemonState.Running or HerderDaemonState.Restarting)) return false;
        if (_runs.TryGetValue(files.Directory, out var run) && !run.Loop.IsCompleted) return true;
        return HostAlive(record) || DetachedCommand.Adopt(files.Directory, record.Pid, record.PidStart).IsAlive;
    }

    private static bool HostAlive(HerderDaemonRecord record) =>
        record.HostPid != OwnPid && record.HostPid > 0 && DetachedCommand.Adopt("", record.HostPid, record.HostStart).IsAlive;

    /// <summary>The daemons of <paramref name="owner"/> (those it owns or started; every owner's when null) whose names
    /// match the wildcard <paramref name="pattern"/> (all when null), by name.</summary>
    public IReadOnlyList<HerderDaemon> List(string? owner, string? pattern)
    {
        var result = new List<HerderDaemon>();
        foreach (var folder in AllFolders())
        {
            var files = new HerderDaemonFiles(folder);
            if (files.Read() is not { } record || owner is not null && record.Owner != owner && record.StartedBy != owner) continue;
            var daemon = _runs.TryGetValue(folder, out var run) ? run.Snapshot() : record.ToDaemon();
            if (pattern is null || FileSystemName.MatchesSimpleExpression(pattern, daemon.Name, ignoreCase: true)) result.Add(daemon);
        }
        return result.OrderBy(d => d.Name, StringComparer.OrdinalIgnoreCase).ThenBy(d => d.Owner, StringComparer.Ordinal).ToList();
    }

    private IEnumerable<string> AllFolders() =>
        Directory.Exists(Root) ? Directory.EnumerateDirectories(Root).SelectMany(Directory.EnumerateDirectories) : [];

    /// <summary>One daemon of <paramref name="owner"/>.</summary>
    /// <exception cref="HerderException">DaemonNotFound.</exception>
    public HerderDaemon Get(string owner, string name)
    {
        var files = Existing(owner, name);
        return _runs.TryGetValue(files.Directory, out var run) ? run.Snapshot() : (files.Read() ?? throw NotFound(owner, name)).ToDaemon();
    }

    private HerderException NotFound(string owner, string name) =>
        new(HerderFailure.DaemonNotFound, $"No daemon named '{HerderEnvironments.Clean(name)}' for {owner} on {Node} (Get-HerderDaemon lists them).");

    /// <summary>The folder of an existing daemon (its logs, its stdin).</summary>
    /// <exception cref="HerderException">DaemonNotFound.</exception>
    internal HerderDaemonFiles Existing(string owner, string name)
    {
        ValidateNameForLookup(name);
        var files = FilesOf(owner, name);
        if (files.Read() is not null) return files;
        // Started by this owner and paid by a token's owner: found by who started it (the running one first).
        var started = AllFolders().Where(f => Path.GetFileName(f) == name).Select(f => new HerderDaemonFiles(f))
            .Select(f => (Files: f, Record: f.Read())).Where(t => t.Record?.StartedBy == owner)
            .OrderByDescending(t => t.Record!.State is HerderDaemonState.Running or HerderDaemonState.Restarting).FirstOrDefault();
        if (started.Files is null)
            throw new HerderException(HerderFailure.DaemonNotFound, $"No daemon named '{HerderEnvironments.Clean(name)}' for {owner} on {Node} (Get-HerderDaemon lists them).");
        return started.Files;
    }

    private static void ValidateNameForLookup(string name)
    {
        try { ValidateName(name); }
        catch (HerderException) { throw new HerderException(HerderFailure.DaemonNotFound, $"No daemon named '{HerderEnvironments.Clean(name)}': {name} is not even a daemon name."); }
    }

    /// <summary>The folder of a daemon (for attach and logs).</summary>
    public string DirectoryOf(string owner, string name) => Existing(owner, name).Directory;

    /// <summary>Stops a daemon and its whole process tree; one that is not running is returned as it is.</summary>
    /// <exception cref="HerderException">DaemonNotFound.</exception>
    public async Task<HerderDaemon> StopAsync(string owner, string name, string reason, CancellationToken ct)
    {
        var files = Existing(owner, name);
        if (_runs.TryGetValue(files.Directory, out var run))
        {
            await run.StopAsync(reason).ConfigureAwait(false);
            return run.Snapshot();
        }
        // Run by another session (or left by one that is gone): the record says Stopped first, so its host does not
        // start it again, then its tree goes.
        var record = files.Read()!;
        if (record.State is HerderDaemonState.Running or HerderDaemonState.Restarting)
        {
            record.State = HerderDaemonState.Stopped;
            record.StopReason = reason;
            files.Write(record);
            files.Note($"Stopped: {reason}");
            await DetachedCommand.Adopt(files.Directory, record.Pid, record.PidStart).KillTreeAsync().ConfigureAwait(false);
            if (record.SeaportId is { } id) await SeaportRegistrar.FreeQuietlyAsync(_config, id, ct).ConfigureAwait(false);
        }
        return record.ToDaemon();
    }

    /// <summary>Sends lines to a running daemon's stdin.</summary>
    /// <exception cref="HerderException">DaemonNotFound, or it does not run.</exception>
    public void WriteInput(string owner, string name, IEnumerable<string> lines)
    {
        var files = Existing(owner, name);
        if (!files.WriteInput(lines))
            throw new HerderException(HerderFailure.DaemonNotFound, $"The daemon '{name}' of {owner} does not run now: nothing reads its input.");
    }

    /// <summary>Stops every daemon this host runs (an agent stopping, a session ending).</summary>
    public async Task StopAllAsync(string reason)
    {
        await Task.WhenAll(_runs.Values.Select(r => r.StopAsync(reason))).ConfigureAwait(false);
    }

    /// <summary>Stops every daemon (the host is going away in order) and its log maintenance.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_closing.IsCancellationRequested) return;
        await StopAllAsync("its host stopped").ConfigureAwait(false);
        await _closing.CancelAsync().ConfigureAwait(false);
        try { await _maintenance.ConfigureAwait(false); } catch (OperationCanceledException) { }
    }

    // ---- running ----

    private sealed class DaemonRun(HerderDaemonFiles files, HerderDaemonRecord record, HerderMeter? meter)
    {
        public readonly HerderDaemonFiles Files = files;
        public readonly HerderDaemonRecord Record = record;
        public HerderMeter? Meter = meter;
        public readonly CancellationTokenSource Stop = new();
        public readonly TaskCompletionSource FirstStart = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public Task Loop = Task.CompletedTask;
        public string Reason = "";
        public bool Registered;
        private readonly Lock _gate = new();

        public HerderDaemon Snapshot() { lock (_gate) return Record.ToDaemon(); }

        /// <summary>Another process stopped it (and wrote the record): only this copy follows.</summary>
        public void MarkStopped() { lock (_gate) { Record.State = HerderDaemonState.Stopped; Record.Pid = 0; } }

        public void Update(Action<HerderDaemonRecord> change)
        {
            lock (_gate)
            {
                change(Record);
                try { Files.Write(Record); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            }
        }

        public async Task StopAsync(string reason)
        {
            if (!Stop.IsCancellationRequested)
            {
                Reason = reason;
                try { await Stop.CancelAsync().ConfigureAwait(false); } catch (ObjectDisposedException) { }
            }
            try { await Loop.ConfigureAwait(false); } catch (Exception) { /* reported in its record */ }
        }
    }

    /// <summary>Thrown from the supervisor's event callback to end it without a restart.</summary>
    private sealed class EndedException : Exception;

    private static bool ShouldRestart(HerderDaemonRestart policy, int? exitCode) =>
        policy == HerderDaemonRestart.Always || policy == HerderDaemonRestart.OnFailure && exitCode != 0;

    private async Task RunAsync(DaemonRun run, DetachedCommand? adopted)
    {
        await Task.Yield();
        var ct = run.Stop.Token;
        using var ranOut = run.Meter is { } m ? m.RanOut.Register(() => _ = run.StopAsync($"the owner {m.Owner} ran out of credits")) : default;
        var began = DateTimeOffset.UtcNow;
        run.Meter?.Begin();
        try
        {
            if (adopted is not null)
            {
                run.Update(r => { r.HostPid = OwnPid; r.HostStart = OwnStart; });
                await RegisterAsync(run, reRegister: true).ConfigureAwait(false);
                run.FirstStart.TrySetResult();
                while (adopted.IsAlive) await Task.Delay(AdoptedPoll, ct).ConfigureAwait(false);
                if (StoppedByOther(run)) { run.MarkStopped(); return; }
                var exit = File.Exists(run.Files.ExitPath) && File.GetLastWriteTimeUtc(run.Files.ExitPath) >= run.Record.Started.UtcDateTime.AddSeconds(-1)
                    ? run.Files.ReadExitCode() : null;
                run.Update(r => r.ExitCode = exit);
                if (!ShouldRestart(run.Record.Restart, exit))
                {
                    run.Update(r => { r.State = HerderDaemonState.Exited; r.Pid = 0; });
                    return;
                }
                run.Update(r => { r.State = HerderDaemonState.Restarting; r.Restarts++; });
                await Task.Delay(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
            }
            await SuperviseAsync(run, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            if (adopted is not null) await adopted.KillTreeAsync().ConfigureAwait(false);
            run.Update(r => { r.State = HerderDaemonState.Stopped; r.Pid = 0; });
        }
        catch (Exception e)
        {
            run.Files.Note($"Could not run: {e.Message}");
            run.Update(r => { r.State = HerderDaemonState.Exited; r.Pid = 0; r.StopReason = e.Message; });
        }
        finally
        {
            run.FirstStart.TrySetResult();
            if (run.Reason.Length > 0)
            {
                run.Files.Note($"Stopped: {run.Reason}.");
                run.Update(r => { r.State = HerderDaemonState.Stopped; r.StopReason = run.Reason; r.Pid = 0; });
            }
            await ReleaseAsync(run).ConfigureAwait(false);
            if (run.Meter is { } meter)
            {
                try { await meter.EndAsync(DateTimeOffset.UtcNow - began, CancellationToken.None).ConfigureAwait(false); } catch (Exception) { }
                await meter.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task SuperviseAsync(DaemonRun run, CancellationToken ct)
    {
        var supervisor = new ProcessSupervisor(new SupervisorOptions([Shell, "-c", HerderDaemonFiles.Wrapper, run.Files.Directory, .. run.Record.Command])
        {
            Environment = run.Record.Environment,
            WorkingDirectory = run.Files.Work,
            MaxRestarts = run.Record.Restart == HerderDaemonRestart.Never ? 0 : -1,
            InitialBackoff = TimeSpan.FromSeconds(1),
            MaxBackoff = TimeSpan.FromSeconds(30),
        });
        try
        {
            await supervisor.RunAsync(async (e, token) =>
            {
                switch (e.Kind)
                {
                    case SupervisorEventKind.Started:
                        var start = DetachedCommand.ReadStartTime(e.ProcessId);
                        // ExitCode stays the last run's: with Restarts it says why it was started again.
                        run.Update(r => { r.State = HerderDaemonState.Running; r.Pid = e.ProcessId; r.PidStart = start; r.Started = DateTimeOffset.UtcNow; });
                        await RegisterAsync(run, reRegister: false).ConfigureAwait(false);
                        run.FirstStart.TrySetResult();
                        break;
                    case SupervisorEventKind.Exited:
                        // Read before this host writes the record again: a Stopped written by another session wins.
                        if (StoppedByOther(run)) { run.MarkStopped(); throw new EndedException(); }
                        run.Update(r => { r.ExitCode = e.ExitCode; r.Pid = 0; });
                        if (!ShouldRestart(run.Record.Restart, e.ExitCode))
                        {
                            run.Update(r => r.State = HerderDaemonState.Exited);
                            throw new EndedException();
                        }
                        break;
                    case SupervisorEventKind.Restarting:
                        run.Update(r => { r.State = HerderDaemonState.Restarting; r.Restarts++; });
                        break;
                    case SupervisorEventKind.GaveUp:
                        run.Update(r => r.State = HerderDaemonState.Exited);
                        break;
                    case SupervisorEventKind.Stopped:
                        run.Update(r => { r.State = HerderDaemonState.Stopped; r.Pid = 0; if (e.ExitCode is { } code) r.ExitCode = code; });
                        break;
                }
            }, onOutput: null, ct).ConfigureAwait(false);
        }
        catch (EndedException) { }
    }

    /// <summary>Another process (a session's Stop-HerderDaemon) wrote Stopped over the record.</summary>
    private static bool StoppedByOther(DaemonRun run) => run.Files.Read() is { State: HerderDaemonState.Stopped };

    /// <summary>Registers the daemon in seaport as <c>&lt;name&gt;@0.0.0</c> with its ports, once. An adopting agent
    /// first frees the registration its dead predecessor left (it would expire, but until then blocks the id).</summary>
    private async Task RegisterAsync(DaemonRun run, bool reRegister)
    {
        if (run.Registered || run.Record.SeaportId is not { } id) return;
        try
        {
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            if (reRegister) await SeaportRegistrar.FreeQuietlyAsync(_config, id, bound.Token, keepClaims: true).ConfigureAwait(false);
            await SeaportRegistrar.RegisterAsync(_config, new SeaportRegistration
            {
                Role = $"{run.Record.Name}@0.0.0", PortNames = run.Record.PortNames, Id = id, HostName = run.Record.SeaportHost,
                ClaimedPorts = run.Record.PortNames.Select(n => run.Record.Ports[n]).ToList(),
                Meta = new Dictionary<string, string> { ["herder.owner"] = run.Record.Owner, ["herder.node"] = Node },
            }, bound.Token).ConfigureAwait(false);
            run.Registered = true;
        }
        catch (Exception e) when (e is not OperationCanceledException || !run.Stop.IsCancellationRequested)
        {
            run.Files.Note($"Could not register {run.Record.Name}@0.0.0 in seaport: {e.Message}");
        }
    }

    private async Task ReleaseAsync(DaemonRun run)
    {
        if (run.Record.SeaportId is not { } id) return;
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await SeaportRegistrar.FreeQuietlyAsync(_config, id, bound.Token).ConfigureAwait(false);
        var first = run.Record.PortNames.FirstOrDefault();
        await SeaportRegistrar.ReleaseAsync(_config, new SeaportService
        {
            Id = id, HostName = run.Record.SeaportHost ?? SeaportRegistrar.LocalHostName,
            Port = first is null ? 0 : run.Record.Ports[first], Ports = new Dictionary<string, int>(run.Record.Ports),
        }).ConfigureAwait(false);
        run.Registered = false;
    }

    // ---- recovery, rotation, retention ----

    private async Task RecoverAsync()
    {
        foreach (var folder in AllFolders().ToList())
        {
            var files = new HerderDaemonFiles(folder);
            if (files.Read() is not { } record || record.State is not (HerderDaemonState.Running or HerderDaemonState.Restarting)) continue;
            if (record.HostPid == OwnPid || HostAlive(record) && !_adopts) continue; // its own host runs it
            var process = DetachedCommand.Adopt(folder, record.Pid, record.PidStart);
            var alive = record.Pid > 0 && record.PidStart is not null && process.IsAlive;
            if (!_adopts)
            {
                // A session that ended without stopping its daemons (killed): they end with it, as they would have.
                if (alive) await process.KillTreeAsync().ConfigureAwait(false);
                record.State = HerderDaemonState.Stopped;
                record.StopReason = "its session ended";
                record.Pid = 0;
                files.Write(record);
                files.Note("Stopped: its session ended.");
                if (record.SeaportId is { } id) await SeaportRegistrar.FreeQuietlyAsync(_config, id, CancellationToken.None).ConfigureAwait(false);
                continue;
            }
            HerderMeter? meter = null;
            try { meter = await HerderMeter.StartAsync(_config, record.Token, CancellationToken.None).ConfigureAwait(false); }
            catch (HerderException e)
            {
                if (alive) await process.KillTreeAsync().ConfigureAwait(false);
                record.State = HerderDaemonState.Stopped;
                record.StopReason = e.Message;
                record.Pid = 0;
                files.Write(record);
                files.Note($"Stopped: {e.Message}");
                continue;
            }
            catch (Exception) { /* the ledger unreachable: it runs, charged from the next start */ }
            var run = new DaemonRun(files, record, meter);
            _runs[folder] = run;
            if (alive)
            {
                files.Note($"Adopted (pid {record.Pid}) by a new host (pid {OwnPid}) after its previous host ended.");
                run.Loop = RunAsync(run, process);
            }
            else
            {
                // Gone while nobody watched (or a reused pid): whatever is left of its group goes, and it starts again.
                if (record.Pid > 0) await process.KillTreeAsync().ConfigureAwait(false);
                files.Note("Its process was gone when its host restarted: started again.");
                run.Update(r => { r.Restarts++; r.HostPid = OwnPid; r.HostStart = OwnStart; });
                run.Loop = RunAsync(run, adopted: null);
            }
        }
    }

    private async Task MaintainLoopAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(MaintainEvery);
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false)) Maintain(DateTimeOffset.UtcNow);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }

    /// <summary>Rotates logs past <see cref="MaxLogBytes"/>, deletes rotated logs older than herder.log_retention, and
    /// the folders of daemons that ended longer ago than that.</summary>
    internal void Maintain(DateTimeOffset now)
    {
        var retention = _config.Herder.LogRetention;
        foreach (var folder in AllFolders().ToList())
        {
            try
            {
                var files = new HerderDaemonFiles(folder);
                foreach (var stream in new[] { HerderDaemonStream.Output, HerderDaemonStream.Error })
                {
                    files.RotateIfOver(stream, MaxLogBytes);
                    foreach (var old in files.Rotated(stream).Where(f => File.GetLastWriteTimeUtc(f) < (now - retention).UtcDateTime))
                        File.Delete(old);
                }
                var record = files.Read();
                if (record is { State: HerderDaemonState.Exited or HerderDaemonState.Stopped } && !_runs.ContainsKey(folder)
                    && File.GetLastWriteTimeUtc(files.StatePath) < (now - retention).UtcDateTime)
                    Directory.Delete(folder, recursive: true);
                else if (record is { State: HerderDaemonState.Exited or HerderDaemonState.Stopped } && _runs.TryGetValue(folder, out var run) && run.Loop.IsCompleted)
                    _runs.TryRemove(folder, out _);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }
}
