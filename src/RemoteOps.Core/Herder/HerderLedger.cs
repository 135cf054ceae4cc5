using System.Globalization;
using System.Text;
using NATS.Client.Core;
using NATS.Client.KeyValueStore;
using RemoteOps.Config;
using RemoteOps.Messaging;

namespace RemoteOps.Herder;

/// <summary>
/// Owners' credit balances in a JetStream key-value bucket (herder.ledger_bucket), one key per owner. Every change is
/// a compare-and-set on the key's revision, retried on a conflict, so two nodes spending for one owner at once never
/// lose an update. Credits belong to the owner: each token issued adds its credits to the owner's balance, as in the
/// seed. The bucket's integrity rests on NATS permissions (only issuers and node agents may write it).
/// </summary>
public sealed class HerderLedger
{
    private readonly INatsKVStore _store;

    private HerderLedger(INatsKVStore store) => _store = store;

    /// <summary>The ledger on the config's shared connection, its bucket created when missing.</summary>
    public static async Task<HerderLedger> OpenAsync(RemoteOpsConfig config, CancellationToken ct)
    {
        var connection = await ConnectionPool.GetAsync(config, ct).ConfigureAwait(false);
        return await OpenAsync(connection, config.Herder.LedgerBucket, config.Replicas, ct).ConfigureAwait(false);
    }

    public static async Task<HerderLedger> OpenAsync(NatsConnection connection, string bucket, int replicas, CancellationToken ct)
    {
        var store = await KvBuckets.GetAsync(connection, bucket, () => new NatsKVConfig(bucket) { History = 1, NumberOfReplicas = replicas }, ct).ConfigureAwait(false);
        return new HerderLedger(store!);
    }

    private static string Key(string owner) => "owner." + KvBuckets.KeyToken(owner, t => KvBuckets.IsKey(t) && !t.Contains('.'));

    /// <summary>The owner's balance (0 for an owner never credited).</summary>
    public async Task<long> BalanceAsync(string owner, CancellationToken ct) => (await ReadAsync(owner, ct).ConfigureAwait(false)).Balance;

    /// <summary>Adds credits (a new token). Returns the new balance.</summary>
    public Task<long> AddAsync(string owner, long credits, CancellationToken ct) => ChangeAsync(owner, credits, ct);

    /// <summary>Takes credits (a run's time). The balance may go below zero by what a run used before its stop took
    /// effect; the next spawn is then refused. Returns the new balance.</summary>
    public Task<long> SpendAsync(string owner, long credits, CancellationToken ct) => ChangeAsync(owner, -credits, ct);

    private async Task<long> ChangeAsync(string owner, long delta, CancellationToken ct)
    {
        HerderTokens.ValidateOwner(owner);
        while (true)
        {
            var (balance, revision) = await ReadAsync(owner, ct).ConfigureAwait(false);
            var next = checked(balance + delta);
            var bytes = Encoding.ASCII.GetBytes(next.ToString(CultureInfo.InvariantCulture));
            var result = revision == 0
                ? await _store.TryCreateAsync(Key(owner), bytes, cancellationToken: ct).ConfigureAwait(false)
                : await _store.TryUpdateAsync(Key(owner), bytes, revision, cancellationToken: ct).ConfigureAwait(false);
            if (result.Success) return next;
            // Someone else changed it since the read: read again and re-apply.
        }
    }

    private async Task<(long Balance, ulong Revision)> ReadAsync(string owner, CancellationToken ct)
    {
        var entry = await _store.TryGetEntryAsync<byte[]>(Key(owner), cancellationToken: ct).ConfigureAwait(false);
        if (!entry.Success) return (0, 0);
        var e = entry.Value;
        if (e.Operation != NatsKVOperation.Put) return (0, e.Revision);
        return long.TryParse(Encoding.ASCII.GetString(e.Value ?? []), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var b)
            ? (b, e.Revision)
            : throw new InvalidDataException($"The ledger's balance of {owner} is not a number.");
    }
}
