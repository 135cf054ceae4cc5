using System.Collections.Concurrent;
using System.Security.Cryptography;
using NATS.Client.Core;
using NATS.Client.KeyValueStore;
using RemoteOps.Config;
using RemoteOps.Identity;

namespace RemoteOps.Seaport;

/// <summary>Registers services, keeps them alive with heartbeats, frees them and updates their metadata.
/// Registrations live as long as this process: heartbeats re-put each entry (re-signed, compare-and-set on its revision)
/// every seaport.heartbeat, and at process exit they are freed.</summary>
public static class SeaportRegistrar
{
    private static readonly ConcurrentDictionary<string, Owned> Registrations = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, Task> HeartbeatLoops = new(StringComparer.Ordinal);
    private static int _exitHooked;

    private sealed class Owned
    {
        public required RemoteOpsConfig Config;
        public string LoopKey => _loopKey ??= LoopKeyOf(Config);
        private string? _loopKey;
        public required SigningKey Key;
        public required SeaportEntry Entry;
        public ulong Revision;
        public readonly SemaphoreSlim Lock = new(1, 1);
        /// <summary>The signed value of <see cref="Entry"/>, reused by heartbeats while its signed time is recent.</summary>
        public byte[]? Signed;
        public long SignedFor = -1;
    }

    public static string LocalHostName => System.Net.Dns.GetHostName();

