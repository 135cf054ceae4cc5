using FsCheck;
using FsCheck.Fluent;
using RemoteOps.Herder;

namespace RemoteOps.Core.Tests.Herder;

/// <summary>The proxy's parsers of what any caller sends: the path, the token's places and the query it strips.</summary>
public class HerderProxyPropertyTests
{
    private static readonly FsCheck.Config Cases = FsCheck.Config.QuickThrowOnFailure.WithMaxTest(500);

    private static Gen<string> Text(params string[] pieces) =>
        Gen.OneOf(
            ArbMap.Default.ArbFor<string>().Generator.Select(s => s ?? ""),
            from parts in Gen.ListOf(Gen.Elements(pieces)) select string.Concat(parts));

    [Fact]
    public void A_path_either_splits_into_a_daemon_name_and_the_rest_it_came_with_or_is_refused_with_a_reason()
    {
        var path = Text("/", "/daemon/", "daemon", "web", "..", ".", "%2F", "a b", "?", ":", "@", "\0", "ü", "x-1");
        Check.One(Cases, Prop.ForAll(path.ToArbitrary(), p =>
        {
            if (!HerderProxyRoutes.TryParsePath(p, out var name, out var rest, out var problem)) return problem.Length > 0;
            return HerderProxyRoutes.TryValidateDaemonName(name, out _) && rest.StartsWith('/')
                && (p == HerderProxyRoutes.PathPrefix + name ? rest == "/" : p == HerderProxyRoutes.PathPrefix + name + rest);
        }));
    }

    [Fact]
    public void A_stripped_query_never_carries_a_token_and_keeps_every_other_parameter_in_order()
    {
        var query = Text("?", "&", "=", "token", "TOKEN", "to%6Ben", "a", "b=1", "tokens=2", "%", "+", "x");
        Check.One(Cases, Prop.ForAll(query.ToArbitrary(), q =>
        {
            var stripped = HerderProxyRoutes.StripToken(q);
            var kept = (q.StartsWith('?') ? q[1..] : q).Split('&').Where(p => p.Length > 0 && !HerderProxyRoutes.IsTokenParameter(p)).ToList();
            return stripped == (kept.Count == 0 ? "" : "?" + string.Join('&', kept))
                && (stripped.Length == 0 || stripped[1..].Split('&').All(p => !HerderProxyRoutes.IsTokenParameter(p)))
                && HerderProxyRoutes.StripToken(stripped) == stripped;
        }));
    }

    [Fact]
    public void The_token_is_taken_from_the_header_then_a_herder_bearer_then_the_query_then_any_bearer()
    {
        var value = Text("hrd1.", "abc", " ", "Bearer ", "bearer ", "Basic ", "");
        Check.One(Cases, Prop.ForAll(value.ToArbitrary(), value.ToArbitrary(), value.ToArbitrary(), (header, authorization, query) =>
        {
            var token = HerderProxyRoutes.FindToken(header, authorization, query, out var source);
            var bearer = HerderProxyRoutes.BearerToken(authorization);
            if (!string.IsNullOrWhiteSpace(header)) return token == header.Trim() && source == HerderTokenSource.Header;
            if (bearer is not null && bearer.StartsWith("hrd1.")) return token == bearer && source == HerderTokenSource.Bearer;
            if (!string.IsNullOrWhiteSpace(query)) return token == query.Trim() && source == HerderTokenSource.Query;
            return bearer is null ? token is null && source == HerderTokenSource.None : token == bearer && source == HerderTokenSource.Bearer;
        }));
    }

    [Fact]
    public void Any_string_as_a_token_is_refused_with_a_reason_and_never_throws()
    {
        var config = new HerderConfig { TokenIssuers = ["11111111111111111111111111111111"] };
        Check.One(Cases, Prop.ForAll(Text("hrd1.", ".", "e30", "eyJ", "_", "-", "1", "z").ToArbitrary(), t =>
            HerderProxyRoutes.Authorize(t, config, DateTimeOffset.UtcNow, out var reason) == HerderProxyVerdict.Unauthorized && reason.Length > 0));
    }

    [Fact]
    public void A_remembered_token_still_expires_and_a_forged_one_is_never_remembered()
    {
        using var issuer = RemoteOps.Identity.SigningKey.Generate();
        var config = new HerderConfig { TokenIssuers = [issuer.PublicBase58] };
        var now = DateTimeOffset.UtcNow;
        var token = HerderTokens.Issue("alice", 1, now.AddHours(1), issuer, now);
        var authorizer = new HerderProxyAuthorizer(config, capacity: 2);
        Assert.Equal(HerderProxyVerdict.Forward, authorizer.Authorize(token, now, out _));
        Assert.Equal(HerderProxyVerdict.Forward, authorizer.Authorize(token, now.AddMinutes(59), out _));
        Assert.Equal(HerderProxyVerdict.Unauthorized, authorizer.Authorize(token, now.AddHours(2), out var reason));
        Assert.Contains("expired", reason);
        var forged = token[..^2] + (token[^2] == 'a' ? "b" : "a") + token[^1];
        for (var i = 0; i < 3; i++) Assert.Equal(HerderProxyVerdict.Unauthorized, authorizer.Authorize(forged, now, out _));
        Assert.Equal(HerderProxyVerdict.Unauthorized, authorizer.Authorize(null, now, out reason));
        Assert.Contains("X-Herder-Token", reason);
        // Past its capacity it forgets, and checks again.
        foreach (var owner in new[] { "b", "c", "d" })
            Assert.Equal(HerderProxyVerdict.Forward, authorizer.Authorize(HerderTokens.Issue(owner, 1, null, issuer, now), now, out _));
        Assert.Equal(HerderProxyVerdict.Forward, authorizer.Authorize(token, now, out _));
    }
}
