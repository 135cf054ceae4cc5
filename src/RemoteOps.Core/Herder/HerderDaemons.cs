using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Steward;

namespace RemoteOps.Herder;

/// <summary>Where a daemon operation goes: to a node's agent (-Node, or this machine's agent when one runs), or to this
/// session's own daemons.</summary>
public sealed record HerderDaemonTarget(string? Node, HerderDaemonHost? SessionHost, string Owner)
{
    public bool Remote => Node is not null;
}

/// <summary>
/// The daemons' two homes. On a node agent, a host per agent (registered as an agent service, so it starts with the
/// agent and adopts what a crashed predecessor left), reached by steward's HerderDaemon method. In a PowerShell
/// session with no agent on this machine, one host per process whose daemons stop when the session ends.
/// </summary>
public static class HerderDaemons
{
    private static readonly ConcurrentDictionary<string, HerderDaemonHost> AgentHosts = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, Task<HerderDaemonHost>> SessionHosts = new(StringComparer.Ordinal);
    private static int _exitHooked;
    internal const string AgentMarker = "host.json";

#pragma warning disable CA2255 // a library's module initializer is exactly what this is for
    [ModuleInitializer]
    internal static void Register()
    {
        StewardAgentServices.Register("herder.daemons", async (context, _) => await StartAgentHostAsync(context).ConfigureAwait(false));
        StewardMethodExtensions.Register(StewardMethod.HerderDaemon, HerderDaemonRemote.ServeAsync);
    }
#pragma warning restore CA2255

    /// <summary>An agent's daemon folder.</summary>
    public static string AgentRoot(string agentDataDirectory) => Path.Combine(agentDataDirectory, "herder", "daemons");

    /// <summary>A session's daemon folder (one per machine user and config data directory, shared by its sessions, so
    /// a later session still reads the logs).</summary>
    public static string SessionRoot(RemoteOpsConfig config) => Path.Combine(config.Steward.EffectiveDataDirectory, "@herder-session", "daemons");

    private static async Task<IAsyncDisposable> StartAgentHostAsync(StewardAgentServiceContext context)
    {
        var root = AgentRoot(context.DataDirectory);
        var host = await HerderDaemonHost.OpenAsync(context.Config, root, context.Node, adopts: true).ConfigureAwait(false);
        AgentHosts[context.Node] = host;
        // The mark a session on this machine looks for: this agent (pid and start time) runs daemons here.
        var marker = Path.Combine(Path.GetDirectoryName(root)!, AgentMarker);
        await File.WriteAllTextAsync(marker, JsonSerializer.Serialize(new AgentMark(Environment.ProcessId, DetachedCommand.ReadStartTime(Environment.ProcessId)))).ConfigureAwait(false);
        return new AgentHostLease(context.Node, host, marker);
    }

    private sealed record AgentMark(int Pid, long? Start);

    private sealed class AgentHostLease(string node, HerderDaemonHost host, string marker) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            AgentHosts.TryRemove(new KeyValuePair<string, HerderDaemonHost>(node, host));
            try { File.Delete(marker); } catch (IOException) { }
            await host.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The daemon host of the agent serving <paramref name="node"/> in this process.</summary>
    internal static HerderDaemonHost? AgentHost(string node) => AgentHosts.GetValueOrDefault(node);

    /// <summary>Whether this machine's node agent (the config's destination) runs: its daemon folder holds the mark of
    /// a live process (pid and start time). That is how a daemon without -Node goes to the agent.</summary>
    public static bool LocalAgentRunning(RemoteOpsConfig config)
    {
        if (string.IsNullOrEmpty(config.Destination)) return false;
        var marker = Path.Combine(StewardMethodExtensions.AgentDataDirectory(config, config.Destination), "herder", AgentMarker);
        try
        {
            var mark = JsonSerializer.Deserialize<AgentMark>(File.ReadAllText(marker));
            return mark is not null && DetachedCommand.Adopt("", mark.Pid, mark.Start).IsAlive;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException) { return false; }
    }

    /// <summary>The node a session's daemons report: the config's destination, else the machine's name.</summary>
    public static string SessionNode(RemoteOpsConfig config) =>
        !string.IsNullOrEmpty(config.Destination) ? config.Destination : Environment.MachineName;

