using RemoteOps.Config;

namespace RemoteOps.Identity;

/// <summary>The local identities of a config, with their private keys loaded on first use and cached
/// for the life of the process (configs are re-read per cmdlet call; keys need not be).</summary>
public static class IdentityStore
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, SigningKey> Cache = new();

    /// <summary>The identity for <paramref name="publicKey"/>; or, when null, the one allowed to send
    /// <paramref name="verb"/> (default_identity first when it may); or default_identity; or the only one.</summary>
    /// <exception cref="IdentityException">No such identity, or none may send the verb, or its key is unreadable.</exception>
    public static (IdentityConfig Identity, SigningKey Key) Resolve(RemoteOpsConfig config, string? publicKey = null, string? verb = null)
    {
        IdentityConfig? chosen;
        if (!string.IsNullOrEmpty(publicKey))
        {
            chosen = config.Identities.FirstOrDefault(i => i.Public == publicKey)
                ?? throw new IdentityException($"No identity with public key {publicKey} in {config.SourcePath ?? "the config"}.");
        }
        else if (!string.IsNullOrEmpty(verb))
        {
            var allowed = config.Identities.Where(i => MayUse(i, verb)).ToList();
            chosen = allowed.FirstOrDefault(i => i.Public == config.DefaultIdentity) ?? allowed.FirstOrDefault()
                ?? throw new IdentityException($"No identity in {config.SourcePath ?? "the config"} may send verb '{verb}'.");
        }
        else
        {
            chosen = config.Identities.FirstOrDefault(i => i.Public == config.DefaultIdentity)
                ?? (config.Identities.Count == 1 ? config.Identities[0] : null)
                ?? throw new IdentityException(config.Identities.Count == 0
                    ? $"No identity configured in {config.SourcePath ?? "the config"} (New-RemoteOpsIdentity makes one)."
                    : "Several identities are configured and no default_identity names one of them.");
        }
        return (chosen, LoadKey(chosen));
    }

    /// <summary>An identity may send a verb listed in its verbs, or any verb with "*".</summary>
    public static bool MayUse(IdentityConfig identity, string verb) =>
        identity.Verbs.Any(v => v == "*" || string.Equals(v, verb, StringComparison.Ordinal));

    public static SigningKey LoadKey(IdentityConfig identity)
    {
        string text;
        if (identity.Private is { Length: > 0 } inline) text = inline;
        else if (identity.PrivateFile is { Length: > 0 } file)
        {
            try { text = File.ReadAllText(file).Trim(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new IdentityException($"Cannot read the private key file '{file}' of identity {identity.Public}: {e.Message}", e);
            }
        }
        else throw new IdentityException($"Identity {identity.Public} has no private key.");

        var cacheKey = identity.Public + "\n" + text;
        if (Cache.TryGetValue(cacheKey, out var cached)) return cached;
        SigningKey key;
        try { key = SigningKey.FromBase58(text); }
        catch (FormatException e) { throw new IdentityException($"The private key of identity {identity.Public} is not usable: {e.Message}", e); }
        if (key.PublicBase58 != identity.Public)
        {
            key.Dispose();
            throw new IdentityException($"The private key configured for identity {identity.Public} belongs to {key.PublicBase58}.");
        }
        return Cache.GetOrAdd(cacheKey, key);
    }
}

public sealed class IdentityException(string message, Exception? inner = null) : Exception(message, inner);
