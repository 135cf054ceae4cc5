using RemoteOps.Messaging;

namespace RemoteOps.Steward;

/// <summary>No node of that name in the registry.</summary>
public sealed class StewardNodeNotFoundException(string message) : Exception(message);

/// <summary>The node registry as Get-StewardNode reads it: every node whose hello its own key signed, online or not.</summary>
public static class StewardInventory
{
    /// <summary>The nodes <paramref name="name"/> (a node name or a destination pattern; null: all) names, sorted by
    /// name; with <paramref name="staleOnly"/>, only those offline at <paramref name="now"/>. An exact name the registry
    /// does not hold throws <see cref="StewardNodeNotFoundException"/>; a malformed name or pattern throws
    /// <see cref="StewardArgumentException"/> or <see cref="DestinationPatternException"/>.</summary>
    public static async Task<IReadOnlyList<StewardNode>> GetNodesAsync(StewardStore store, string? name, bool staleOnly, DateTimeOffset now, CancellationToken ct)
    {
        if (name is not null) StewardTargets.Check(name);
        var registry = await store.ListNodesAsync(ct).ConfigureAwait(false);
        var named = registry.Where(n => name is null || (StewardTargets.IsPattern(name) ? DestinationPattern.Matches(n.Name, name) : n.Name == name)).ToList();
        if (name is not null && !StewardTargets.IsPattern(name) && named.Count == 0)
            throw new StewardNodeNotFoundException($"No node '{UntrustedText.Clean(name)}' in the registry '{store.Section.NodesBucket}'.");
        return named.Select(n => ToNode(n, now)).Where(n => !staleOnly || !n.Online)
                    .OrderBy(n => n.Name, StringComparer.Ordinal).ToList();
    }

    public static StewardNode ToNode(StewardNodeRecord r, DateTimeOffset now) => new()
    {
        Name = r.Name, PublicKey = r.PublicKey, Version = r.Version, ModuleVersion = r.ModuleVersion, OS = r.OS, Architecture = r.Architecture,
        Methods = r.Methods.Keys.Order(StringComparer.Ordinal).ToArray(),
        AllowedSenders = r.Methods.ToDictionary(m => m.Key, m => m.Value.ToArray(), StringComparer.OrdinalIgnoreCase),
        LastSeen = r.LastSeen, Online = r.IsOnline(now), Started = r.Started, LastCommand = r.LastCommand, Interval = r.Interval,
    };
}