    /// <summary>Ids: letters, digits, - and _ (they are key tokens).</summary>
    public static void ValidateId(string id)
    {
        if (id.Length is 0 or > 128 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            throw new SeaportArgumentException($"'{SeaportMeta.Shown(id)}' is not a registration id: use 1 to 128 letters, digits, '-' or '_'.");
    }

    public static int[] ValidateRange(int[]? range)
    {
        if (range is null) throw new SeaportArgumentException("No port range.");
        if (range.Length != 2) throw new SeaportArgumentException($"A port range is two numbers, low then high (e.g. 20000,32767); got {range.Length}.");
        if (range[0] is < 1 or > 65535 || range[1] is < 1 or > 65535) throw new SeaportArgumentException($"The port range {range[0]}-{range[1]} is outside 1-65535.");
        if (range[0] > range[1]) throw new SeaportArgumentException($"The port range {range[0]}-{range[1]} is inverted: give the low port first.");
        return range;
    }

    public static async Task<SeaportService> RegisterAsync(RemoteOpsConfig config, SeaportRegistration request, CancellationToken ct)
    {
        var (role, names, host, id) = request.Validate();
        var range = ValidateRange(request.Range ?? config.Seaport.Range);
        var local = IsLocal(host);
        var index = await SeaportIndex.GetAsync(config, ct).ConfigureAwait(false);
        var key = SeaportIdentity(config, index);
        var store = index.Store;
        var timeout = config.Seaport.EffectiveTimeout;
        SeaportRegistration.CheckFits(request.Prototype(role, names, host, id), index.ServerMaxPayload);
        if (index.IdHeld(id) && !Registrations.ContainsKey(id))
            throw new SeaportConflictException($"A live registration with id '{id}' already exists.");

        // Ports: the named ones (or one unnamed), -Port first.
        var wanted = Math.Max(1, names.Length);
        var ports = new List<int>();
        try
        {
            if (request.ClaimedPorts is { } claimed)
            {
                if (claimed.Count != wanted) throw new SeaportArgumentException($"{claimed.Count} claimed port(s) for {wanted} port name(s).");
                foreach (var port in claimed)
                    if (!await SeaportClaims.TryClaimAsync(store, index, host, port, id, timeout, ct).ConfigureAwait(false))
                        throw new SeaportConflictException($"Port {port} on {host} was claimed by another registration meanwhile.");
                ports.AddRange(claimed);
            }
            else if (request.Port is { } fixedPort)
            {
                if (index.PortHeld(SeaportStore.HostKey(host), fixedPort, id))
                    throw new SeaportConflictException($"Port {fixedPort} on {host} is held by another live registration.");
                if (local && !request.AlreadyListening && !SeaportClaims.CanBind(fixedPort))
                    throw new SeaportConflictException($"Port {fixedPort} is in use on this host. If your service already listens there, add -AlreadyListening.");
                if (!await SeaportClaims.TryClaimAsync(store, index, host, fixedPort, id, timeout, ct).ConfigureAwait(false))
                    throw new SeaportConflictException($"Port {fixedPort} on {host} is claimed by another registration.");
                ports.Add(fixedPort);
            }
            while (ports.Count < wanted)
                ports.Add(await AssignPortAsync(store, index, host, local, range, id, ports, timeout, ct).ConfigureAwait(false));
        }
        catch
        {
            await ReleaseQuietlyAsync(store, id, host, ports).ConfigureAwait(false);
            throw;
        }

        if (request.ReserveOnly)
            return new SeaportService { Id = id, Name = role.Name, Version = role.VersionText, Role = role.ToString(), HostName = host, Port = ports[0],
                Ports = names.Length == 0 ? new Dictionary<string, int> { ["port"] = ports[0] } : names.Select((n, i) => (n, ports[i])).ToDictionary(t => t.n, t => t.Item2) };
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var entry = new SeaportEntry
        {
            Id = id,
            Name = role.Name,
            Version = role.VersionText,
            Host = host,
            Port = ports[0],
            Ports = names.Length == 0 ? new Dictionary<string, int> { ["port"] = ports[0] } : names.Select((n, i) => (n, ports[i])).ToDictionary(t => t.n, t => t.Item2),
            Meta = new Dictionary<string, string>(request.Meta),
            Registered = now,
            Time = now,
            // Readers drop an entry whose timeout is over the codec's bound (a year; the bucket's MaxAge is a day anyway).
            TimeoutMs = Math.Clamp((long)timeout.TotalMilliseconds, 1, SeaportEntryCodec.MaxTimeoutMs),
        };
        ulong revision;
        try
        {
            revision = await PutNewAsync(store, index, entry, key, ct).ConfigureAwait(false);
        }
        catch
        {
            await ReleaseQuietlyAsync(store, id, host, ports).ConfigureAwait(false);
            throw;
        }
        entry = entry with { Signer = key.PublicBase58 };
        if (request.Heartbeat)
        {
            Registrations[id] = new Owned { Config = config, Key = key, Entry = entry, Revision = revision };
            StartHeartbeats(config);
        }
        await index.WaitForRevisionAsync(revision, ct).ConfigureAwait(false);
        return SeaportIndex.ToService(entry, revision, DateTimeOffset.UtcNow);
    }

    /// <summary>Assigns and claims the port(s) of a registration without registering it yet (Start-SeaportService:
    /// the command needs its port before it is up, and is registered only once it is). Returns the would-be service
    /// (Id, HostName, Port, Ports); pass its ports back as <see cref="SeaportRegistration.ClaimedPorts"/>.</summary>
    public static Task<SeaportService> ReserveAsync(RemoteOpsConfig config, SeaportRegistration request, CancellationToken ct) =>
        RegisterAsync(config, request with { ReserveOnly = true }, ct);

    /// <summary>Releases the port claims of a reservation or a freed registration.</summary>
    public static async Task ReleaseAsync(RemoteOpsConfig config, SeaportService reserved)
    {
        try
        {
            var index = await SeaportIndex.GetAsync(config, CancellationToken.None).ConfigureAwait(false);
            await SeaportClaims.ReleaseAsync(index.Store, reserved.Id, reserved.HostName, reserved.Ports.Values.Append(reserved.Port)).ConfigureAwait(false);
        }
        catch (Exception e) when (SeaportStore.IsAvailabilityProblem(e) || e is SeaportUnavailableException) { }
    }

    private static bool IsLocal(string host) =>
        string.Equals(host, LocalHostName, StringComparison.OrdinalIgnoreCase) || host is "localhost" or "127.0.0.1" or "::1";

    private static async Task ReleaseQuietlyAsync(INatsKVStore store, string id, string host, List<int> ports)
    {
        if (ports.Count == 0) return;
        try
        {
            await SeaportClaims.ReleaseAsync(store, id, host, ports).ConfigureAwait(false);
        }
        catch (Exception e) when (SeaportStore.IsAvailabilityProblem(e)) { }
    }

    private static async Task<int> AssignPortAsync(INatsKVStore store, SeaportIndex index, string host, bool local, int[] range, string id, List<int> taken, TimeSpan timeout, CancellationToken ct)
    {
        var hostKey = SeaportStore.HostKey(host);
        int size = range[1] - range[0] + 1;
        int start = Random.Shared.Next(size);
        int claimsTried = 0;
        for (int i = 0; i < size; i++)
        {
            ct.ThrowIfCancellationRequested();
            int port = range[0] + (start + i) % size;
            if (taken.Contains(port) || index.PortHeld(hostKey, port, id)) continue;
            if (local && !SeaportClaims.CanBind(port)) continue;
            if (await SeaportClaims.TryClaimAsync(store, index, host, port, id, timeout, ct).ConfigureAwait(false)) return port;
            if (++claimsTried >= 1000) break;
        }
        throw new SeaportConflictException($"No free port in {range[0]}-{range[1]} on {host}.");
    }

    /// <summary>Writes a new entry: create, or take over a key whose entry is stale, freed or unverifiable.</summary>
    private static async Task<ulong> PutNewAsync(INatsKVStore store, SeaportIndex index, SeaportEntry entry, SigningKey key, CancellationToken ct)
    {
        var value = SeaportEntryCodec.Encode(entry, key);
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var created = await store.TryCreateAsync(entry.Key, value, cancellationToken: ct).ConfigureAwait(false);
            if (created.Success) return created.Value;
            var current = await store.TryGetEntryAsync<byte[]>(entry.Key, cancellationToken: ct).ConfigureAwait(false);
            if (!current.Success) continue;
            if (index.IdHeld(entry.Id) && index.Find(entry.Id) is not null)
                throw new SeaportConflictException($"A live registration with id '{entry.Id}' already exists.");
            var updated = await store.TryUpdateAsync(entry.Key, value, current.Value.Revision, cancellationToken: ct).ConfigureAwait(false);
            if (updated.Success) return updated.Value;
        }
        throw new SeaportConflictException($"Could not write registration '{entry.Id}': it changed concurrently three times.");
    }

