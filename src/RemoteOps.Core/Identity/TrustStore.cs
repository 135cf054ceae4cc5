using System.Runtime.CompilerServices;
using NSec.Cryptography;
using RemoteOps.Config;

namespace RemoteOps.Identity;

/// <summary>A known public key: the name it goes by (its destination), what it may send, and the key imported once.</summary>
public sealed class TrustedPeer
{
    public required string Public { get; init; }
    /// <summary>The peer's destination (its name); empty when the config gives none.</summary>
    public required string Destination { get; init; }
    /// <summary>What the peer may send: verbs (remaphore) or methods; "*" is anything.</summary>
    public required IReadOnlyList<string> Verbs { get; init; }
    public required PublicKey Key { get; init; }

    /// <summary>The original remaphore's testPermission: "*" or the exact verb.</summary>
    public bool MayUse(string verb)
    {
        foreach (var v in Verbs)
            if (v == "*" || string.Equals(v, verb, StringComparison.Ordinal)) return true;
        return false;
    }
}

/// <summary>The one trust store: which public keys are known, by which name, and what each may do. It is built from a
/// config's <c>peers:</c> (name, key, verbs) and from the grants tool sections add (a scope such as "seaport" and the
/// keys allowed in it: seaport.authorized). A scope nobody granted is open to any valid signer, which is seaport's rule
/// when seaport.authorized is empty. As in the original remaphore, the first peer listing a key decides its verbs.</summary>
public sealed class TrustStore
{
    private readonly Dictionary<string, TrustedPeer> _byKey = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _grants = new(StringComparer.Ordinal);

    public IReadOnlyList<TrustedPeer> Peers { get; }

    /// <exception cref="IdentityException">A peer's public key is not one.</exception>
    public TrustStore(IEnumerable<PeerConfig> peers, IEnumerable<KeyValuePair<string, IReadOnlyList<string>>>? grants = null)
    {
        var list = new List<TrustedPeer>();
        foreach (var p in peers)
        {
            var key = VerificationKey.Import(p.Public) ?? throw new IdentityException(
                $"Peer '{p.Destination}' (line {p.Line}) has public key '{p.Public}', which is not 32 bytes of base58.");
            var entry = new TrustedPeer { Public = p.Public, Destination = p.Destination, Verbs = p.Verbs.ToArray(), Key = key };
            list.Add(entry);
            _byKey.TryAdd(p.Public, entry);
        }
        Peers = list;
        foreach (var (scope, keys) in grants ?? [])
            if (keys.Count > 0) _grants[scope] = new HashSet<string>(keys, StringComparer.Ordinal);
    }

    /// <summary>Trust stores are cheap but built per config load; this keeps one per config instance.</summary>
    private static readonly ConditionalWeakTable<RemoteOpsConfig, TrustStore> PerConfig = new();

    public static TrustStore For(RemoteOpsConfig config) => PerConfig.GetValue(config, c => new TrustStore(c.Peers, c.TrustGrants));

    /// <summary>The configured peer with this base58 key, else null.</summary>
    public TrustedPeer? Find(string publicBase58) => _byKey.GetValueOrDefault(publicBase58);

    /// <summary>The keys granted <paramref name="scope"/>; empty when the scope is open to any valid signer.</summary>
    public IReadOnlySet<string> Granted(string scope) => _grants.TryGetValue(scope, out var keys) ? keys : EmptySet;

    /// <summary>Whether <paramref name="signer"/> may act in <paramref name="scope"/>: any signer when nobody was granted the scope.</summary>
    public bool IsAuthorized(string scope, string signer) => !_grants.TryGetValue(scope, out var keys) || keys.Contains(signer);

    private static readonly IReadOnlySet<string> EmptySet = new HashSet<string>();
}
