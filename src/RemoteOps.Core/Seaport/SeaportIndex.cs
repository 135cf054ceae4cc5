using System.Collections.Concurrent;
using System.Threading.Channels;
using NATS.Client.Core;
using NATS.Client.KeyValueStore;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;

namespace RemoteOps.Seaport;

/// <summary>The registry as this process sees it: a key-value watch over <c>s.&gt;</c> kept in memory, so a query is a
/// scan of a dictionary (listing keys and getting each per query is far too slow at 10,000 services), and every
/// change is an event for Watch-/Wait-SeaportService. One per (connection, bucket, authorized keys), kept in the
/// connection's context and retired with it.
/// <para>Entries are parsed on arrival but their signatures are checked lazily, once per revision, when a query or a
/// watcher first needs them: a new session loading 10,000 entries verifies only what it returns. A value that
/// overwrites an unchecked one has that one checked then, so that the last verified value of each key is always known:
/// it stays the key's answer, whatever forged or corrupt values follow (any number of them), until it expires itself
/// or a verified value replaces it.</para>
/// <para>Expiry: nats-server 2.9 has no per-key TTL, so an entry counts as live while its last put (server time) is
/// younger than the registrant's timeout. A scan reports Expired when that runs out and reaps the key with a purge
/// guarded by its revision, so a fresh heartbeat is never removed. While the connection is down nothing expires, and
/// after a reconnect every owner has one timeout to be heard from again, so an outage does not read as deaths.</para></summary>
public sealed class SeaportIndex : IDisposable
{
    private ConnectionContext? _context;
    private object? _contextKey;
    private readonly NatsConnection _connection;
    private readonly INatsKVStore _store;
    private readonly TrustStore _trust;
    private readonly TimeSpan _skew;
    private readonly object _gate = new();
    private readonly Dictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    private readonly List<Subscriber> _subscribers = new();
    // "hostkey:port" -> ids of entries holding it, so port assignment does not scan every entry per probe.
    private readonly Dictionary<string, HashSet<string>> _portHolders = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _caughtUp = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _life = new();
    private ulong _lastRevision;
    private DateTimeOffset _healthySince = DateTimeOffset.UtcNow;

    /// <summary>Told why an entry was rejected (seaport's reject event): bad signature, unauthorized signer, corrupt.</summary>
    public event Action<string>? Rejected;

    private sealed class Slot
    {
        public required string Key;
        public required byte[] Raw;
        public ulong Revision;
        public DateTimeOffset Created;
        public SeaportEntry? Parsed;      // null: corrupt
        public bool? Verified;            // null: not checked yet
        public string? Problem;
        public bool ExpiredReported;
        /// <summary>While this value is not known to be genuine: the last verified value of the key before it (null or
        /// Verified), the answer if this one turns out forged.</summary>
        public Slot? Fallback;
    }

    private sealed record Subscriber(SeaportPattern Pattern, ChannelWriter<SeaportEvent> Writer);

    private SeaportIndex(NatsConnection connection, INatsKVStore store, TrustStore trust, TimeSpan skew)
    {
        _connection = connection;
        _store = store;
        _trust = trust;
        _skew = skew;
        _connection.ConnectionOpened += OnOpened;
        _ = Task.Run(WatchLoopAsync);
        _ = Task.Run(ScanLoopAsync);
    }

    /// <summary>Who may write entries: the trust store, whose "seaport" scope is seaport.authorized.</summary>
    public TrustStore Trust => _trust;

    /// <summary>Whether seaport.authorized limits who may write (otherwise any valid signer may).</summary>
    public bool Restricted => _trust.Granted(SeaportEntryCodec.TrustScope).Count > 0;

    /// <summary>The index for this config, caught up with the bucket.</summary>
    public static async Task<SeaportIndex> GetAsync(RemoteOpsConfig config, CancellationToken ct)
    {
        var connection = await SeaportStore.ConnectAsync(config, ct).ConfigureAwait(false);
        var store = await SeaportStore.GetAsync(connection, config.Seaport.Bucket, config.Replicas, ct).ConfigureAwait(false);
        var trust = TrustStore.For(config);
        var authorized = string.Join(",", trust.Granted(SeaportEntryCodec.TrustScope).Order(StringComparer.Ordinal));
        var key = ("seaport-index", config.Seaport.Bucket, authorized);
        var context = ConnectionContext.Of(connection)!;
        var index = context.GetOrAdd(key, c => new SeaportIndex(connection, store, trust, config.AllowSkew) { _context = c, _contextKey = key });
        await index.WaitReadyAsync(ct).ConfigureAwait(false);
        return index;
    }

