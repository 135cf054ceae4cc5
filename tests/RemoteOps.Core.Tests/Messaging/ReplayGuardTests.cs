using System.Security.Cryptography;
using RemoteOps.Messaging;

namespace RemoteOps.Core.Tests.Messaging;

public class ReplayGuardTests
{
    private static long Now => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    /// <summary>A store as a persistent one behaves: it outlives the guards that use it.</summary>
    private sealed class MemoryStore : IReplayStore
    {
        public readonly Dictionary<string, long> Recorded = new();
        public bool TryRecord(ReadOnlySpan<byte> hash, long expiresNanos) => Recorded.TryAdd(Convert.ToHexString(hash), expiresNanos);
    }

    [Fact]
    public void A_hash_is_accepted_once_per_guard()
    {
        var guard = new ReplayGuard(TimeSpan.FromSeconds(5));
        var hash = RandomNumberGenerator.GetBytes(32);
        Assert.True(guard.TryAccept(hash, Now, Now, out _));
        Assert.False(guard.TryAccept(hash, Now, Now, out var reason));
        Assert.Contains("replay", reason);
    }

    [Fact]
    public void What_a_guard_accepts_is_recorded_in_its_store()
    {
        var store = new MemoryStore();
        var hash = RandomNumberGenerator.GetBytes(32);
        Assert.True(new ReplayGuard(TimeSpan.FromSeconds(5), store).TryAccept(hash, Now, Now, out _));
        Assert.Contains(Convert.ToHexString(hash), store.Recorded.Keys);
    }

    [Fact]
    public void A_hash_the_store_already_holds_is_refused_by_a_new_guard_as_after_a_restart()
    {
        var store = new MemoryStore();
        var hash = RandomNumberGenerator.GetBytes(32);
        var now = Now;
        store.TryRecord(hash, now + 10_000_000_000); // recorded by an earlier run of the process
        var guard = new ReplayGuard(TimeSpan.FromSeconds(5), store);
        Assert.False(guard.TryAccept(hash, now, now, out var reason));
        Assert.Contains("recorded before", reason);
    }

    [Fact]
    public void A_message_first_seen_before_a_guard_began_is_a_replay_for_it_within_one_registry_only()
    {
        var registry = new ReplayRegistry();
        var hash = RandomNumberGenerator.GetBytes(32);
        var now = Now;
        Assert.True(new ReplayGuard(TimeSpan.FromSeconds(5), registry: registry).TryAccept(hash, now, now, out _));
        Assert.False(new ReplayGuard(TimeSpan.FromSeconds(5), registry: registry).TryAccept(hash, now, now, out var reason));
        Assert.Contains("before this wait began", reason);
        // Another connection's registry never saw it.
        Assert.True(new ReplayGuard(TimeSpan.FromSeconds(5), registry: new ReplayRegistry()).TryAccept(hash, now, now, out _));
        Assert.Equal(1, registry.Count);
    }

    [Theory]
    [InlineData(100000 * 86400.0)]
    [InlineData(290 * 365 * 86400.0)]
    public void A_huge_allow_skew_does_not_wrap_the_expiry_into_the_past(double skewSeconds)
    {
        var store = new MemoryStore();
        var guard = new ReplayGuard(TimeSpan.FromSeconds(skewSeconds), store);
        var hash = RandomNumberGenerator.GetBytes(32);
        var messageTime = long.MaxValue - 1_000;
        Assert.True(guard.TryAccept(hash, messageTime, Now, out _));
        Assert.True(store.Recorded.Values.Single() >= messageTime, "the expiry must not wrap below the message time");
        Assert.False(guard.TryAccept(hash, messageTime, Now, out _));
    }
}
