using RemoteOps.Config;

namespace RemoteOps.Herder;

/// <summary>
/// Charges a run's time to its token's owner: herder.credits_per_second for each second, taken from the ledger every
/// second while it runs (so two nodes running for one owner drain one balance together) and the last part second at
/// the end. With herder.require_token, a spawn whose owner has nothing left is refused, and a run whose owner runs
/// out is stopped (<see cref="RanOut"/>).
/// </summary>
public sealed class HerderMeter : IAsyncDisposable
{
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);
    private readonly HerderLedger _ledger;
    private readonly int _perSecond;
    private readonly bool _stopWhenOut;
    private readonly CancellationTokenSource _ranOut = new();
    private readonly CancellationTokenSource _done = new();
    private readonly Lock _gate = new();
    private long _charged;
    private Task _loop = Task.CompletedTask;
    private DateTimeOffset _began;

    private HerderMeter(HerderLedger ledger, string owner, int perSecond, bool stopWhenOut)
    {
        _ledger = ledger;
        Owner = owner;
        _perSecond = perSecond;
        _stopWhenOut = stopWhenOut;
    }

    public string Owner { get; }

    /// <summary>Fires when the owner's balance reaches zero while require_token is set.</summary>
    public CancellationToken RanOut => _ranOut.Token;

    /// <summary>Null when no token is given and none is required. Checks the token and, under require_token, the balance.</summary>
    /// <exception cref="HerderException">InvalidToken (bad, or missing where required) or NoCredits.</exception>
    public static async Task<HerderMeter?> StartAsync(RemoteOpsConfig config, string? token, CancellationToken ct)
    {
        var section = config.Herder;
        if (string.IsNullOrEmpty(token))
            return section.RequireToken
                ? throw new HerderException(HerderFailure.InvalidToken, "This node requires a token (herder.require_token): pass -Token (New-HerderToken issues them).")
                : null;
        var claims = HerderTokens.Verify(token, section, DateTimeOffset.UtcNow);
        var ledger = await HerderLedger.OpenAsync(config, ct).ConfigureAwait(false);
        var balance = await ledger.BalanceAsync(claims.Owner, ct).ConfigureAwait(false);
        if (section.RequireToken && balance <= 0)
            throw new HerderException(HerderFailure.NoCredits, $"The owner {claims.Owner} has no credits left ({balance}); a new token (New-HerderToken) adds credits.");
        return new HerderMeter(ledger, claims.Owner, section.CreditsPerSecond, section.RequireToken);
    }

    /// <summary>The run started: charge each second from now.</summary>
    public void Begin()
    {
        _began = DateTimeOffset.UtcNow;
        if (_perSecond > 0) _loop = ChargeLoopAsync(_done.Token);
    }

    private async Task ChargeLoopAsync(CancellationToken ct)
    {
        try
        {
            using var timer = new PeriodicTimer(Tick);
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                var due = Due(DateTimeOffset.UtcNow - _began, roundUp: false);
                // Not cancelled mid-way: a charge the ledger took must be counted, so the end waits for it instead.
                if (due > 0) await ChargeAsync(due, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }

    /// <summary>Credits owed for <paramref name="elapsed"/> beyond what was charged.</summary>
    private long Due(TimeSpan elapsed, bool roundUp)
    {
        var seconds = roundUp ? (long)Math.Ceiling(elapsed.TotalSeconds) : (long)Math.Floor(elapsed.TotalSeconds);
        lock (_gate) return Math.Max(0, seconds * _perSecond - _charged);
    }

    /// <summary>Takes credits from the ledger. A failed charge (the server unreachable) is counted as unpaid and tried
    /// again with the next one: the run itself is never lost to the ledger.</summary>
    private async Task ChargeAsync(long credits, CancellationToken ct)
    {
        lock (_gate) _charged += credits;
        try
        {
            var balance = await _ledger.SpendAsync(Owner, credits, ct).ConfigureAwait(false);
            if (_stopWhenOut && balance <= 0) _ranOut.Cancel();
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            lock (_gate) _charged -= credits;
        }
    }

    /// <summary>The run ended: the last part second is charged. Returns the credits charged in all.</summary>
    public async Task<long> EndAsync(TimeSpan elapsed, CancellationToken ct)
    {
        await _done.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        var due = Due(elapsed, roundUp: true);
        if (due > 0) await ChargeAsync(due, ct).ConfigureAwait(false);
        lock (_gate) return _charged;
    }

    public async ValueTask DisposeAsync()
    {
        await _done.CancelAsync().ConfigureAwait(false);
        try { await _loop.ConfigureAwait(false); } catch (Exception) { /* a charge that failed at cancellation: nothing to add */ }
        _done.Dispose();
        _ranOut.Dispose();
    }
}