    /// <summary>The identity name a session's daemons belong to when no token is given: the config's destination, else
    /// the user's name.</summary>
    public static string SessionOwner(RemoteOpsConfig config) =>
        !string.IsNullOrEmpty(config.Destination) ? config.Destination : Environment.UserName;

    /// <summary>Where an operation goes: <paramref name="node"/>'s agent; without one, this machine's agent when it
    /// runs, else this session's host.</summary>
    public static async Task<HerderDaemonTarget> ResolveAsync(RemoteOpsConfig config, string? node)
    {
        var agent = LocalAgentRunning(config);
        // A session daemon piped back in names this machine as its node: it stays with the session when no agent runs.
        var here = node is not null && !agent && string.Equals(node, SessionNode(config), StringComparison.OrdinalIgnoreCase);
        if (node is not null && !here) return new HerderDaemonTarget(node, null, "");
        if (agent) return new HerderDaemonTarget(config.Destination, null, "");
        return new HerderDaemonTarget(null, await SessionHostAsync(config).ConfigureAwait(false), SessionOwner(config));
    }

    /// <summary>This process's session host for the config's data directory (opened once; it stops the daemons of
    /// sessions that ended without stopping theirs).</summary>
    public static Task<HerderDaemonHost> SessionHostAsync(RemoteOpsConfig config)
    {
        var root = SessionRoot(config);
        if (Interlocked.Exchange(ref _exitHooked, 1) == 0)
            AppDomain.CurrentDomain.ProcessExit += (_, _) => StopSessionDaemons("its session ended", TimeSpan.FromSeconds(10));
        var opening = SessionHosts.GetOrAdd(root, r => HerderDaemonHost.OpenAsync(config, r, SessionNode(config), adopts: false));
        // A host that could not open (a folder not writable) is tried again next time, not remembered as failed.
        if (opening.IsFaulted) SessionHosts.TryRemove(new KeyValuePair<string, Task<HerderDaemonHost>>(root, opening));
        return opening;
    }

    /// <summary>Stops every session daemon of this process (the session or process is ending), waiting at most <paramref name="budget"/>.</summary>
    public static void StopSessionDaemons(string reason, TimeSpan budget)
    {
        var hosts = SessionHosts.Values.Where(t => t.IsCompletedSuccessfully).Select(t => t.Result).ToList();
        try { Task.WhenAll(hosts.Select(h => h.StopAllAsync(reason))).Wait(budget); }
        catch (Exception) { /* out of time: the next session's host stops what is left */ }
    }

    /// <summary>Stops the session daemons named in <paramref name="started"/> (a runspace closing).</summary>
    public static void StopSessionDaemons(IEnumerable<(string Root, string Owner, string Name)> started, TimeSpan budget)
    {
        var work = started.Select(async s =>
        {
            if (!SessionHosts.TryGetValue(s.Root, out var task) || !task.IsCompletedSuccessfully) return;
            try { await task.Result.StopAsync(s.Owner, s.Name, "its session ended", CancellationToken.None).ConfigureAwait(false); }
            catch (HerderException) { }
        }).ToList();
        try { Task.WhenAll(work).Wait(budget); } catch (Exception) { }
    }

    // ---- what the cmdlets call ----

    public static async Task<HerderDaemon> StartAsync(RemoteOpsConfig config, HerderDaemonTarget target, HerderDaemonRequest request, CancellationToken ct) =>
        target.Remote
            ? await HerderDaemonRemote.StartAsync(config, target.Node!, request, ct).ConfigureAwait(false)
            : await target.SessionHost!.StartAsync(request, target.Owner, ct).ConfigureAwait(false);

    public static async Task<IReadOnlyList<HerderDaemon>> ListAsync(RemoteOpsConfig config, HerderDaemonTarget target, string? pattern, CancellationToken ct) =>
        target.Remote
            ? await HerderDaemonRemote.ListAsync(config, target.Node!, pattern, ct).ConfigureAwait(false)
            : target.SessionHost!.List(target.Owner, pattern);

