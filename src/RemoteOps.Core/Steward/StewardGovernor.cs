using System.Text.RegularExpressions;
using NATS.Client.Core;
using NATS.Client.KeyValueStore;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;

namespace RemoteOps.Steward;

/// <summary>No governor of that name: not in the governors bucket (or not signed by a known key) and not under the
/// config's steward.governors.</summary>
public sealed class StewardGovernorNotFoundException(string message) : Exception(message);

/// <summary>New-StewardGovernor of a name that exists (without -Force).</summary>
public sealed class StewardGovernorExistsException(string message) : Exception(message);

/// <summary>A governor's definition in the bucket (key: its name), signed by whoever defined it: a configured peer or one
/// of our identities is believed, anything else is ignored.</summary>
public sealed record StewardGovernorRecord
{
    public static readonly SignatureDomain Domain = new("steward-governor");
    public required string Name { get; init; }
    public required int Capacity { get; init; }
    public DateTimeOffset Updated { get; init; }
}

/// <summary>One held slot of a governor (key: <c>&lt;name&gt;.&lt;index&gt;</c>), signed by the node holding it. Its holder
/// renews <see cref="Expires"/> while the method runs; past it (plus allow_skew) anyone may take the slot over.</summary>
public sealed record StewardGovernorSlot
{
    public static readonly SignatureDomain Domain = new("steward-governor-slot");
    public required string Governor { get; init; }
    public required int Slot { get; init; }
    public required string Node { get; init; }
    public required string MessageId { get; init; }
    public DateTimeOffset Acquired { get; init; }
    public DateTimeOffset Expires { get; init; }
}

/// <summary>Fleet governors (Choria's Governor): named semaphores over JetStream key-value with compare-and-set. A
/// governor of capacity N is N slot keys <c>&lt;name&gt;.0</c> … <c>&lt;name&gt;.N-1</c>; a node agent takes a free one
/// (create-if-absent) before it runs a method sent with -Governor, renews it every third of
/// <c>steward.governor_timeout</c> while the method runs, and deletes it (on its revision) after. A slot whose holder
/// stopped renewing (a dead agent) is taken over (compare-and-set on its revision) once its expiry plus allow_skew has
/// passed. So at most N methods run under one governor at once, across every sender and node.</summary>
public sealed partial class StewardGovernors
{
    public const int MaxCapacity = 1000;
    public const int MaxNameLength = 64;
    /// <summary>How often a waiter looks again without a release to wake it (a capacity change, an expired slot).</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MinTimeout = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromHours(1);
    private const int MaxRecordBytes = 64 * 1024;

    public INatsKVStore Bucket { get; }
    private readonly RemoteOpsConfig _config;
    private readonly TrustStore _trust;
    private readonly HashSet<string> _ownKeys;

    private StewardGovernors(INatsKVStore bucket, RemoteOpsConfig config, IEnumerable<string> extraKeys)
    {
        Bucket = bucket; _config = config; _trust = TrustStore.For(config);
        _ownKeys = config.Identities.Select(i => i.Public).Concat(extraKeys).ToHashSet(StringComparer.Ordinal);
    }

    [GeneratedRegex(@"\A[A-Za-z0-9_-]+\z")]
    private static partial Regex NameShape();

    /// <summary>A governor name is 1–64 of <c>A-Z a-z 0-9 _ -</c>: one key token, so that its slots are <c>name.*</c>.</summary>
    public static bool TryValidateName(string? name, out string problem)
    {
        problem = "";
        if (string.IsNullOrEmpty(name)) { problem = "a governor name is not empty"; return false; }
        if (name.Length > MaxNameLength) { problem = $"a governor name has at most {MaxNameLength} characters"; return false; }
        if (!NameShape().IsMatch(name)) { problem = "a governor name is made of letters, digits, '_' and '-' only"; return false; }
        return true;
    }

    /// <summary>Throws <see cref="StewardArgumentException"/> for a bad name.</summary>
    public static void CheckName(string? name)
    {
        if (!TryValidateName(name, out var problem))
            throw new StewardArgumentException($"'{UntrustedText.Clean(name ?? "")}' is not a governor name: {problem}.");
    }

    /// <summary>Throws <see cref="StewardArgumentException"/> for a capacity outside 1–<see cref="MaxCapacity"/>.</summary>
    public static void CheckCapacity(int capacity)
    {
        if (capacity is < 1 or > MaxCapacity)
            throw new StewardArgumentException($"The governor capacity {capacity} is out of range: 1 to {MaxCapacity} (the most methods that may run under it at once).");
    }

