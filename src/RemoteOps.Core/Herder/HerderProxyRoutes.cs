namespace RemoteOps.Herder;

/// <summary>Where a daemon's first port is: the proxy forwards to <c>http://Host:Port</c>.</summary>
public sealed record HerderDaemonEndpoint(string Name, string Host, int Port);

/// <summary>
/// Finds a daemon on this node by name, for the reverse proxy. The proxy's own implementation reads seaport's
/// registry (the daemon is registered as <c>&lt;name&gt;@0.0.0</c> with its ports); a daemon host can give another.
/// </summary>
public interface IHerderDaemonResolver
{
    /// <summary>The daemon's first port on this node, or null when no daemon of that name is registered here.</summary>
    ValueTask<HerderDaemonEndpoint?> ResolveAsync(string name, CancellationToken ct);
}

/// <summary>Where a request's token came from: that place is removed before the request is forwarded.</summary>
public enum HerderTokenSource { None, Header, Bearer, Query }

/// <summary>What the reverse proxy decides about a request, before anything is forwarded.</summary>
public enum HerderProxyVerdict
{
    /// <summary>A valid token and a daemon path: resolve and forward.</summary>
    Forward,
    /// <summary>No token, or one that is forged, expired, malformed or from an issuer not in herder.token_issuers: 401.</summary>
    Unauthorized,
    /// <summary>Not a <c>/daemon/&lt;name&gt;/…</c> path, or the name is not a daemon name: 404.</summary>
    NotFound,
}

/// <summary>
/// The reverse proxy's rules, apart from HTTP: paths are <c>/daemon/&lt;name&gt;/rest</c> and forward <c>/rest</c> (the
/// prefix is removed; <c>/daemon/&lt;name&gt;</c> alone forwards <c>/</c>); the token comes from the
/// <c>X-Herder-Token</c> header, else <c>Authorization: Bearer</c>, else the <c>token</c> query parameter (browsers
/// cannot set headers on a websocket), and is removed from what is forwarded.
/// </summary>
public static class HerderProxyRoutes
{
    public const string PathPrefix = "/daemon/";
    public const string TokenHeader = "X-Herder-Token";
    public const string TokenQueryParameter = "token";
    /// <summary>Seaport's name limit; a daemon is registered there under its name.</summary>
    public const int MaxNameLength = 200;

