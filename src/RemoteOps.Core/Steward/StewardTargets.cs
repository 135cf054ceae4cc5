using RemoteOps.Messaging;

namespace RemoteOps.Steward;

/// <summary>What -ToNode named: the nodes to send to, and what each pattern expanded to (for -Verbose).</summary>
public sealed record StewardTargetSet(IReadOnlyList<string> Nodes, IReadOnlyList<KeyValuePair<string, IReadOnlyList<string>>> Expansions)
{
    /// <summary>The nodes of the registry a pattern matched that are offline (nothing is sent to them), each once,
    /// sorted by name: Choria's "discovered but not responding", so that the caller can name every one.</summary>
    public IReadOnlyList<StewardOfflineNode> Offline { get; init; } = [];
}

/// <summary>A registry node a pattern matched but that is offline: its hellos stopped three of its intervals ago.</summary>
public sealed record StewardOfflineNode(string Name, string Pattern, DateTimeOffset LastSeen, TimeSpan Interval)
{
    public string Describe() =>
        $"{Name} matches '{Pattern}' but is offline (no hello since {LastSeen.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z, three of its {Interval.TotalSeconds:0.###} s intervals); nothing was sent to it.";
}

/// <summary>Targets of a message: node names and destination patterns (<c>com.acme.*</c>, <c>com.acme.**</c>). A name is
/// sent as it is, online or not (durable delivery is the point); a pattern expands to the live nodes of the registry
/// that match it, since a queue cannot hold a message for nodes nobody knows of; the offline nodes it matched are
/// listed apart (<see cref="StewardTargetSet.Offline"/>).</summary>
public static class StewardTargets
{
    public static bool IsPattern(string target) => target.Contains('*');

    /// <summary>Throws <see cref="DestinationPatternException"/> for a malformed pattern and
    /// <see cref="StewardArgumentException"/> for a malformed name.</summary>
    public static void Check(string target)
    {
        if (IsPattern(target)) { DestinationPattern.Validate(target); return; }
        if (!StewardSubjects.TryValidateNode(target, out var problem))
            throw new StewardArgumentException($"'{UntrustedText.Clean(target)}' is not a node name: {problem}");
    }

    /// <summary>The nodes <paramref name="targets"/> name, each once, in the order given (a pattern's matches sorted by
    /// name); <paramref name="registry"/> is the node registry, of which only nodes online at <paramref name="now"/> count.</summary>
    public static StewardTargetSet Expand(IEnumerable<string> targets, IReadOnlyList<StewardNodeRecord> registry, DateTimeOffset now)
    {
        var nodes = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var expansions = new List<KeyValuePair<string, IReadOnlyList<string>>>();
        var offline = new Dictionary<string, StewardOfflineNode>(StringComparer.Ordinal);
        foreach (var target in targets)
        {
            Check(target);
            if (!IsPattern(target))
            {
                if (seen.Add(target)) nodes.Add(target);
                continue;
            }
            var matches = registry.Where(n => n.IsOnline(now) && DestinationPattern.Matches(n.Name, target))
                                  .Select(n => n.Name).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
            expansions.Add(KeyValuePair.Create(target, (IReadOnlyList<string>)matches));
            foreach (var m in matches)
                if (seen.Add(m)) nodes.Add(m);
            foreach (var n in registry)
                if (!n.IsOnline(now) && DestinationPattern.Matches(n.Name, target))
                    offline.TryAdd(n.Name, new StewardOfflineNode(n.Name, target, n.LastSeen, n.Interval));
        }
        // A node that is online in another record, or named (and so sent to anyway), is not reported offline.
        var online = registry.Where(n => n.IsOnline(now)).Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        return new StewardTargetSet(nodes, expansions)
        {
            Offline = offline.Values.Where(o => !seen.Contains(o.Name) && !online.Contains(o.Name)).OrderBy(o => o.Name, StringComparer.Ordinal).ToArray(),
        };
    }
}
