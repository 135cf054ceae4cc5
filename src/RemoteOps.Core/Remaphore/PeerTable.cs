using System.Runtime.CompilerServices;
using System.Collections.Concurrent;
using NSec.Cryptography;
using RemoteOps.Config;
using RemoteOps.Identity;

namespace RemoteOps.Remaphore;

/// <summary>A configured peer, with its public key imported once (NSec's import is too slow to repeat per message).</summary>
public sealed class PeerEntry
{
    public required string Public { get; init; }
    public required string Destination { get; init; }
    public required IReadOnlyList<string> Verbs { get; init; }
    public required PublicKey Key { get; init; }

    /// <summary>The original's testPermission: "*" or the exact verb.</summary>
    public bool MayUse(string verb)
    {
        foreach (var v in Verbs)
            if (v == "*" || string.Equals(v, verb, StringComparison.Ordinal)) return true;
        return false;
    }
}

/// <summary>The peers of a config, keyed by their base58 public key (as it appears on the wire).
/// As in the original, the first peer listing a key decides its verbs.</summary>
public sealed class PeerTable
{
    private static readonly ConcurrentDictionary<string, PublicKey> KeyCache = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PeerEntry> _byKey = new(StringComparer.Ordinal);

    public IReadOnlyList<PeerEntry> Peers { get; }

    public PeerTable(IEnumerable<PeerConfig> peers)
    {
        var list = new List<PeerEntry>();
        foreach (var p in peers)
        {
            var key = Import(p.Public) ?? throw new IdentityException(
                $"Peer '{p.Destination}' (line {p.Line}) has public key '{p.Public}', which is not 32 bytes of base58.");
            var entry = new PeerEntry { Public = p.Public, Destination = p.Destination, Verbs = p.Verbs.ToArray(), Key = key };
            list.Add(entry);
            _byKey.TryAdd(p.Public, entry);
        }
        Peers = list;
    }

    /// <summary>Peer tables are cheap but built per config load; this keeps one per config instance.</summary>
    private static readonly ConditionalWeakTable<RemoteOpsConfig, PeerTable> PerConfig = new();
    public static PeerTable For(RemoteOpsConfig config) => PerConfig.GetValue(config, c => new PeerTable(c.Peers));

    public PeerEntry? Find(string publicBase58) => _byKey.GetValueOrDefault(publicBase58);

    /// <summary>Imports a base58 public key, cached (only configured keys come here, so the cache stays small).</summary>
    public static PublicKey? Import(string publicBase58)
    {
        if (KeyCache.TryGetValue(publicBase58, out var cached)) return cached;
        if (!SigningKey.TryDecodePublic(publicBase58, out var raw)) return null;
        var key = ImportRaw(raw);
        return key is null ? null : KeyCache.GetOrAdd(publicBase58, key);
    }

    /// <summary>A configured peer's key if some config of this process imported it.</summary>
    public static PublicKey? Cached(string publicBase58) => KeyCache.GetValueOrDefault(publicBase58);

    /// <summary>Imports raw key bytes without caching (for senders we do not know).</summary>
    public static PublicKey? ImportRaw(ReadOnlySpan<byte> raw) =>
        raw.Length == 32 && PublicKey.TryImport(SignatureAlgorithm.Ed25519, raw, KeyBlobFormat.RawPublicKey, out var key) ? key : null;

    public static bool Verify(PublicKey key, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature) =>
        signature.Length == 64 && SignatureAlgorithm.Ed25519.Verify(key, data, signature);
}
