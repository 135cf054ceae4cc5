using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace RemoteOps.Messaging;

/// <summary>Where a replay guard also records what it accepted, so that a replay is refused even after this process
/// restarts (steward's de-duplication of executed commands). Entries may be dropped after their expiry.</summary>
public interface IReplayStore
{
    /// <summary>Records <paramref name="hash"/> until <paramref name="expiresNanos"/> (unix nanoseconds); false when it
    /// was already recorded (a replay).</summary>
    bool TryRecord(ReadOnlySpan<byte> hash, long expiresNanos);
}

/// <summary>Replay protection, keyed by the message hash (as the original remaphore's reply subject is).
/// A message is valid only within allow_skew of our clock, so a hash need be remembered only until its
/// message time plus the skew has passed: memory is bounded by the message rate times the window, and
/// hard-capped.
/// <para>Scope: one registry per process remembers when each hash was first seen; each waiter (one
/// Wait-Remaphore or Invoke-Remaphore) accepts a hash once, and only if it was first seen after the waiter
/// subscribed. Two concurrent waiters both act on one message (as two remaphore processes would); a
/// later waiter in the same session does not act on a copy of a message that arrived before it listened.</para></summary>
public sealed class ReplayGuard
{
    /// <summary>Most hashes one registry remembers; past this, new messages are dropped rather than risk a replay.</summary>
    public const int Capacity = ReplayRegistry.Capacity;

    private readonly ReplayRegistry _registry;
    private readonly ConcurrentDictionary<Hash32, long> _local = new();
    private readonly long _since;
    private readonly long _skewNanos;
    private readonly IReplayStore? _store;
    private int _localInserts;

    /// <param name="skew">allow_skew: how long a message stays valid either side of its time.</param>
    /// <param name="store">Also record accepted hashes there (durable de-duplication); null keeps them in memory only.</param>
    /// <param name="registry">Where first sightings are remembered: the connection's (<see cref="ConnectionContext.Replays"/>),
    /// else the process's.</param>
    public ReplayGuard(TimeSpan skew, IReplayStore? store = null, ReplayRegistry? registry = null)
    {
        _skewNanos = (long)Math.Clamp(skew.TotalNanoseconds, 0, long.MaxValue);
        _store = store;
        _registry = registry ?? ReplayRegistry.Process;
        _since = Stopwatch.GetTimestamp();
    }

    /// <summary>a + b, held at long's bounds instead of wrapping: an expiry computed from a huge allow_skew or a time at
    /// the end of the range must not wrap into the past (which would forget the hash and accept its replay).</summary>
    private static long SaturatingAdd(long a, long b)
    {
        var sum = (Int128)a + b;
        return sum > long.MaxValue ? long.MaxValue : sum < long.MinValue ? long.MinValue : (long)sum;
    }

    /// <summary>True when the message is new to this waiter; else false with the reason.</summary>
    public bool TryAccept(ReadOnlySpan<byte> hash, long messageTimeNanos, long nowNanos, out string reason)
    {
        var key = Hash32.From(hash);
        var expires = SaturatingAdd(SaturatingAdd(messageTimeNanos, _skewNanos), 1_000_000_000L);
        if (!_registry.TryFirstSeen(key, expires, nowNanos, out var firstSeen))
        {
            reason = $"replay cache full ({Capacity} messages inside the skew window); dropped rather than risk a replay";
            return false;
        }
        if (firstSeen < _since)
        {
            reason = "replay: this message was already received before this wait began";
            return false;
        }
        if (!_local.TryAdd(key, expires))
        {
            reason = "replay: this message was already received";
            return false;
        }
        if (_store is not null && !_store.TryRecord(hash, expires))
        {
            reason = "replay: this message was already received (recorded before)";
            return false;
        }
        if (Interlocked.Increment(ref _localInserts) % 4096 == 0)
        {
            foreach (var (k, e) in _local)
                if (e < nowNanos) _local.TryRemove(k, out _);
        }
        reason = "";
        return true;
    }

    /// <summary>A SHA-256 as a value key.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public readonly record struct Hash32(ulong A, ulong B, ulong C, ulong D)
    {
        public static Hash32 From(ReadOnlySpan<byte> hash)
        {
            Span<byte> h = stackalloc byte[32];
            hash[..Math.Min(32, hash.Length)].CopyTo(h);
            var u = MemoryMarshal.Cast<byte, ulong>(h);
            return new Hash32(u[0], u[1], u[2], u[3]);
        }
    }
}

/// <summary>When each message hash was first seen, for every <see cref="ReplayGuard"/> over one connection (kept in its
/// <see cref="ConnectionContext"/>) or the process. A hash is forgotten once its message can no longer be valid.</summary>
public sealed class ReplayRegistry
{
    public const int Capacity = 1_000_000;

    /// <summary>For guards over no pooled connection.</summary>
    public static readonly ReplayRegistry Process = new();

    private readonly ConcurrentDictionary<ReplayGuard.Hash32, Seen> _seen = new();
    private long _lastPurge;
    /// <summary>Approximate size of the map (ConcurrentDictionary.Count takes every lock).</summary>
    private int _count;
    private int _insertsSincePurge;

    private readonly record struct Seen(long FirstSeen, long ExpiresNanos);

    /// <summary>When <paramref name="key"/> was first seen (now, if never); false when the registry is full.</summary>
    public bool TryFirstSeen(ReplayGuard.Hash32 key, long expiresNanos, long nowNanos, out long firstSeen)
    {
        firstSeen = 0;
        if (Volatile.Read(ref _count) >= Capacity)
        {
            Purge(nowNanos, force: true);
            if (Volatile.Read(ref _count) >= Capacity) return false;
        }
        if (!_seen.TryGetValue(key, out var seen))
        {
            var fresh = new Seen(Stopwatch.GetTimestamp(), expiresNanos);
            seen = _seen.GetOrAdd(key, fresh);
            if (seen == fresh) Interlocked.Increment(ref _count);
        }
        if (Interlocked.Increment(ref _insertsSincePurge) >= 4096) Purge(nowNanos, force: false);
        firstSeen = seen.FirstSeen;
        return true;
    }

    private void Purge(long nowNanos, bool force)
    {
        var last = Interlocked.Read(ref _lastPurge);
        var nowTicks = Stopwatch.GetTimestamp();
        if (!force && Stopwatch.GetElapsedTime(last, nowTicks) < TimeSpan.FromSeconds(1)) return;
        if (Interlocked.CompareExchange(ref _lastPurge, nowTicks, last) != last) return;
        Interlocked.Exchange(ref _insertsSincePurge, 0);
        foreach (var (k, s) in _seen)
            if (s.ExpiresNanos < nowNanos && _seen.TryRemove(k, out _)) Interlocked.Decrement(ref _count);
    }

    /// <summary>How many hashes are remembered (for tests and diagnostics).</summary>
    public int Count => Volatile.Read(ref _count);
}
