using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace RemoteOps.Remaphore;

/// <summary>Replay protection, keyed by the message hash (as the original's reply subject is).
/// A message is valid only within allow_skew of our clock, so a hash need be remembered only until its
/// message time plus the skew has passed: memory is bounded by the message rate times the window, and
/// hard-capped.
/// <para>Scope: one registry per process remembers when each hash was first seen; each waiter (one
/// Wait-Remaphore or Invoke-Remaphore) accepts a hash once, and only if it was first seen after the waiter
/// subscribed. Two concurrent waiters both act on one message (as two remaphore processes would); a
/// later waiter in the same session does not act on a copy of a message that arrived before it listened.</para></summary>
public sealed class ReplayGuard
{
    /// <summary>Most hashes remembered process-wide; past this, new messages are dropped rather than risk a replay.</summary>
    public const int Capacity = 1_000_000;

    private static readonly ConcurrentDictionary<Hash32, Seen> Global = new();
    private static long _lastPurge;
    /// <summary>Approximate size of <see cref="Global"/> (ConcurrentDictionary.Count takes every lock).</summary>
    private static int _globalCount;
    private static int _insertsSincePurge;

    private readonly ConcurrentDictionary<Hash32, long> _local = new();
    private readonly long _since;
    private readonly TimeSpan _skew;
    private int _localInserts;

    private readonly record struct Seen(long FirstSeen, long ExpiresNanos);

    /// <param name="skew">allow_skew: how long a message stays valid either side of its time.</param>
    public ReplayGuard(TimeSpan skew)
    {
        _skew = skew;
        _since = Stopwatch.GetTimestamp();
    }

    /// <summary>True when the message is new to this waiter; else false with the reason.</summary>
    public bool TryAccept(ReadOnlySpan<byte> hash, long messageTimeNanos, long nowNanos, out string reason)
    {
        var key = Hash32.From(hash);
        var expires = messageTimeNanos + (long)_skew.TotalNanoseconds + 1_000_000_000L;
        if (Volatile.Read(ref _globalCount) >= Capacity)
        {
            PurgeGlobal(nowNanos, force: true);
            if (Volatile.Read(ref _globalCount) >= Capacity)
            {
                reason = $"replay cache full ({Capacity} messages inside the skew window); dropped rather than risk a replay";
                return false;
            }
        }
        if (!Global.TryGetValue(key, out var seen))
        {
            var fresh = new Seen(Stopwatch.GetTimestamp(), expires);
            seen = Global.GetOrAdd(key, fresh);
            if (seen == fresh) Interlocked.Increment(ref _globalCount);
        }
        if (Interlocked.Increment(ref _insertsSincePurge) >= 4096) PurgeGlobal(nowNanos, force: false);
        if (seen.FirstSeen < _since)
        {
            reason = "replay: this message was already received before this wait began";
            return false;
        }
        if (!_local.TryAdd(key, expires))
        {
            reason = "replay: this message was already received";
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

    private static void PurgeGlobal(long nowNanos, bool force)
    {
        var last = Interlocked.Read(ref _lastPurge);
        var nowTicks = Stopwatch.GetTimestamp();
        if (!force && Stopwatch.GetElapsedTime(last, nowTicks) < TimeSpan.FromSeconds(1)) return;
        if (Interlocked.CompareExchange(ref _lastPurge, nowTicks, last) != last) return;
        Interlocked.Exchange(ref _insertsSincePurge, 0);
        foreach (var (k, s) in Global)
            if (s.ExpiresNanos < nowNanos && Global.TryRemove(k, out _)) Interlocked.Decrement(ref _globalCount);
    }

    /// <summary>How many hashes the process remembers (for tests and diagnostics).</summary>
    public static int RememberedCount => Volatile.Read(ref _globalCount);

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