    public static async Task<HerderDaemon> StopAsync(RemoteOpsConfig config, HerderDaemonTarget target, string name, CancellationToken ct) =>
        target.Remote
            ? await HerderDaemonRemote.StopAsync(config, target.Node!, name, ct).ConfigureAwait(false)
            : await target.SessionHost!.StopAsync(target.Owner, name, "Stop-HerderDaemon", ct).ConfigureAwait(false);

    /// <summary>The logs kept (the last <paramref name="tail"/> lines of each stream) and where they end.</summary>
    public static async Task<(List<HerderDaemonOutput> Lines, HerderDaemonLogPosition Position)> ReadLogAsync(RemoteOpsConfig config, HerderDaemonTarget target, string name, int? tail, CancellationToken ct)
    {
        if (target.Remote) return await HerderDaemonRemote.ReadLogAsync(config, target.Node!, name, tail, ct).ConfigureAwait(false);
        return HerderDaemonLogReader.Read(name, target.SessionHost!.DirectoryOf(target.Owner, name), tail);
    }

    /// <summary>How often a follower looks at the log files when no change was signalled (inotify wakes it at once;
    /// this catches what a watcher misses).</summary>
    public static readonly TimeSpan FollowPoll = TimeSpan.FromMilliseconds(250);

    /// <summary>The lines a daemon writes from <paramref name="from"/> on (its current end when null), as they come,
    /// until <paramref name="ct"/> is cancelled or the daemon no longer runs (its last lines read).</summary>
    public static async IAsyncEnumerable<HerderDaemonOutput> FollowAsync(RemoteOpsConfig config, HerderDaemonTarget target, string name, HerderDaemonLogPosition? from,
        [EnumeratorCancellation] CancellationToken ct)
    {
        if (target.Remote)
        {
            await foreach (var line in HerderDaemonRemote.FollowAsync(config, target.Node!, name, from, ct).ConfigureAwait(false)) yield return line;
            yield break;
        }
        var host = target.SessionHost!;
        using var tail = HerderDaemonTail.Open(name, host.DirectoryOf(target.Owner, name), from);
        while (true)
        {
            var running = host.Get(target.Owner, name).State is HerderDaemonState.Running or HerderDaemonState.Restarting;
            foreach (var line in tail.ReadNew()) yield return line;
            if (!running) yield break;
            try { await tail.WaitAsync(FollowPoll, ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { yield break; }
        }
    }

    /// <summary>Sends lines to the daemon's stdin.</summary>
    public static async Task WriteInputAsync(RemoteOpsConfig config, HerderDaemonTarget target, string name, IReadOnlyList<string> lines, CancellationToken ct)
    {
        if (target.Remote) await HerderDaemonRemote.WriteInputAsync(config, target.Node!, name, lines, ct).ConfigureAwait(false);
        else target.SessionHost!.WriteInput(target.Owner, name, lines);
    }

    /// <summary>Names for Tab, read from this machine's folders (no request is sent): this machine's agent's daemons
    /// when it runs, else the sessions' daemons of this config's owner.</summary>
    public static IEnumerable<CompletionValue> Completions(RemoteOpsConfig? config)
    {
        if (config is null) return [];
        var root = LocalAgentRunning(config)
            ? AgentRoot(StewardMethodExtensions.AgentDataDirectory(config, config.Destination!))
            : Path.Combine(SessionRoot(config), HerderDaemonFiles.OwnerFolder(SessionOwner(config)));
        if (!Directory.Exists(root)) return [];
        var folders = LocalAgentRunning(config) ? Directory.EnumerateDirectories(root).SelectMany(Directory.EnumerateDirectories) : Directory.EnumerateDirectories(root);
        return folders.Select(d => new HerderDaemonFiles(d).Read()).OfType<HerderDaemonRecord>()
            .DistinctBy(r => r.Name).OrderBy(r => r.Name, StringComparer.OrdinalIgnoreCase)
            .Select(r => new CompletionValue(r.Name, $"{r.State}{(r.Ports.Count > 0 ? " " + string.Join(", ", r.Ports.Select(p => $"{p.Key}={p.Value}")) : "")}"));
    }
}