    /// <summary>Daemon names the proxy can route: seaport's name characters except '/', which would end the name's segment.</summary>
    public static bool TryValidateDaemonName(string? name, out string problem)
    {
        problem = "";
        if (string.IsNullOrEmpty(name)) { problem = "the daemon name is empty"; return false; }
        if (name.Length > MaxNameLength) { problem = $"the daemon name is longer than {MaxNameLength} characters"; return false; }
        foreach (var c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or ':'))
            {
                problem = $"'{HerderEnvironments.Clean(name)}' is not a daemon name (letters, digits and . _ - : only)";
                return false;
            }
        if (name is "." or "..") { problem = $"'{name}' is not a daemon name"; return false; }
        return true;
    }

    /// <summary>Splits a (decoded) request path into the daemon's name and the path forwarded to it.</summary>
    /// <returns>False, with the reason, when the path is not under <c>/daemon/&lt;name&gt;</c>.</returns>
    public static bool TryParsePath(string? path, out string name, out string rest, out string problem)
    {
        name = ""; rest = "/"; problem = "";
        if (path is null || !path.StartsWith(PathPrefix, StringComparison.Ordinal))
        {
            problem = $"This is the herder proxy: only {PathPrefix}<name>/… is served.";
            return false;
        }
        var tail = path.AsSpan(PathPrefix.Length);
        var slash = tail.IndexOf('/');
        var segment = slash < 0 ? tail : tail[..slash];
        if (!TryValidateDaemonName(segment.ToString(), out var why)) { problem = why + "."; return false; }
        name = segment.ToString();
        rest = slash < 0 ? "/" : tail[slash..].ToString();
        return true;
    }

    /// <summary>The token a request carries: the <c>X-Herder-Token</c> header; else a bearer token that is a herder token
    /// (<c>hrd1.</c>…); else the <c>token</c> query parameter; else any other bearer token (which then fails the check with
    /// its reason). A daemon's own bearer token thus passes through beside a herder token in the query.</summary>
    public static string? FindToken(string? headerToken, string? authorization, string? queryToken, out HerderTokenSource source)
    {
        source = HerderTokenSource.Header;
        if (!string.IsNullOrWhiteSpace(headerToken)) return headerToken.Trim();
        var bearer = BearerToken(authorization);
        source = HerderTokenSource.Bearer;
        if (bearer is not null && bearer.StartsWith(HerderTokenPrefix, StringComparison.Ordinal)) return bearer;
        source = HerderTokenSource.Query;
        if (!string.IsNullOrWhiteSpace(queryToken)) return queryToken.Trim();
        source = bearer is null ? HerderTokenSource.None : HerderTokenSource.Bearer;
        return bearer;
    }

    /// <summary>How every herder token starts (<see cref="HerderTokens"/>).</summary>
    public const string HerderTokenPrefix = "hrd1.";

    /// <summary>The token of <c>Authorization: Bearer &lt;token&gt;</c> (scheme case-insensitive), or null.</summary>
    public static string? BearerToken(string? authorization)
    {
        if (authorization is null) return null;
        var a = authorization.Trim();
        if (a.Length <= 7 || !a.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return null;
        var token = a[7..].Trim();
        return token.Length == 0 ? null : token;
    }

    /// <summary>Checks a token as <see cref="HerderTokens.Verify"/> does; the verdict and, for a refusal, why.</summary>
    public static HerderProxyVerdict Authorize(string? token, HerderConfig config, DateTimeOffset now, out string reason)
    {
        reason = "";
        if (token is null)
        {
            reason = $"A herder token is needed: send it in the {TokenHeader} header, as Authorization: Bearer <token>, or as ?{TokenQueryParameter}=<token> (New-HerderToken issues them).";
            return HerderProxyVerdict.Unauthorized;
        }
        try
        {
            HerderTokens.Verify(token, config, now);
            return HerderProxyVerdict.Forward;
        }
        catch (HerderException e)
        {
            reason = e.Message;
            return HerderProxyVerdict.Unauthorized;
        }
    }

    /// <summary>The query string (with or without its leading '?') without any <c>token</c> parameter; "" when nothing is left.</summary>
    public static string StripToken(string? query)
    {
        if (string.IsNullOrEmpty(query)) return "";
        var q = query[0] == '?' ? query[1..] : query;
        var kept = q.Split('&').Where(p => p.Length > 0 && !IsTokenParameter(p)).ToArray();
        return kept.Length == 0 ? "" : "?" + string.Join('&', kept);
    }

    /// <summary>Whether a <c>key=value</c> pair is the token (its key, decoded, is <c>token</c> in any case).</summary>
    internal static bool IsTokenParameter(string pair)
    {
        var eq = pair.IndexOf('=');
        var key = eq < 0 ? pair : pair[..eq];
        try { key = Uri.UnescapeDataString(key.Replace('+', ' ')); } catch (UriFormatException) { }
        return string.Equals(key, TokenQueryParameter, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The value of the query's token parameter (its name in any case or encoding), decoded; null when there is none.</summary>
    public static string? QueryToken(string? query)
    {
        if (string.IsNullOrEmpty(query)) return null;
        var q = query[0] == '?' ? query[1..] : query;
        foreach (var pair in q.Split('&'))
        {
            if (pair.Length == 0 || !IsTokenParameter(pair)) continue;
            var eq = pair.IndexOf('=');
            if (eq < 0) return null;
            try { return Uri.UnescapeDataString(pair[(eq + 1)..].Replace('+', ' ')); }
            catch (UriFormatException) { return pair[(eq + 1)..]; }
        }
        return null;
    }
}

/// <summary>
/// The proxy's token check with a memory of the tokens it verified: a token's signature and issuer never change for
/// a given config, so a token seen before costs a dictionary lookup and its expiry check instead of an Ed25519
/// verification (about 100 µs, a fifth of a proxied GET here). Refused tokens are not remembered; the memory is bounded.
/// </summary>
public sealed class HerderProxyAuthorizer(HerderConfig config, int capacity = 4096)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DateTimeOffset?> _verified = new(StringComparer.Ordinal);

    /// <summary>As <see cref="HerderProxyRoutes.Authorize"/>.</summary>
    public HerderProxyVerdict Authorize(string? token, DateTimeOffset now, out string reason)
    {
        if (token is not null && _verified.TryGetValue(token, out var expires))
        {
            if (expires is not { } e || e > now) { reason = ""; return HerderProxyVerdict.Forward; }
            _verified.TryRemove(token, out _);
        }
        if (token is null) return HerderProxyRoutes.Authorize(null, config, now, out reason);
        try
        {
            var claims = HerderTokens.Verify(token, config, now);
            if (_verified.Count >= capacity) _verified.Clear();
            _verified[token] = claims.Expires;
            reason = "";
            return HerderProxyVerdict.Forward;
        }
        catch (HerderException e)
        {
            reason = e.Message;
            return HerderProxyVerdict.Unauthorized;
        }
    }
}
