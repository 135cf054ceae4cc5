namespace RemoteOps.Config;

/// <summary>A value Tab may offer, and what to tell about it.</summary>
public sealed record CompletionValue(string Value, string ToolTip);

/// <summary>What the config offers to argument completion: verbs, identities, peers. Never throws: a config that does
/// not load offers nothing (completion must not fail, and the user sees the config error when the command runs).</summary>
public static class ConfigCompletions
{
    /// <summary>The config a completion works from (<paramref name="path"/>: -ConfigPath as bound so far), or null.</summary>
    public static RemoteOpsConfig? TryLoad(string? path)
    {
        try { return ConfigLoader.LoadCached(path, _ => { }); }
        catch (Exception) { return null; } // a completer must never throw
    }

    /// <summary>The verbs the identities may send and the peers may use ("*" is no verb), each with who has it.</summary>
    public static IEnumerable<CompletionValue> Verbs(RemoteOpsConfig config)
    {
        var who = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        void Add(string verb, string holder)
        {
            if (verb == "*" || verb.Length == 0) return;
            if (!who.TryGetValue(verb, out var list)) who[verb] = list = [];
            if (!list.Contains(holder)) list.Add(holder);
        }
        foreach (var i in config.Identities) foreach (var v in i.Verbs) Add(v, "identity " + Short(i.Public));
        foreach (var p in config.Peers) foreach (var v in p.Verbs) Add(v, "peer " + p.Destination);
        return who.Select(kv => new CompletionValue(kv.Key, $"{kv.Key}: {string.Join(", ", kv.Value)}"));
    }

    /// <summary>The local identities' public keys, with their verbs as the tooltip.</summary>
    public static IEnumerable<CompletionValue> Identities(RemoteOpsConfig config) =>
        config.Identities.Select(i => new CompletionValue(i.Public,
            $"verbs: {string.Join(", ", i.Verbs)}{(i.Public == config.DefaultIdentity ? " (default identity)" : "")}"));

    /// <summary>The destinations of the peers (and this node's own), then the patterns that reach them all: their
    /// common parents with .*, and **.</summary>
    public static IEnumerable<CompletionValue> Destinations(RemoteOpsConfig config)
    {
        var names = config.Peers.Select(p => p.Destination).Append(config.Destination ?? "").Where(d => d.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        foreach (var d in names)
        {
            var peer = config.Peers.FirstOrDefault(p => p.Destination == d);
            yield return new CompletionValue(d, peer is null ? "this node" : $"peer {Short(peer.Public)}, verbs: {string.Join(", ", peer.Verbs)}");
        }
        var parents = names.Select(n => n.LastIndexOf('.') is > 0 and var i ? n[..i] : null).OfType<string>().Distinct(StringComparer.Ordinal);
        foreach (var parent in parents) yield return new CompletionValue(parent + ".*", $"every node directly under {parent}");
        yield return new CompletionValue("**", "every node");
    }

    /// <summary>The peers' public keys, with their destination (the name they go by) as the tooltip.</summary>
    public static IEnumerable<CompletionValue> PeerKeys(RemoteOpsConfig config) =>
        config.Peers.Select(p => new CompletionValue(p.Public, $"{p.Destination}, verbs: {string.Join(", ", p.Verbs)}"));

    private static string Short(string key) => key.Length > 8 ? key[..8] + "…" : key;
}