    internal INatsKVStore Store => _store;

    /// <summary>The most bytes the server takes in one message (its max_payload); null before it said.</summary>
    internal int? ServerMaxPayload => _connection.ServerInfo?.MaxPayload is > 0 and var max ? max : null;

    // The connection is open here: ConnectionPool waited (bounded) for it, or reported it unreachable.
    private Task WaitReadyAsync(CancellationToken ct) => _caughtUp.Task.WaitAsync(ct);

    private ValueTask OnOpened(object? sender, NatsEventArgs e)
    {
        lock (_gate) _healthySince = DateTimeOffset.UtcNow;
        // A reconnect (e.g. a server restart) may leave the watch's consumer gone: start a new one where we left off.
        Volatile.Read(ref _watchRun)?.Cancel();
        return ValueTask.CompletedTask;
    }

    private CancellationTokenSource? _watchRun;

    private async Task WatchLoopAsync()
    {
        var ct = _life.Token;
        while (!ct.IsCancellationRequested)
        {
            using var run = CancellationTokenSource.CreateLinkedTokenSource(ct);
            Volatile.Write(ref _watchRun, run);
            try
            {
                var opts = new NatsKVWatchOpts
                {
                    ResumeAtRevision = _lastRevision == 0 ? 0 : _lastRevision + 1,
                    OnNoData = _ => { _caughtUp.TrySetResult(); return ValueTask.FromResult(false); },
                };
                await foreach (var entry in _store.WatchAsync<byte[]>(SeaportEntry.KeyPrefix + ">", opts: opts, cancellationToken: run.Token).ConfigureAwait(false))
                {
                    Apply(entry);
                    if (entry.Delta == 0) _caughtUp.TrySetResult();
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (OperationCanceledException) when (run.IsCancellationRequested) { continue; /* reconnected: resume at once */ }
            catch (Exception e)
            {
                if (_connection.ConnectionState == NatsConnectionState.Closed)
                {
                    _caughtUp.TrySetException(new SeaportUnavailableException("The seaport registry is unreachable: the connection is closed.", e));
                    Retire();
                    return;
                }
            }
            try { await Task.Delay(200, ct).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>Stops the index and forgets it (its connection was closed, e.g. by Disconnect-RemoteOps).</summary>
    private void Retire()
    {
        _connection.ConnectionOpened -= OnOpened;
        if (_context is not null && _contextKey is not null) _context.Remove(_contextKey, this);
        _life.Cancel();
        lock (_gate) foreach (var s in _subscribers) s.Writer.TryComplete(new SeaportUnavailableException("The NATS connection was closed."));
    }

    /// <summary>The connection's context is shutting down (Disconnect-RemoteOps): the loops stop, watchers are told.</summary>
    public void Dispose() => Retire();

    private void Apply(NatsKVEntry<byte[]> e)
    {
        var id = e.Key.StartsWith(SeaportEntry.KeyPrefix, StringComparison.Ordinal) ? e.Key[SeaportEntry.KeyPrefix.Length..] : e.Key;
        List<(Subscriber, SeaportEvent)>? events = null;
        string? rejection = null;
        lock (_gate)
        {
            if (e.Revision > _lastRevision)
            {
                _lastRevision = e.Revision;
                if (_revisionWaits.Count > 0) WakeRevisionWaitersUnlocked();
            }
            _slots.TryGetValue(id, out var old);
            if (old is not null && e.Revision <= old.Revision) return; // already seen (a resumed watch)
            var now = DateTimeOffset.UtcNow;
            var oldLive = old is not null && IsLiveUnlocked(old, now, verify: _subscribers.Count > 0);

            if (e.Operation is NatsKVOperation.Del or NatsKVOperation.Purge)
            {
                if (old is null) return;
                bool wasTombstone = old.Parsed is { Live: false };
                var stale = old.Parsed is not null && Age(old, now) > TimeoutOf(old.Parsed);
                if (oldLive && !stale && Restricted && !wasTombstone)
                {
                    // Removing a live entry takes a signed tombstone from an authorized key; this was a bare delete.
                    rejection = $"Rejected the removal of {old.Parsed!.Role} (id {id}): a {e.Operation} without a signed tombstone, while seaport.authorized is set. It stays listed until it expires.";
                    old.Revision = e.Revision;
                }
                else
                {
                    RemoveSlot(id);
                    if (oldLive && !old.ExpiredReported && !wasTombstone)
                        events = Fan(e.Operation == NatsKVOperation.Purge && stale ? SeaportAction.Expired : SeaportAction.Freed, old, e.Created);
                }
            }
            else
            {
                var slot = new Slot { Key = e.Key, Raw = e.Value ?? [], Revision = e.Revision, Created = e.Created };
                var sameBytes = old is not null && old.Raw.AsSpan().SequenceEqual(slot.Raw);
                if (sameBytes)
                {
                    // A heartbeat that re-puts the same signed bytes: nothing to parse or check again.
                    (slot.Parsed, slot.Verified, slot.Problem) = (old!.Parsed, old.Verified, old.Problem);
                }
                else
                {
                    slot.Parsed = SeaportEntryCodec.Parse(slot.Raw, out slot.Problem);
                    if (slot.Parsed is null) slot.Verified = false;
                }
                // Watchers need the verdict now; otherwise it waits for a query (the last verified value is the fallback).
                if (_subscribers.Count > 0) IsVerifiedUnlocked(slot);
                var trusted = slot.Verified == true || old is null ? null : sameBytes ? old.Fallback : LastVerifiedUnlocked(old);
                if (slot.Verified == false)
                {
                    rejection = $"Rejected entry {e.Key} (revision {e.Revision}): {slot.Problem}.";
                    if (trusted is not null)
                    {
                        // A forged or corrupt overwrite of an entry we trust: keep the trusted one (it expires unless its
                        // owner's next heartbeat repairs the key). Its revision moves on, so a reap removes the forgery.
                        trusted.Revision = e.Revision;
                        trusted.Fallback = null;
                        if (!ReferenceEquals(old, trusted)) SetSlot(id, trusted);
                        goto done;
                    }
                }
                else if (slot.Verified is null)
                    slot.Fallback = trusted;
                SetSlot(id, slot);
                if (_subscribers.Count > 0)
                {
                    var live = IsLiveUnlocked(slot, now, verify: true);
                    if (slot.Parsed is { Live: false } && old?.Parsed is { Live: true } && oldLive && slot.Verified == true)
                        events = Fan(SeaportAction.Freed, old, e.Created);
                    else if (live && !oldLive)
                        events = Fan(SeaportAction.Registered, slot, e.Created);
                    else if (live && old?.Parsed is { } before && !before.SameContent(slot.Parsed!))
                        events = Fan(SeaportAction.Updated, slot, e.Created);
                }
            }
        }
        done:
        if (rejection is not null) Rejected?.Invoke(rejection);
        if (events is not null) foreach (var (s, ev) in events) s.Writer.TryWrite(ev);
    }

    private static IEnumerable<string> PortKeys(SeaportEntry? e) =>
        e is null ? [] : e.Ports.Values.Append(e.Port).Distinct().Select(p => SeaportStore.HostKey(e.Host) + ":" + p);

    private void SetSlot(string id, Slot slot)
    {
        // A heartbeat (same host and ports) leaves the port map as it is.
        if (_slots.TryGetValue(id, out var current) && current.Parsed is { } a && slot.Parsed is { } b
            && a.Host == b.Host && a.Port == b.Port && a.Ports.Count == b.Ports.Count && a.Ports.All(kv => b.Ports.TryGetValue(kv.Key, out var v) && v == kv.Value))
        {
            _slots[id] = slot;
            return;
        }
        RemoveSlot(id);
        _slots[id] = slot;
        foreach (var k in PortKeys(slot.Parsed))
        {
            if (!_portHolders.TryGetValue(k, out var ids)) _portHolders[k] = ids = new HashSet<string>(StringComparer.Ordinal);
            ids.Add(id);
        }
    }

    private void RemoveSlot(string id)
    {
        if (!_slots.Remove(id, out var old)) return;
        foreach (var k in PortKeys(old.Parsed))
            if (_portHolders.TryGetValue(k, out var ids) && ids.Remove(id) && ids.Count == 0) _portHolders.Remove(k);
    }

    private List<(Subscriber, SeaportEvent)>? Fan(SeaportAction action, Slot slot, DateTimeOffset time)
    {
        if (slot.Parsed is null) return null;
        var list = new List<(Subscriber, SeaportEvent)>();
        foreach (var s in _subscribers)
            if (s.Pattern.Matches(slot.Parsed.Name, slot.Parsed.Version))
                list.Add((s, new SeaportEvent { Action = action, Service = ToService(slot), Time = time }));
        return list;
    }

    /// <summary>The last verified value of a key whose current value is <paramref name="slot"/>: itself when genuine, else
    /// the fallback it carries. Checks an unchecked value now (one signature per revision, at most).</summary>
    private Slot? LastVerifiedUnlocked(Slot slot)
    {
        if (slot.Parsed is not null && IsVerifiedUnlocked(slot)) return slot;
        return slot.Fallback;
    }

    /// <summary>An entry's timeout; bounded by the codec (at most a year), so the arithmetic on it cannot overflow.</summary>
    private static TimeSpan TimeoutOf(SeaportEntry p) => TimeSpan.FromMilliseconds(p.TimeoutMs);

    private TimeSpan Age(Slot slot, DateTimeOffset now)
    {
        // After an outage, owners get a full timeout from the reconnect to be heard from again.
        var since = slot.Created > _healthySince ? slot.Created : _healthySince;
        return now - since;
    }

    private bool IsLiveUnlocked(Slot slot, DateTimeOffset now, bool verify)
    {
        if (slot.Parsed is not { Live: true } p) return false;
        if (Age(slot, now) > TimeoutOf(p)) return false;
        // A value signed long before it was stored is a replay of an old heartbeat, not a live service. (The signed time
        // is bounded by the codec; the skew comes from the config: saturate rather than overflow.)
        var allowed = TimeoutOf(p) + (_skew > TimeSpan.FromDays(3650) ? TimeSpan.FromDays(3650) : _skew);
        if ((slot.Created - DateTimeOffset.FromUnixTimeMilliseconds(p.Time)).Duration() > allowed) return false;
        return verify ? IsVerifiedUnlocked(slot) : slot.Verified != false;
    }

    /// <summary>Every live, verified entry matching the pattern. Rejected ones are told through <paramref name="rejected"/>.</summary>
    public List<SeaportService> Query(SeaportPattern pattern, Action<string>? rejected = null, IReadOnlyCollection<string>? ids = null)
    {
        var now = DateTimeOffset.UtcNow;
        var result = new List<SeaportService>();
        List<string>? problems = null;
        lock (_gate)
        {
            IEnumerable<KeyValuePair<string, Slot>> slots = ids is null ? _slots : ids.Distinct().Where(_slots.ContainsKey).Select(i => KeyValuePair.Create(i, _slots[i]));
            List<(string, Slot)>? settled = null;
            foreach (var (id, candidate) in slots)
            {
                // Only what the pattern asks for is checked (a forgery may name another role than the value it hides).
                if (candidate.Parsed is { } p && !pattern.Matches(p.Name, p.Version)
                    && !(candidate.Fallback?.Parsed is { } f && pattern.Matches(f.Name, f.Version))) continue;
                var slot = ResolveUnlocked(candidate);
                if (candidate.Verified == false) (problems ??= new()).Add($"Rejected entry {candidate.Key} (revision {candidate.Revision}): {candidate.Problem}.");
                if (slot is null || !pattern.Matches(slot.Parsed!.Name, slot.Parsed.Version)) continue;
                if (!ReferenceEquals(slot, candidate)) (settled ??= new()).Add((id, slot));
                if (IsLiveUnlocked(slot, now, verify: true)) result.Add(ToService(slot));
            }
            if (settled is not null) foreach (var (id, slot) in settled) SetSlot(id, slot);
        }
        if (problems is not null && rejected is not null) foreach (var p in problems) rejected(p);
        result.Sort((a, b) => string.CompareOrdinal(a.Role, b.Role) is var c && c != 0 ? c : a.Registered.CompareTo(b.Registered));
        return result;
    }

    /// <summary>The value a key answers with: the slot itself once verified, or the last verified value it overwrote
    /// when it is forged (its revision moved on; the caller settles it into the index). Null for a corrupt value with
    /// nothing verified before it.</summary>
    private Slot? ResolveUnlocked(Slot slot)
    {
        if (slot.Verified is null && !IsVerifiedUnlocked(slot) && slot.Fallback is { } trusted)
        {
            trusted.Revision = slot.Revision;
            slot.Fallback = null;
            return trusted;
        }
        slot.Fallback = null;
        return slot.Parsed is null ? null : slot;
    }

    /// <summary>The live entry with this id (verified), or null.</summary>
    public SeaportService? Find(string id)
    {
        lock (_gate)
        {
            if (!_slots.TryGetValue(id, out var candidate)) return null;
            var slot = ResolveUnlocked(candidate);
            if (slot is null) return null;
            if (!ReferenceEquals(slot, candidate)) SetSlot(id, slot);
            return IsLiveUnlocked(slot, DateTimeOffset.UtcNow, verify: true) ? ToService(slot) : null;
        }
    }

    /// <summary>True while some entry (verified or not, live or recent) holds the port on the host; a conservative
    /// answer for port assignment.</summary>
    internal bool PortHeld(string hostKey, int port, string exceptId)
    {
        var now = DateTimeOffset.UtcNow;
        lock (_gate)
        {
            if (!_portHolders.TryGetValue(hostKey + ":" + port, out var ids)) return false;
            foreach (var id in ids)
                if (id != exceptId && _slots.TryGetValue(id, out var slot) && slot.Parsed is { Live: true } p
                    && Age(slot, now) <= TimeoutOf(p))
                    return true;
        }
        return false;
    }

    /// <summary>True while a genuine entry with this id is stored and not stale (for port-claim takeover and id
    /// conflicts): a forgery holds no id.</summary>
    internal bool IdHeld(string id)
    {
        lock (_gate)
        {
            if (!_slots.TryGetValue(id, out var candidate)) return false;
            var slot = ResolveUnlocked(candidate);
            if (slot is null) return false;
            if (!ReferenceEquals(slot, candidate)) SetSlot(id, slot);
            return slot.Verified == true && slot.Parsed is { Live: true } p && Age(slot, DateTimeOffset.UtcNow) <= TimeoutOf(p);
        }
    }

    /// <summary>Waits until this process's index has seen revision <paramref name="revision"/> (our own write), so a
    /// query right after Register/Set/Unregister in this session reflects it.</summary>
    internal async Task WaitForRevisionAsync(ulong revision, CancellationToken ct)
    {
        TaskCompletionSource seen;
        lock (_gate)
        {
            if (_lastRevision >= revision) return;
            seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _revisionWaits.Add((revision, seen));
        }
        try
        {
            await seen.Task.WaitAsync(TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
        }
        catch (TimeoutException) { /* the watch lags; the write stands */ }
        finally
        {
            lock (_gate) _revisionWaits.Remove((revision, seen));
        }
    }

    private readonly List<(ulong Revision, TaskCompletionSource Seen)> _revisionWaits = new();

    private void WakeRevisionWaitersUnlocked()
    {
        foreach (var (revision, seen) in _revisionWaits)
            if (revision <= _lastRevision) seen.TrySetResult();
    }

    /// <summary>Starts a stream of events for entries matching <paramref name="pattern"/>. With <paramref name="existing"/>,
    /// the live matches come first as Registered, with no gap before the changes that follow.</summary>
    public ChannelReader<SeaportEvent> Subscribe(SeaportPattern pattern, bool existing, CancellationToken ct, out List<SeaportService> current)
    {
        var channel = Channel.CreateUnbounded<SeaportEvent>(new UnboundedChannelOptions { SingleReader = true });
        var subscriber = new Subscriber(pattern, channel.Writer);
        lock (_gate)
        {
            current = Query(pattern);
            if (existing)
                foreach (var s in current) channel.Writer.TryWrite(new SeaportEvent { Action = SeaportAction.Registered, Service = s, Time = s.LastSeen });
            _subscribers.Add(subscriber);
        }
        ct.Register(() =>
        {
            lock (_gate) _subscribers.Remove(subscriber);
            channel.Writer.TryComplete();
        });
        return channel.Reader;
    }

    private async Task ScanLoopAsync()
    {
        var ct = _life.Token;
        while (!ct.IsCancellationRequested)
        {
            TimeSpan interval;
            try { interval = Scan(); }
            catch (Exception) { interval = TimeSpan.FromSeconds(1); }
            try { await Task.Delay(interval, ct).ConfigureAwait(false); } catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>Reports Expired for entries whose owner went silent, and reaps them. Returns when to scan next.</summary>
    private TimeSpan Scan()
    {
        var now = DateTimeOffset.UtcNow;
        var shortest = TimeSpan.FromSeconds(5);
        var events = new List<(Subscriber, SeaportEvent)>();
        var reap = new List<(string Key, ulong Revision, SeaportEntry Entry)>();
        if (_connection.ConnectionState != NatsConnectionState.Open) return TimeSpan.FromMilliseconds(200);
        lock (_gate)
        {
            List<(string, Slot)>? settled = null;
            foreach (var (id, candidate) in _slots)
            {
                var slot = candidate;
                if (slot.Fallback is not null)
                {
                    // An unchecked overwrite of a verified value: its own timeout counts only if it is genuine (a forgery
                    // must not have the key reaped, nor the genuine value reported Expired).
                    slot = ResolveUnlocked(candidate) ?? candidate;
                    if (!ReferenceEquals(slot, candidate)) (settled ??= new()).Add((id, slot));
                }
                if (slot.Parsed is not { } p) continue;
                var timeout = TimeoutOf(p);
                if (timeout < shortest) shortest = timeout;
                var age = Age(slot, now);
                if (!p.Live)
                {
                    // A tombstone has told every watcher; remove it once they have all had time to see it.
                    if (age > timeout * 1.5) reap.Add((slot.Key, slot.Revision, p));
                    continue;
                }
                if (age <= timeout) continue;
                if (!slot.ExpiredReported && _subscribers.Count > 0 && IsVerifiedUnlocked(slot))
                {
                    var when = (slot.Created > _healthySince ? slot.Created : _healthySince) + timeout;
                    var fanned = Fan(SeaportAction.Expired, slot, when);
                    if (fanned is not null) events.AddRange(fanned);
                }
                slot.ExpiredReported = true;
                // Reap after a further half timeout, so a heartbeat in flight wins.
                if (age > timeout * 1.5) reap.Add((slot.Key, slot.Revision, p));
            }
            if (settled is not null) foreach (var (id, slot) in settled) SetSlot(id, slot);
        }
        foreach (var (s, ev) in events) s.Writer.TryWrite(ev);
        if (!ReapingPaused) foreach (var r in reap) _ = ReapAsync(r.Key, r.Revision, r.Entry);
        var next = shortest / 10;
        return next < TimeSpan.FromMilliseconds(20) ? TimeSpan.FromMilliseconds(20) : next > TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : next;
    }

    private bool IsVerifiedUnlocked(Slot slot)
    {
        if (slot.Verified is null)
        {
            slot.Verified = SeaportEntryCodec.Decode(slot.Key, slot.Raw, _trust, out var problem) is not null;
            slot.Problem = problem;
        }
        return slot.Verified == true;
    }

    private readonly ConcurrentDictionary<string, byte> _reaping = new(StringComparer.Ordinal);

    internal async Task ReapAsync(string key, ulong revision, SeaportEntry entry)
    {
        if (!_reaping.TryAdd(key, 0)) return; // one purge per key in flight
        try
        {
            // Guarded by the revision: a heartbeat that landed meanwhile makes this fail, as it should.
            var purged = await _store.TryPurgeAsync(key, new NatsKVDeleteOpts { Revision = revision }).ConfigureAwait(false);
            if (!purged.Success)
            {
                // A newer revision (a heartbeat won) is the normal case; anything else, e.g. a read-only NATS user, pauses reaping.
                if (purged.Error is not NatsKVWrongLastRevisionException) PauseReaping();
                return;
            }
            await SeaportClaims.ReleaseAsync(_store, entry).ConfigureAwait(false);
        }
        catch (Exception e) when (SeaportStore.IsAvailabilityProblem(e)) { PauseReaping(); /* a later scan tries again */ }
        finally { _reaping.TryRemove(key, out _); }
    }

    private long _reapPausedUntil;

    /// <summary>Reaping failed for another reason than a lost race (no reply: a user without write permission, or the
    /// server going away): leave it to others for a while rather than sending a purge per stale key per scan.</summary>
    private void PauseReaping() => Volatile.Write(ref _reapPausedUntil, Environment.TickCount64 + 30_000);

    private bool ReapingPaused => Environment.TickCount64 < Volatile.Read(ref _reapPausedUntil);

    internal static SeaportService ToService(SeaportEntry p, ulong revision, DateTimeOffset lastSeen) => new()
    {
        Id = p.Id,
        Role = p.Role,
        Name = p.Name,
        Version = p.Version,
        HostName = p.Host,
        Port = p.Port,
        Ports = new Dictionary<string, int>(p.Ports),
        Meta = new Dictionary<string, string>(p.Meta),
        Registered = DateTimeOffset.FromUnixTimeMilliseconds(p.Registered),
        Signer = p.Signer,
        LastSeen = lastSeen,
        Timeout = TimeoutOf(p),
        Revision = revision,
    };

    private static SeaportService ToService(Slot slot) => ToService(slot.Parsed!, slot.Revision, slot.Created);
}