    /// <summary>Registrations share a heartbeat loop, and are "the same" registration, per connection and bucket.</summary>
    private static string LoopKeyOf(RemoteOpsConfig config) => config.ConnectionKey + "\n" + config.Seaport.Bucket;

    private static void StartHeartbeats(RemoteOpsConfig config)
    {
        if (Interlocked.Exchange(ref _exitHooked, 1) == 0)
            AppDomain.CurrentDomain.ProcessExit += (_, _) => FreeAllAtExit();
        var loopKey = LoopKeyOf(config);
        lock (LoopGate) HeartbeatLoops.GetOrAdd(loopKey, _ => Task.Run(() => HeartbeatLoopAsync(loopKey, config.Seaport.Heartbeat)));
    }

    /// <summary>Orders a loop's "nothing left to beat, stop" against a registration's "make sure a loop runs": a loop ends
    /// with its last registration, and the next registration starts a new one.</summary>
    private static readonly object LoopGate = new();

    /// <summary>Whether a heartbeat loop runs for this config's connection and bucket (for tests and diagnostics).</summary>
    internal static bool HeartbeatsRunning(RemoteOpsConfig config) => HeartbeatLoops.ContainsKey(LoopKeyOf(config));

    private static bool StopIfIdle(string loopKey)
    {
        lock (LoopGate)
        {
            if (Registrations.Values.Any(o => o.LoopKey == loopKey)) return false;
            HeartbeatLoops.TryRemove(loopKey, out _);
            return true;
        }
    }