    /// <summary>The governors bucket on <paramref name="connection"/>, found or created. <paramref name="extraKeys"/>: keys
    /// whose definitions are believed besides the config's identities and peers (an agent's own key).</summary>
    public static async Task<StewardGovernors> OpenAsync(NatsConnection connection, RemoteOpsConfig config, CancellationToken ct, params string[] extraKeys)
    {
        var section = config.Steward;
        try
        {
            var bucket = (await KvBuckets.GetAsync(connection, section.GovernorsBucket, () => new NatsKVConfig(section.GovernorsBucket)
            {
                History = 1, NumberOfReplicas = config.Replicas,
                Description = "RemoteOps steward: fleet governors (capacity by name) and their held slots",
            }, ct).ConfigureAwait(false))!;
            return new StewardGovernors(bucket, config, extraKeys);
        }
        catch (Exception e) when (NatsFailures.Translate(e, $"Steward (governors bucket '{section.GovernorsBucket}')", connection) is { } failure)
        {
            throw new StewardUnavailableException(failure.Message, e);
        }
    }

    /// <summary>The governors bucket on the config's pooled connection (the cmdlets: no NATS type crosses into the module's
    /// context). Throws <see cref="StewardUnavailableException"/> when NATS fails.</summary>
    public static async Task<StewardGovernors> OpenAsync(RemoteOpsConfig config, CancellationToken ct)
    {
        NatsConnection connection;
        try { connection = await ConnectionPool.GetAsync(config, ct).ConfigureAwait(false); }
        catch (RemoteOpsConnectionException e) { throw new StewardUnavailableException($"Steward is unreachable: {e.Message}", e); }
        return await OpenAsync(connection, config, ct).ConfigureAwait(false);
    }

    /// <summary>A NATS failure of the governors bucket as <see cref="StewardUnavailableException"/>; anything else as it is.</summary>
    public Exception Translate(Exception e) =>
        NatsFailures.Translate(e, $"Steward (governors bucket '{_config.Steward.GovernorsBucket}')") is { } failure ? new StewardUnavailableException(failure.Message, e) : e;

    public static string SlotKey(string name, int slot) => $"{name}.{slot}";

    private bool Trusted(string signer) => _ownKeys.Contains(signer) || _trust.Find(signer) is not null;

    /// <summary>The definition of <paramref name="name"/> in the bucket, with its revision; null when there is none. A
    /// definition not signed by a known key gives the problem instead.</summary>
    public async Task<(StewardGovernorRecord? Record, ulong Revision, string? Problem)?> GetAsync(string name, CancellationToken ct)
    {
        var entry = await Bucket.TryGetEntryAsync<byte[]>(name, cancellationToken: ct).ConfigureAwait(false);
        if (!entry.Success) return null;
        return Open(entry.Value.Value, name, entry.Value.Revision);
    }

    private (StewardGovernorRecord? Record, ulong Revision, string? Problem) Open(byte[]? raw, string name, ulong revision)
    {
        if (raw is null || !SignedJson.TryOpen<StewardGovernorRecord>(raw, StewardGovernorRecord.Domain, MaxRecordBytes, out var record, out var signer, out var problem))
            return (null, revision, "its definition is not a signed governor record");
        if (!Trusted(signer)) return (null, revision, $"its definition is signed by {UntrustedText.Short(signer)}, not a configured peer or identity");
        if (record.Name != name || record.Capacity is < 1 or > MaxCapacity) return (null, revision, "its definition is corrupt");
        return (record, revision, null);
    }

