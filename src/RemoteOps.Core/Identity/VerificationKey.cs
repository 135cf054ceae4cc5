using System.Collections.Concurrent;
using NSec.Cryptography;

namespace RemoteOps.Identity;

/// <summary>Ed25519 public keys for checking signatures. NSec's import is too slow to repeat per message, so keys that
/// a config names are imported once per process and cached by their base58 text; an unknown sender's key is imported
/// just for one check and not kept (an attacker cannot grow the cache).</summary>
public static class VerificationKey
{
    private static readonly ConcurrentDictionary<string, PublicKey> Cache = new(StringComparer.Ordinal);

    /// <summary>Imports a base58 public key, cached. Null when the text is not one.</summary>
    public static PublicKey? Import(string publicBase58)
    {
        if (Cache.TryGetValue(publicBase58, out var cached)) return cached;
        if (!SigningKey.TryDecodePublic(publicBase58, out var raw)) return null;
        var key = ImportRaw(raw);
        return key is null ? null : Cache.GetOrAdd(publicBase58, key);
    }

    /// <summary>A key some config of this process imported, else null.</summary>
    public static PublicKey? Cached(string publicBase58) => Cache.GetValueOrDefault(publicBase58);

    /// <summary>Imports raw key bytes without caching (for senders we do not know).</summary>
    public static PublicKey? ImportRaw(ReadOnlySpan<byte> raw) =>
        raw.Length == 32 && PublicKey.TryImport(SignatureAlgorithm.Ed25519, raw, KeyBlobFormat.RawPublicKey, out var key) ? key : null;

    /// <summary>The cached key for <paramref name="publicBase58"/>, else one imported from <paramref name="raw"/> for this check only.</summary>
    public static PublicKey? For(string publicBase58, ReadOnlySpan<byte> raw) => Cached(publicBase58) ?? ImportRaw(raw);

    /// <summary>Checks a signature over exactly <paramref name="data"/> (a format that is its own domain).</summary>
    public static bool Verify(PublicKey key, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature) =>
        signature.Length == 64 && SignatureAlgorithm.Ed25519.Verify(key, data, signature);

    /// <summary>Checks a signature made with <see cref="SigningKey.Sign(SignatureDomain, ReadOnlySpan{byte})"/>.</summary>
    public static bool Verify(PublicKey key, SignatureDomain domain, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature) =>
        signature.Length == 64 && SignatureAlgorithm.Ed25519.Verify(key, domain.Frame(data), signature);

    /// <summary>Checks a domain signature by the key named in base58 (cached import).</summary>
    public static bool Verify(string publicBase58, SignatureDomain domain, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature) =>
        Import(publicBase58) is { } key && Verify(key, domain, data, signature);
}
