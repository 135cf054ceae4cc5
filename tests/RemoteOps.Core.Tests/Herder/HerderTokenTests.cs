using System.Text;
using FsCheck;
using FsCheck.Fluent;
using NATS.Client.Core;
using RemoteOps.Config;
using RemoteOps.Herder;
using RemoteOps.Identity;
using RemoteOps.Messaging;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Herder;

/// <summary>Tokens and credits on a real nats-server: issuing adds to the owner's balance, runs spend it by the
/// second, concurrent spending adds up exactly, and bad tokens and empty balances are refused.</summary>
public sealed class HerderTokenTests : IAsyncLifetime
{
    private NatsServer _server = null!;
    private readonly TempDir _dir = new();
    private readonly SigningKey _issuer = SigningKey.Generate();
    private readonly SigningKey _stranger = SigningKey.Generate();

    public async Task InitializeAsync() => _server = await NatsServer.StartAsync();

    public async Task DisposeAsync()
    {
        // Only this server's shared connection: other test classes use the pool at the same time.
        await ConnectionPool.DisconnectAsync(Config());
        await _server.DisposeAsync();
        _dir.Dispose();
        _issuer.Dispose();
        _stranger.Dispose();
    }

    private RemoteOpsConfig Config(string herder = "", SigningKey? identity = null)
    {
        var key = identity ?? _issuer;
        var path = _dir.File($"c-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, $"""
            servers: [{_server.Url}]
            destination: com.acme.herd
            default_identity: {key.PublicBase58}
            identities:
              - public: {key.PublicBase58}
                private: {key.ExportSeedBase58()}
                verbs: ["*"]
            herder:
              max_timeout: 120s
              ledger_bucket: ledger{Guid.NewGuid():N}
              token_issuers: [{_issuer.PublicBase58}]
            {herder}
            """);
        return ConfigLoader.Load(path);
    }

    private static HerderMinionRequest Sleep(double seconds, string? token) => new()
    {
        Environment = "bash", Files = new Dictionary<string, byte[]> { ["main.sh"] = Encoding.UTF8.GetBytes($"sleep {seconds}") }, Token = token,
    };

    [Fact]
    public async Task Issuing_adds_to_the_owners_balance_and_inspect_shows_it()
    {
        var config = Config();
        var first = await HerderTokenService.IssueAsync(config, "ada@example.com", 100, null, CancellationToken.None);
        var second = await HerderTokenService.IssueAsync(config, "ada@example.com", 50, DateTimeOffset.UtcNow.AddDays(1), CancellationToken.None);
        Assert.Equal((100, 150), (first.Credits, second.Credits));
        // Credits belong to the owner: the first token sees what the second added.
        var seen = await HerderTokenService.InspectAsync(config, first.Token, CancellationToken.None);
        Assert.Equal(("ada@example.com", 150L, _issuer.PublicBase58), (seen.Owner, seen.Credits, seen.Issuer));
    }

    [Fact]
    public async Task Credits_drop_with_run_time_exactly_as_charged()
    {
        var config = Config("  credits_per_second: 10");
        var token = (await HerderTokenService.IssueAsync(config, "bob", 1000, null, CancellationToken.None)).Token;
        var r = await HerderMinionRunner.RunAsync(config, Sleep(2.2, token), CancellationToken.None);
        Assert.Equal(0, r.ExitCode);
        // At least the 2.2 s it slept, in whole seconds rounded up; and the ledger took exactly what the result says.
        Assert.True(r.CreditsSpent >= 30, $"spent {r.CreditsSpent}");
        Assert.Equal(1000 - r.CreditsSpent, (await HerderTokenService.InspectAsync(config, token, CancellationToken.None)).Credits);
    }

    [Fact]
    public async Task Concurrent_spending_from_two_connections_adds_up_exactly()
    {
        var config = Config();
        await HerderTokenService.IssueAsync(config, "carol", 10_000, null, CancellationToken.None);
        await using var a = new NatsConnection(new NatsOpts { Url = _server.Url });
        await using var b = new NatsConnection(new NatsOpts { Url = _server.Url });
        var ledgerA = await HerderLedger.OpenAsync(a, config.Herder.LedgerBucket, 1, CancellationToken.None);
        var ledgerB = await HerderLedger.OpenAsync(b, config.Herder.LedgerBucket, 1, CancellationToken.None);
        await Task.WhenAll(
            Task.Run(async () => { for (var i = 0; i < 150; i++) await ledgerA.SpendAsync("carol", 3, CancellationToken.None); }),
            Task.Run(async () => { for (var i = 0; i < 150; i++) await ledgerB.SpendAsync("carol", 7, CancellationToken.None); }));
        Assert.Equal(10_000 - 150 * 3 - 150 * 7, await ledgerA.BalanceAsync("carol", CancellationToken.None));
    }

    [Fact]
    public async Task Forged_altered_expired_and_unlisted_tokens_are_refused()
    {
        var config = Config();
        var good = (await HerderTokenService.IssueAsync(config, "dan", 10, DateTimeOffset.UtcNow.AddHours(1), CancellationToken.None)).Token;
        var forged = HerderTokens.Issue("dan", 1_000_000, null, _stranger, DateTimeOffset.UtcNow);
        var parts = good.Split('.');
        var claims = Encoding.UTF8.GetString(Convert.FromBase64String(Pad(parts[1]))).Replace("\"credits\":10", "\"credits\":99");
        var altered = $"{parts[0]}.{Convert.ToBase64String(Encoding.UTF8.GetBytes(claims)).TrimEnd('=').Replace('+', '-').Replace('/', '_')}.{parts[2]}";
        var expired = HerderTokens.Issue("dan", 10, DateTimeOffset.UtcNow.AddSeconds(-1), _issuer, DateTimeOffset.UtcNow.AddMinutes(-5));
        foreach (var (token, says) in new[] { (forged, "not in herder.token_issuers"), (altered, "does not hold"), (expired, "expired"), ("hrd1.garbage", "parts"), ("", "not a herder token") })
        {
            var e = await Assert.ThrowsAsync<HerderException>(() => HerderTokenService.InspectAsync(config, token, CancellationToken.None));
            Assert.Equal(HerderFailure.InvalidToken, e.Failure);
            Assert.Contains(says, e.Message);
            // A run refuses it too (an empty one is no token: allowed unless require_token, below).
            if (token.Length > 0) await Assert.ThrowsAsync<HerderException>(() => HerderMinionRunner.RunAsync(config, Sleep(0, token), CancellationToken.None));
        }
        // Only a listed issuer issues.
        var notIssuer = await Assert.ThrowsAsync<HerderException>(() => HerderTokenService.IssueAsync(Config(identity: _stranger), "dan", 10, null, CancellationToken.None));
        Assert.Equal(HerderFailure.NotIssuer, notIssuer.Failure);
    }

    private static string Pad(string b64url)
    {
        var s = b64url.Replace('-', '+').Replace('_', '/');
        return s + new string('=', (4 - s.Length % 4) % 4);
    }

    [Fact]
    public async Task Under_require_token_no_token_or_no_credits_is_refused_and_running_out_stops_the_run()
    {
        var config = Config("  require_token: true\n  credits_per_second: 1");
        var none = await Assert.ThrowsAsync<HerderException>(() => HerderMinionRunner.RunAsync(config, Sleep(0, null), CancellationToken.None));
        Assert.Equal(HerderFailure.InvalidToken, none.Failure);

        var broke = (await HerderTokenService.IssueAsync(config, "erin", 0, null, CancellationToken.None)).Token;
        var refused = await Assert.ThrowsAsync<HerderException>(() => HerderMinionRunner.RunAsync(config, Sleep(0, broke), CancellationToken.None));
        Assert.Equal((HerderFailure.NoCredits, "RemoteOps.HerderNoCredits"), (refused.Failure, refused.ErrorId));

        var little = (await HerderTokenService.IssueAsync(config, "frank", 2, null, CancellationToken.None)).Token;
        // Far longer than its 2 credits: only running out can end it before the timeout (and the test's own bound).
        var r = await HerderMinionRunner.RunAsync(config, Sleep(100, little) with { Timeout = TimeSpan.FromSeconds(110) }, CancellationToken.None);
        Assert.False(r.TimedOut);
        Assert.Contains("ran out of credits", r.StopReason);
        Assert.True((await HerderTokenService.InspectAsync(config, little, CancellationToken.None)).Credits <= 0);
    }

    [Fact]
    public void Any_string_as_a_token_is_refused_with_a_HerderException_or_accepted_only_when_genuine()
    {
        var section = new HerderConfig { TokenIssuers = [_issuer.PublicBase58] };
        var genuine = HerderTokens.Issue("gina", 5, null, _issuer, DateTimeOffset.UtcNow);
        var gen = Gen.OneOf(
            ArbMap.Default.ArbFor<string>().Generator.Select(s => s ?? ""),
            from i in Gen.Choose(0, genuine.Length - 1)
            from c in Gen.Elements('a', 'Z', '.', '-', '_', '0', '=')
            select genuine[..i] + c + genuine[(i + 1)..]);
        Check.One(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(500), Prop.ForAll(gen.ToArbitrary(), token =>
        {
            try { return HerderTokens.Verify(token, section, DateTimeOffset.UtcNow).Owner == "gina" && token == genuine; }
            catch (HerderException e) { return e.Failure == HerderFailure.InvalidToken; }
        }));
    }

    /// <summary>Found by the property above: base64 ignores the unused low bits of the claims' last character, so
    /// another spelling of the same claims decoded to the genuine token. Every such spelling is refused.</summary>
    [Fact]
    public void Another_base64_spelling_of_genuine_claims_is_refused()
    {
        var section = new HerderConfig { TokenIssuers = [_issuer.PublicBase58] };
        // An owner name whose claims leave unused bits in the last base64 character (a length not a multiple of 4).
        var (owner, genuine) = new[] { "gina", "ginas", "ginass" }
            .Select(o => (o, HerderTokens.Issue(o, 5, null, _issuer, DateTimeOffset.UtcNow)))
            .First(t => (t.Item2.LastIndexOf('.') - "hrd1.".Length) % 4 != 0);
        var dot = genuine.LastIndexOf('.');
        var claims = genuine["hrd1.".Length..dot];
        var decoded = Decode(claims);
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var respellings = alphabet.Where(c => c != claims[^1])
            .Select(c => claims[..^1] + c)
            .Where(other => Decode(other).AsSpan().SequenceEqual(decoded))
            .ToList();
        Assert.NotEmpty(respellings);
        Assert.Equal(owner, HerderTokens.Verify(genuine, section, DateTimeOffset.UtcNow).Owner);
        foreach (var other in respellings)
        {
            var e = Assert.Throws<HerderException>(() => HerderTokens.Verify("hrd1." + other + genuine[dot..], section, DateTimeOffset.UtcNow));
            Assert.Equal(HerderFailure.InvalidToken, e.Failure);
        }

        static byte[] Decode(string b64url)
        {
            var b64 = b64url.Replace('-', '+').Replace('_', '/');
            return Convert.FromBase64String(b64 + new string('=', (4 - b64.Length % 4) % 4));
        }
    }
}
