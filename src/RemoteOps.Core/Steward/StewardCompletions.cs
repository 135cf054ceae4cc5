using RemoteOps.Config;

namespace RemoteOps.Steward;

/// <summary>What steward offers to argument completion: the methods, and the nodes (the registry's and the configured
/// peers'). Bounded in time and silent on failure: completion must never hang or throw.</summary>
public static class StewardCompletions
{
    public static readonly TimeSpan Budget = TimeSpan.FromSeconds(2);

    /// <summary>The request methods (<paramref name="reply"/>: the reply methods), with what each does.</summary>
    public static IEnumerable<CompletionValue> Methods(bool reply) =>
        (reply ? StewardMethods.ReplyMethods : StewardMethods.All.Where(m => !StewardMethods.ReplyMethods.Contains(m) || m == StewardMethod.CliCommand))
        .Select(m => new CompletionValue(m.ToString(), Describe(m)));

    public static string Describe(StewardMethod m) => m switch
    {
        StewardMethod.Ping => "answer at once",
        StewardMethod.Hello => "liveness",
        StewardMethod.CliCommand => "run a program; exit code, stdout and stderr when it ends (as a reply method: {{STEWARD_DATA}} is the output)",
        StewardMethod.CliCommandCont => "run a program and stream its output lines for at most methodTimeout",
        StewardMethod.TailFile => "stream the new lines of a file for methodTimeout",
        StewardMethod.HttpGet => "fetch a URL from the node",
        StewardMethod.OpProcessList => "list the agent's method handlers",
        StewardMethod.OpProcessStart => "start a method handler (method and allowed senders)",
        StewardMethod.OpProcessStop => "stop a method handler",
        StewardMethod.ErrorLog => "an error report to central",
        StewardMethod.ToConsole => "reply as pipeline objects (the default)",
        StewardMethod.ToFile => "reply written to Directory/FileName (overwrite)",
        StewardMethod.ToFileAppend => "reply appended to Directory/FileName",
        _ => m.ToString(),
    };

    /// <summary>Nodes of the registry (online or not, with when they were last seen) and the peers' destinations, then
    /// the patterns over them; the registry only when it answers within <see cref="Budget"/>.</summary>
    public static IEnumerable<CompletionValue> Nodes(RemoteOpsConfig config)
    {
        IReadOnlyList<StewardNodeRecord> registry = [];
        try
        {
            using var budget = new CancellationTokenSource(Budget);
            var query = Task.Run(async () =>
            {
                var client = await StewardClient.OpenAsync(config, null, budget.Token).ConfigureAwait(false);
                return await client.Store.ListNodesAsync(budget.Token).ConfigureAwait(false);
            }, budget.Token);
            // The query honours the token; the wait is bounded too, in case a step does not.
            if (query.Wait(Budget + TimeSpan.FromMilliseconds(250))) registry = query.Result;
        }
        catch (Exception) { /* completion is best effort */ }
        var now = DateTimeOffset.UtcNow;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var values = new List<CompletionValue>();
        foreach (var n in registry.OrderBy(n => n.Name, StringComparer.Ordinal))
            if (seen.Add(n.Name)) values.Add(new CompletionValue(n.Name, n.IsOnline(now) ? $"online, {n.OS} {n.Version}".TrimEnd() : $"offline, last seen {n.LastSeen:yyyy-MM-dd HH:mm:ss}Z"));
        foreach (var d in ConfigCompletions.Destinations(config))
            if (seen.Add(d.Value)) values.Add(d);
        return values;
    }
}
