using RemoteOps.Config;
using RemoteOps.Identity;

namespace RemoteOps.Herder;

/// <summary>Issuing and inspecting tokens against the ledger (the seed's token generate and inspect).</summary>
public static class HerderTokenService
{
    /// <summary>Refuses, before anything is written, an issuer the config does not list.</summary>
    /// <exception cref="HerderException">NotIssuer, InvalidToken (a bad owner or credits).</exception>
    public static SigningKey CheckIssuer(RemoteOpsConfig config, string owner, long credits)
    {
        HerderTokens.ValidateOwner(owner);
        if (credits < 0) throw new HerderException(HerderFailure.InvalidToken, $"Credits {credits} is negative.");
        var key = IdentityStore.Resolve(config).Key;
        if (!config.Herder.TokenIssuers.Contains(key.PublicBase58, StringComparer.Ordinal))
            throw new HerderException(HerderFailure.NotIssuer,
                $"This config's identity {key.PublicBase58} is not in herder.token_issuers: only the identities listed there may issue tokens.");
        return key;
    }

    /// <summary>Signs a token and adds its credits to the owner's balance.</summary>
    public static async Task<HerderToken> IssueAsync(RemoteOpsConfig config, string owner, long credits, DateTimeOffset? expires, CancellationToken ct)
    {
        var key = CheckIssuer(config, owner, credits);
        var now = DateTimeOffset.UtcNow;
        if (expires is { } e && e <= now) throw new HerderException(HerderFailure.InvalidToken, $"-Expires {e:u} is already past.");
        var token = HerderTokens.Issue(owner, credits, expires, key, now);
        var ledger = await HerderLedger.OpenAsync(config, ct).ConfigureAwait(false);
        // Credited before the token is handed out: a token that exists has always brought its credits.
        var balance = await ledger.AddAsync(owner, credits, ct).ConfigureAwait(false);
        return new HerderToken { Token = token, Owner = owner, Credits = balance, Expires = expires, Issuer = key.PublicBase58 };
    }

    /// <summary>Checks a token and reads its owner's balance.</summary>
    public static async Task<HerderToken> InspectAsync(RemoteOpsConfig config, string token, CancellationToken ct)
    {
        var claims = HerderTokens.Verify(token, config.Herder, DateTimeOffset.UtcNow);
        var ledger = await HerderLedger.OpenAsync(config, ct).ConfigureAwait(false);
        var balance = await ledger.BalanceAsync(claims.Owner, ct).ConfigureAwait(false);
        return new HerderToken { Token = token, Owner = claims.Owner, Credits = balance, Expires = claims.Expires, Issuer = claims.Issuer };
    }
}