    /// <summary>The governor in effect: the bucket's definition, else the config's steward.governors entry (written to
    /// the bucket now, signed with <paramref name="key"/>, so that every node and sender then sees the same capacity).</summary>
    /// <exception cref="StewardGovernorNotFoundException">Neither defines it.</exception>
    public async Task<StewardGovernorRecord> ResolveAsync(string name, SigningKey key, CancellationToken ct)
    {
        CheckName(name);
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var found = await GetAsync(name, ct).ConfigureAwait(false);
            if (found is { Record: { } record }) return record;
            if (!_config.Steward.Governors.TryGetValue(name, out var capacity))
                throw new StewardGovernorNotFoundException(found is { Problem: { } problem }
                    ? $"Governor '{name}' is not usable: {problem} (bucket '{_config.Steward.GovernorsBucket}'). Define it again with New-StewardGovernor -Force."
                    : $"No governor '{name}': not in bucket '{_config.Steward.GovernorsBucket}' nor under steward.governors. Define it with New-StewardGovernor -Name {name} -Capacity <n>, or in the config.");
            var fresh = new StewardGovernorRecord { Name = name, Capacity = capacity, Updated = DateTimeOffset.UtcNow };
            var bytes = SignedJson.Encode(fresh, key, StewardGovernorRecord.Domain);
            var written = found is { } bad
                ? await Bucket.TryUpdateAsync(name, bytes, bad.Revision, cancellationToken: ct).ConfigureAwait(false)
                : await Bucket.TryCreateAsync(name, bytes, cancellationToken: ct).ConfigureAwait(false);
            if (written.Success) return fresh;
        }
        throw new StewardUnavailableException($"Governor '{name}' kept changing while it was read; try again.");
    }

    /// <summary>Defines <paramref name="name"/> with <paramref name="capacity"/> (New-StewardGovernor): created, or with
    /// <paramref name="force"/> its capacity replaced (compare-and-set). Slots above a lowered capacity are not taken
    /// again; their holders finish.</summary>
    public async Task<StewardGovernorRecord> DefineAsync(string name, int capacity, SigningKey key, bool force, CancellationToken ct)
    {
        CheckName(name);
        CheckCapacity(capacity);
        var record = new StewardGovernorRecord { Name = name, Capacity = capacity, Updated = DateTimeOffset.UtcNow };
        var bytes = SignedJson.Encode(record, key, StewardGovernorRecord.Domain);
        for (int attempt = 0; attempt < 5; attempt++)
        {
            var created = await Bucket.TryCreateAsync(name, bytes, cancellationToken: ct).ConfigureAwait(false);
            if (created.Success) return record;
            var found = await GetAsync(name, ct).ConfigureAwait(false);
            if (found is null) continue; // removed meanwhile
            if (!force)
                throw new StewardGovernorExistsException(found.Value.Record is { } r
                    ? $"Governor '{name}' exists (capacity {r.Capacity}); give -Force to change its capacity."
                    : $"Governor '{name}' exists but is not usable ({found.Value.Problem}); give -Force to replace it.");
            var updated = await Bucket.TryUpdateAsync(name, bytes, found.Value.Revision, cancellationToken: ct).ConfigureAwait(false);
            if (updated.Success) return record;
        }
        throw new StewardUnavailableException($"Governor '{name}' kept changing while it was written; try again.");
    }

    /// <summary>Removes a governor's definition and its slot keys. False when there was none. A method waiting for it then
    /// fails (unless its node's config defines it, which writes it again).</summary>
    public async Task<bool> RemoveAsync(string name, CancellationToken ct)
    {
        CheckName(name);
        var found = await GetAsync(name, ct).ConfigureAwait(false);
        if (found is null) return false;
        await Bucket.PurgeAsync(name, cancellationToken: ct).ConfigureAwait(false);
        foreach (var (key, _, _) in await EntriesAsync($"{name}.*", ct).ConfigureAwait(false))
            await Bucket.PurgeAsync(key, cancellationToken: ct).ConfigureAwait(false);
        return true;
    }

    private async Task<List<(string Key, byte[]? Value, ulong Revision)>> EntriesAsync(string filter, CancellationToken ct) =>
        (await KvBuckets.ListAsync(Bucket, filter, ct).ConfigureAwait(false)).Select(e => (e.Key, e.Value, e.Revision)).ToList();

    private StewardGovernorSlot? OpenSlot(byte[]? raw) =>
        raw is not null && SignedJson.TryOpen<StewardGovernorSlot>(raw, StewardGovernorSlot.Domain, MaxRecordBytes, out var slot, out _, out _) ? slot : null;

    /// <summary>Every governor defined (valid definitions only), with the slots held now (not expired), sorted by name;
    /// only those matching <paramref name="name"/> (a name, or a wildcard pattern with * and ?) when given.</summary>
    public async Task<IReadOnlyList<StewardGovernor>> ListAsync(string? name, DateTimeOffset now, CancellationToken ct)
    {
        var entries = await EntriesAsync(">", ct).ConfigureAwait(false);
        var slots = entries.Where(e => e.Key.Contains('.')).Select(e => OpenSlot(e.Value)).OfType<StewardGovernorSlot>()
            .Where(s => s.Expires + _config.AllowSkew >= now).ToLookup(s => s.Governor, StringComparer.Ordinal);
        var list = new List<StewardGovernor>();
        foreach (var (key, value, revision) in entries.Where(e => !e.Key.Contains('.')))
        {
            if (name is not null && !Matches(key, name)) continue;
            if (Open(value, key, revision).Record is not { } record) continue;
            var held = slots[key].OrderBy(s => s.Acquired).ToArray();
            list.Add(new StewardGovernor
            {
                Name = record.Name, Capacity = record.Capacity, InUse = held.Length, Holders = held.Select(s => s.Node).ToArray(),
                MessageIds = held.Select(s => s.MessageId).ToArray(), Updated = record.Updated,
            });
        }
        return list.OrderBy(g => g.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>Whether <paramref name="name"/> matches <paramref name="pattern"/> (* any run, ? one character; case-sensitive).</summary>
    public static bool Matches(string name, string pattern) =>
        pattern.IndexOfAny(['*', '?']) < 0 ? name == pattern
        : Regex.IsMatch(name, "^" + Regex.Escape(pattern).Replace("\\*", ".*").Replace("\\?", ".") + "$", RegexOptions.None, TimeSpan.FromSeconds(1));

    /// <summary>Waits for a slot of <paramref name="name"/> for message <paramref name="messageId"/> on
    /// <paramref name="node"/> until <paramref name="deadline"/>, then holds it (renewed every third of
    /// <paramref name="timeout"/>) until the lease is released. A slot this message held before (an agent restarted) is
    /// taken back. Waiting wakes on a release (a watch on the slots) or every <see cref="PollInterval"/>. NATS failures
    /// while waiting are retried until the deadline.</summary>
    /// <exception cref="StewardGovernorNotFoundException">The governor is not defined (bucket or this config).</exception>
    /// <exception cref="TimeoutException">No slot by <paramref name="deadline"/>.</exception>
    public async Task<StewardGovernorLease> AcquireAsync(string name, string node, string messageId, SigningKey key, TimeSpan timeout,
        DateTimeOffset deadline, Action<string>? log, CancellationToken ct)
    {
        CheckName(name);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var released = new SemaphoreSlim(0, 1);
        Task? watch = null;
        int capacity = 0;
        try
        {
            for (int round = 0; ; round++)
            {
                try
                {
                    capacity = (await ResolveAsync(name, key, stop.Token).ConfigureAwait(false)).Capacity;
                    if (await TryTakeAsync(name, capacity, node, messageId, key, timeout, log, stop.Token).ConfigureAwait(false) is { } lease)
                        return lease;
                }
                catch (Exception e) when (e is not OperationCanceledException and not StewardGovernorNotFoundException && NatsFailures.IsNats(e))
                {
                    log?.Invoke($"Governor '{name}': {e.Message}; trying again.");
                }
                // Every slot held: from now on a release wakes us (the watch starts after the first full round only, so
                // that a free governor costs no watch).
                watch ??= Task.Run(() => WatchReleasesAsync(name, released, stop.Token));
                var wait = deadline - DateTimeOffset.UtcNow;
                if (wait <= TimeSpan.Zero)
                    throw new TimeoutException($"No slot of governor '{name}' (capacity {capacity}) became free in time.");
                if (round == 0) log?.Invoke($"{messageId}: waiting for a slot of governor '{name}' (capacity {capacity}).");
                try { await released.WaitAsync(wait < PollInterval ? wait : PollInterval, stop.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested) { }
                ct.ThrowIfCancellationRequested();
            }
        }
        finally
        {
            stop.Cancel();
            if (watch is not null) try { await watch.ConfigureAwait(false); } catch (Exception) { }
            released.Dispose();
        }
    }

    private async Task WatchReleasesAsync(string name, SemaphoreSlim released, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var opts = new NatsKVWatchOpts { UpdatesOnly = true };
                await foreach (var e in Bucket.WatchAsync<byte[]>($"{name}.*", opts: opts, cancellationToken: ct).ConfigureAwait(false))
                    if (e.Operation != NatsKVOperation.Put)
                        try { released.Release(); } catch (SemaphoreFullException) { }
            }
            catch (OperationCanceledException) { return; }
            catch (Exception)
            {
                // The poll covers the gap.
                try { await Task.Delay(PollInterval, ct).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>One pass over the slots, from a random one: a free slot is created, one this message held before or one
    /// expired past allow_skew is taken over on its revision. Null when every slot is held.</summary>
    private async Task<StewardGovernorLease?> TryTakeAsync(string name, int capacity, string node, string messageId, SigningKey key, TimeSpan timeout,
        Action<string>? log, CancellationToken ct)
    {
        var start = Random.Shared.Next(capacity);
        var churn = 0;
        for (int j = 0; j < capacity; j++)
        {
            var i = (start + j) % capacity;
            var slotKey = SlotKey(name, i);
            var now = DateTimeOffset.UtcNow;
            var mine = new StewardGovernorSlot { Governor = name, Slot = i, Node = node, MessageId = messageId, Acquired = now, Expires = now + timeout };
            var bytes = SignedJson.Encode(mine, key, StewardGovernorSlot.Domain);
            var created = await Bucket.TryCreateAsync(slotKey, bytes, cancellationToken: ct).ConfigureAwait(false);
            if (created.Success) return new StewardGovernorLease(this, mine, created.Value, key, timeout, log);
            var current = await Bucket.TryGetEntryAsync<byte[]>(slotKey, cancellationToken: ct).ConfigureAwait(false);
            if (!current.Success)
            {
                // Released meanwhile: try that slot again (a few times; a busy slot is someone else's race to win).
                if (++churn <= 3) j--;
                continue;
            }
            var held = OpenSlot(current.Value.Value);
            var ours = held is not null && held.MessageId == messageId && held.Node == node;
            var expired = held is null || held.Expires + _config.AllowSkew < now;
            if (!ours && !expired) continue;
            var taken = await Bucket.TryUpdateAsync(slotKey, bytes, current.Value.Revision, cancellationToken: ct).ConfigureAwait(false);
            if (!taken.Success) continue;
            if (!ours)
                log?.Invoke(held is null
                    ? $"Governor '{name}': took over slot {i}, whose record was not a signed slot."
                    : $"Governor '{name}': took over slot {i} from {UntrustedText.Clean(held.Node)} (message {UntrustedText.Clean(held.MessageId)}), expired at {held.Expires:u}.");
            return new StewardGovernorLease(this, mine, taken.Value, key, timeout, log);
        }
        return null;
    }

    /// <summary>The slot this message held before an agent restart, taken back (renewed) when it is still its own or has
    /// expired; else any free slot without waiting; null when neither (the adopted command runs on regardless).</summary>
    public async Task<StewardGovernorLease?> ReclaimAsync(string name, string node, string messageId, SigningKey key, TimeSpan timeout,
        Action<string>? log, CancellationToken ct)
    {
        var capacity = (await ResolveAsync(name, key, ct).ConfigureAwait(false)).Capacity;
        return await TryTakeAsync(name, capacity, node, messageId, key, timeout, log, ct).ConfigureAwait(false);
    }

    internal async Task<ulong?> RenewAsync(StewardGovernorSlot slot, ulong revision, SigningKey key, CancellationToken ct)
    {
        var bytes = SignedJson.Encode(slot, key, StewardGovernorSlot.Domain);
        var updated = await Bucket.TryUpdateAsync(SlotKey(slot.Governor, slot.Slot), bytes, revision, cancellationToken: ct).ConfigureAwait(false);
        return updated.Success ? updated.Value : null;
    }

    internal async Task ReleaseAsync(StewardGovernorSlot slot, ulong revision, CancellationToken ct) =>
        await Bucket.TryDeleteAsync(SlotKey(slot.Governor, slot.Slot), new NatsKVDeleteOpts { Revision = revision }, ct).ConfigureAwait(false);

    /// <summary>The governors to offer on Tab: the config's, then the bucket's (within the completion budget).</summary>
    public static IEnumerable<CompletionValue> Completions(RemoteOpsConfig config)
    {
        var values = new Dictionary<string, CompletionValue>(StringComparer.Ordinal);
        foreach (var (name, capacity) in config.Steward.Governors.OrderBy(g => g.Key, StringComparer.Ordinal))
            values[name] = new CompletionValue(name, $"capacity {capacity} (config)");
        try
        {
            using var budget = new CancellationTokenSource(StewardCompletions.Budget);
            var query = Task.Run(async () =>
            {
                var connection = await ConnectionPool.GetAsync(config, budget.Token).ConfigureAwait(false);
                var governors = await OpenAsync(connection, config, budget.Token).ConfigureAwait(false);
                return await governors.ListAsync(null, DateTimeOffset.UtcNow, budget.Token).ConfigureAwait(false);
            }, budget.Token);
            if (query.Wait(StewardCompletions.Budget + TimeSpan.FromMilliseconds(250)))
                foreach (var g in query.Result)
                    values[g.Name] = new CompletionValue(g.Name, $"capacity {g.Capacity}, {g.InUse} in use");
        }
        catch (Exception) { /* completion is best effort */ }
        return values.Values.OrderBy(v => v.Value, StringComparer.Ordinal).ToList();
    }
}

/// <summary>A held slot: renewed in the background until <see cref="ReleaseAsync"/> (the method ended: the slot is
/// freed) or <see cref="DisposeAsync"/> alone (the agent died or left a detached command running: the slot expires).</summary>
public sealed class StewardGovernorLease : IAsyncDisposable
{
    private readonly StewardGovernors? _owner;
    private readonly SigningKey? _key;
    private readonly Action<string>? _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _renewing = Task.CompletedTask;
    private StewardGovernorSlot? _slot;
    private ulong _revision;
    private int _done;

    /// <summary>A lease that holds nothing (an adopted command whose slot could not be taken back).</summary>
    public static StewardGovernorLease None(string governor) => new(governor);

    public string Governor { get; }
    public int? Slot => _slot?.Slot;

    private StewardGovernorLease(string governor) { Governor = governor; _done = 1; }

    internal StewardGovernorLease(StewardGovernors owner, StewardGovernorSlot slot, ulong revision, SigningKey key, TimeSpan timeout, Action<string>? log)
    {
        _owner = owner; _slot = slot; _revision = revision; _key = key; _log = log; Governor = slot.Governor;
        _renewing = Task.Run(() => RenewLoopAsync(timeout));
    }

    private async Task RenewLoopAsync(TimeSpan timeout)
    {
        var every = timeout / 3;
        while (!_stop.IsCancellationRequested)
        {
            try { await Task.Delay(every, _stop.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
            var slot = _slot!;
            var next = slot with { Expires = DateTimeOffset.UtcNow + timeout };
            try
            {
                if (await _owner!.RenewAsync(next, _revision, _key!, _stop.Token).ConfigureAwait(false) is { } revision)
                {
                    _slot = next; _revision = revision;
                    continue;
                }
                _log?.Invoke($"Governor '{slot.Governor}': slot {slot.Slot} of message {slot.MessageId} was taken by another holder (not renewed in time); the method runs on.");
                return;
            }
            catch (OperationCanceledException) { return; }
            catch (Exception e)
            {
                // NATS away: the next tick tries again, while the slot has not expired.
                _log?.Invoke($"Governor '{slot.Governor}': slot {slot.Slot} not renewed yet ({e.Message}).");
            }
        }
    }

    /// <summary>Frees the slot (delete on its revision; a slot taken over meanwhile is left to its new holder).</summary>
    public async Task ReleaseAsync()
    {
        if (Interlocked.Exchange(ref _done, 1) != 0) return;
        await _stop.CancelAsync().ConfigureAwait(false);
        try { await _renewing.ConfigureAwait(false); } catch (Exception) { }
        for (int attempt = 0; attempt < 5; attempt++)
        {
            try { await _owner!.ReleaseAsync(_slot!, _revision, CancellationToken.None).ConfigureAwait(false); return; }
            catch (Exception e) when (attempt < 4)
            {
                _log?.Invoke($"Governor '{Governor}': slot {_slot!.Slot} not released yet ({e.Message}).");
                await Task.Delay(TimeSpan.FromMilliseconds(200 * (attempt + 1))).ConfigureAwait(false);
            }
            catch (Exception e) { _log?.Invoke($"Governor '{Governor}': slot {_slot!.Slot} not released ({e.Message}); it expires."); }
        }
    }

    /// <summary>Stops renewing without freeing the slot: it expires after steward.governor_timeout.</summary>
    public async ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref _done, 1);
        await _stop.CancelAsync().ConfigureAwait(false);
        try { await _renewing.ConfigureAwait(false); } catch (Exception) { }
        _stop.Dispose();
    }
}