    private static async Task HeartbeatLoopAsync(string loopKey, TimeSpan interval)
    {
        using var gate = new SemaphoreSlim(64);
        var next = DateTime.UtcNow + interval;
        while (true)
        {
            var delay = next - DateTime.UtcNow;
            if (delay > TimeSpan.Zero) await Task.Delay(delay).ConfigureAwait(false);
            var mine = Registrations.Values.Where(o => o.LoopKey == loopKey).ToList();
            if (mine.Count == 0 && StopIfIdle(loopKey)) return;
            bool failed = false;
            SeaportIndex? index = null;
            if (mine.Count > 0)
            {
                try { index = await SeaportIndex.GetAsync(mine[0].Config, CancellationToken.None).ConfigureAwait(false); }
                catch (Exception e) when (SeaportStore.IsAvailabilityProblem(e) || e is SeaportUnavailableException) { failed = true; }
            }
            if (index is not null)
                await Task.WhenAll(mine.Select(async o =>
                {
                    await gate.WaitAsync().ConfigureAwait(false);
                    try { if (!await BeatAsync(o, index).ConfigureAwait(false)) failed = true; }
                    finally { gate.Release(); }
                })).ConfigureAwait(false);
            // After a failure (server restarting), retry sooner than a full interval.
            next = failed ? DateTime.UtcNow + TimeSpan.FromMilliseconds(Math.Min(interval.TotalMilliseconds, 250)) : next + interval;
            if (next < DateTime.UtcNow) next = DateTime.UtcNow + interval;
        }
    }

    /// <summary>One heartbeat: re-put the entry with a fresh signed time, compare-and-set on the revision we wrote.
    /// Returns false when the registry could not be reached.</summary>
    private static async Task<bool> BeatAsync(Owned o, SeaportIndex index)
    {
        await o.Lock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!Registrations.ContainsKey(o.Entry.Id)) return true;
            var store = index.Store;
            // Re-signing (20 µs) is needed only so that the signed time stays within the timeout of each put (readers take a
            // value signed longer ago than that for a replay): re-sign when it is half a timeout old, and otherwise put the
            // same signed bytes again. With the default 3 x heartbeat timeout that is every other heartbeat.
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var fresh = o.Entry;
            if (o.Signed is null || o.SignedFor != o.Entry.Time || now - o.Entry.Time >= o.Entry.TimeoutMs / 2)
            {
                fresh = o.Entry with { Time = now };
                o.Signed = SeaportEntryCodec.Encode(fresh, o.Key);
                o.SignedFor = now;
            }
            var updated = await store.TryUpdateAsync(fresh.Key, o.Signed, o.Revision).ConfigureAwait(false);
            if (updated.Success)
            {
                o.Entry = fresh;
                o.Revision = updated.Value;
                return true;
            }
            fresh = o.Entry with { Time = now };
            o.Signed = null;
            // Someone else wrote the key: Set-SeaportService elsewhere (adopt its metadata), Unregister (we are freed),
            // or a reaper/restart removed it (re-create it, and its port claims).
            var current = await store.TryGetEntryAsync<byte[]>(fresh.Key).ConfigureAwait(false);
            if (current.Success)
            {
                var theirs = SeaportEntryCodec.Decode(fresh.Key, current.Value.Value, index.Trust, out _);
                if (theirs is { Live: false })
                {
                    Registrations.TryRemove(o.Entry.Id, out _);
                    return true;
                }
                if (theirs is not null) fresh = fresh with { Meta = theirs.Meta };
                var retry = await store.TryUpdateAsync(fresh.Key, SeaportEntryCodec.Encode(fresh, o.Key), current.Value.Revision).ConfigureAwait(false);
                if (retry.Success) { o.Entry = fresh; o.Revision = retry.Value; }
                return true;
            }
            // Gone without a tombstone: reaped while we were cut off, the bucket lost, or a bare delete. We are alive,
            // so the registration is too (seaport: valid while its owner's connection lives): re-create it and its claims.
            foreach (var port in fresh.Ports.Values.Append(fresh.Port).Distinct())
                await SeaportClaims.TryClaimAsync(store, index, fresh.Host, port, fresh.Id, TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
            var created = await store.TryCreateAsync(fresh.Key, SeaportEntryCodec.Encode(fresh, o.Key)).ConfigureAwait(false);
            if (created.Success) { o.Entry = fresh; o.Revision = created.Value; }
            return true;
        }
        catch (Exception e) when (SeaportStore.IsAvailabilityProblem(e) || e is SeaportUnavailableException)
        {
            return false;
        }
        finally { o.Lock.Release(); }
    }

    /// <summary>This process's registration <paramref name="id"/> when it was made through the same connection and
    /// bucket as <paramref name="config"/> (another config in the same process, e.g. another NATS user, does not hold it).</summary>
    private static Owned? OwnedThrough(RemoteOpsConfig config, string id) =>
        Registrations.TryGetValue(id, out var owned) && owned.LoopKey == LoopKeyOf(config) ? owned : null;

    /// <summary>True while this process keeps <paramref name="id"/> alive.</summary>
    public static bool Owns(string id) => Registrations.ContainsKey(id);

    /// <summary>seaport's free(): writes a signed tombstone over the entry (so watchers see Freed, and where
    /// seaport.authorized is set, everyone can check who freed it) and releases its port claims; scans reap the
    /// tombstone later. Returns the freed service.</summary>
    public static async Task<SeaportService> FreeAsync(RemoteOpsConfig config, string id, CancellationToken ct) => await FreeAsync(config, id, keepClaims: false, ct).ConfigureAwait(false);

    /// <summary>As <see cref="FreeAsync(RemoteOpsConfig, string, CancellationToken)"/>; with <paramref name="keepClaims"/>
    /// the ports stay claimed (Start-SeaportService, while its command restarts).</summary>
    public static async Task<SeaportService> FreeAsync(RemoteOpsConfig config, string id, bool keepClaims, CancellationToken ct)
    {
        ValidateId(id);
        var index = await SeaportIndex.GetAsync(config, ct).ConfigureAwait(false);
        var store = index.Store;
        // Ownership (and its heartbeats) ends only once the tombstone is written: a free that fails changes nothing.
        var owned = OwnedThrough(config, id);
        if (owned is not null) await owned.Lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var key = SeaportIdentity(config, index);
            var entryKey = SeaportEntry.KeyFor(id);
            for (int attempt = 0; attempt < 3; attempt++)
            {
                var current = await store.TryGetEntryAsync<byte[]>(entryKey, cancellationToken: ct).ConfigureAwait(false);
                if (!current.Success)
                {
                    if (owned is not null) Registrations.TryRemove(id, out _);
                    throw new SeaportNotFoundException($"No registration with id '{id}'.");
                }
                var entry = SeaportEntryCodec.Decode(entryKey, current.Value.Value, index.Trust, out var problem);
                if (entry is null && index.Restricted)
                    throw new SeaportRejectedException($"Registration '{id}' is not a valid authorized entry ({problem}); not freed.");
                if (entry is { Live: false })
                {
                    if (owned is not null) Registrations.TryRemove(id, out _);
                    throw new SeaportNotFoundException($"Registration '{id}' is already freed.");
                }
                // Over an unverifiable value: our own registration if it is ours, else a bare tombstone (which readers
                // must still parse: a timeout within the codec's bounds).
                var basis = entry ?? owned?.Entry;
                var tombstoneOf = basis ?? new SeaportEntry { Id = id, Name = "", Host = "", TimeoutMs = Math.Clamp((long)config.Seaport.EffectiveTimeout.TotalMilliseconds, 1, SeaportEntryCodec.MaxTimeoutMs) };
                var tombstone = tombstoneOf with { Live = false, Time = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() };
                var put = await store.TryUpdateAsync(entryKey, SeaportEntryCodec.Encode(tombstone, key), current.Value.Revision, cancellationToken: ct).ConfigureAwait(false);
                if (!put.Success) continue;
                if (owned is not null) Registrations.TryRemove(id, out _);
                // The tombstone stays (reaped after a timeout): the owner and every watcher can check who freed it.
                if (basis is not null && !keepClaims) await SeaportClaims.ReleaseAsync(store, basis, ct).ConfigureAwait(false);
                await index.WaitForRevisionAsync(put.Value, ct).ConfigureAwait(false);
                return SeaportIndex.ToService(entry ?? tombstoneOf, current.Value.Revision, current.Value.Created);
            }
            throw new SeaportConflictException($"Registration '{id}' changed concurrently three times; not freed.");
        }
        finally { owned?.Lock.Release(); }
    }

    /// <summary>seaport's set(): merges <paramref name="changes"/> into the registration's metadata (a null value removes
    /// the key), signed by this identity, compare-and-set on the revision. Returns the updated service.</summary>
    public static async Task<SeaportService> SetMetaAsync(RemoteOpsConfig config, string id, IReadOnlyDictionary<string, string?> changes, CancellationToken ct)
    {
        ValidateId(id);
        foreach (var k in changes.Keys) SeaportMeta.ValidateKey(k);
        var index = await SeaportIndex.GetAsync(config, ct).ConfigureAwait(false);
        var store = index.Store;
        var key = SeaportIdentity(config, index);
        var owned = OwnedThrough(config, id);
        if (owned is not null) await owned.Lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var entryKey = SeaportEntry.KeyFor(id);
            for (int attempt = 0; attempt < 3; attempt++)
            {
                var current = await store.TryGetEntryAsync<byte[]>(entryKey, cancellationToken: ct).ConfigureAwait(false);
                if (!current.Success || index.Find(id) is null && !Registrations.ContainsKey(id))
                    throw new SeaportNotFoundException($"No live registration with id '{id}'.");
                var entry = SeaportEntryCodec.Decode(entryKey, current.Value.Value, index.Trust, out var problem)
                    ?? throw new SeaportRejectedException($"Registration '{id}' is not a valid entry ({problem}); not updated.");
                if (!entry.Live) throw new SeaportNotFoundException($"Registration '{id}' is freed.");
                var meta = new Dictionary<string, string>(entry.Meta);
                foreach (var (k, v) in changes)
                    if (v is null) meta.Remove(k); else meta[k] = v;
                var updated = entry with { Meta = meta, Time = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() };
                SeaportRegistration.CheckFits(updated, index.ServerMaxPayload);
                var put = await store.TryUpdateAsync(entryKey, SeaportEntryCodec.Encode(updated, key), current.Value.Revision, cancellationToken: ct).ConfigureAwait(false);
                if (!put.Success) continue;
                updated = updated with { Signer = key.PublicBase58 };
                if (owned is not null) { owned.Entry = updated with { Signer = "" }; owned.Revision = put.Value; }
                await index.WaitForRevisionAsync(put.Value, ct).ConfigureAwait(false);
                return SeaportIndex.ToService(updated, put.Value, DateTimeOffset.UtcNow);
            }
            throw new SeaportConflictException($"Registration '{id}' changed concurrently three times; not updated.");
        }
        finally { owned?.Lock.Release(); }
    }

    /// <summary>The identity that signs updates; refused up front when seaport.authorized would reject it anyway.</summary>
    private static SigningKey SeaportIdentity(RemoteOpsConfig config, SeaportIndex index)
    {
        var (_, key) = IdentityStore.Resolve(config);
        if (!index.Trust.IsAuthorized(SeaportEntryCodec.TrustScope, key.PublicBase58))
            throw new SeaportRejectedException($"This identity ({key.PublicBase58}) is not in seaport.authorized: the registry would reject its updates.");
        return key;
    }

    /// <summary>Frees every registration of this process (process exit: a clean shutdown is Freed, not Expired).</summary>
    public static void FreeAllAtExit() => FreeOwned(Registrations.Keys.ToList(), TimeSpan.FromSeconds(3));

    /// <summary>Frees those of <paramref name="ids"/> this process still keeps alive, in parallel, waiting at most
    /// <paramref name="budget"/> (closing sessions and exiting processes: what is not freed by then expires).</summary>
    public static void FreeOwned(IEnumerable<string> ids, TimeSpan budget)
    {
        var owned = ids.Select(id => Registrations.GetValueOrDefault(id)).OfType<Owned>().ToList();
        if (owned.Count == 0) return;
        using var limit = new CancellationTokenSource(budget);
        try
        {
            Task.WhenAll(owned.Select(o => FreeQuietlyAsync(o.Config, o.Entry.Id, limit.Token))).Wait(limit.Token);
        }
        catch (Exception) { /* out of time or failing: the rest expires */ }
    }

    /// <summary>Frees one of this process's registrations, ignoring failures (Start-SeaportService while its command is down).</summary>
    public static async Task FreeQuietlyAsync(RemoteOpsConfig config, string id, CancellationToken ct, bool keepClaims = false)
    {
        try { await FreeAsync(config, id, keepClaims, ct).ConfigureAwait(false); }
        catch (Exception e) when (e is SeaportNotFoundException or SeaportConflictException or SeaportUnavailableException or SeaportRejectedException || SeaportStore.IsAvailabilityProblem(e)) { }
    }
}
