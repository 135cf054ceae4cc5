using NATS.Client.KeyValueStore;
using RemoteOps.Config;
using RemoteOps.Core.Tests.Remaphore;
using RemoteOps.Messaging;
using RemoteOps.Seaport;

namespace RemoteOps.Core.Tests.Messaging;

/// <summary>Disconnect shuts a connection's context down whole: nothing cached keeps the closed connection.</summary>
public class ConnectionContextTests(NatsFixture nats) : IClassFixture<NatsFixture>
{
    private sealed class Owned : IAsyncDisposable
    {
        public bool Disposed;
        public ValueTask DisposeAsync() { Disposed = true; return ValueTask.CompletedTask; }
    }

    private RemoteOpsConfig Config() => new()
    {
        Servers = [nats.Server.Url],
        Sections = [new SeaportConfig { Bucket = "cc_" + Guid.NewGuid().ToString("N")[..10] }],
    };

    [Fact]
    public async Task Disconnect_stops_the_context_disposes_what_it_owns_and_the_next_call_starts_afresh()
    {
        var config = Config();
        var context = await ConnectionPool.GetContextAsync(config);
        Assert.Same(context, ConnectionContext.Of(context.Connection));
        var owned = context.GetOrAdd(("test", 1), _ => new Owned());
        Assert.Same(owned, context.GetOrAdd(("test", 1), _ => new Owned()));
        var store = await KvBuckets.GetAsync(context.Connection, "cc_bucket", () => new NatsKVConfig("cc_bucket"), default);
        Assert.NotNull(store);
        var index = await SeaportIndex.GetAsync(config, default);

        Assert.Equal(1, await ConnectionPool.DisconnectAsync(config));

        Assert.True(owned.Disposed);
        Assert.True(context.IsDisposed);
        Assert.True(context.Stopping.IsCancellationRequested);
        Assert.Throws<ObjectDisposedException>(() => context.GetOrAdd(("test", 2), _ => new Owned()));

        // A new connection, with its own buckets and index, works at once.
        var fresh = await ConnectionPool.GetContextAsync(config);
        Assert.NotSame(context, fresh);
        var again = await KvBuckets.GetAsync(fresh.Connection, "cc_bucket", null, default);
        Assert.NotNull(again);
        await again!.PutAsync("k", new byte[] { 1 });
        var freshIndex = await SeaportIndex.GetAsync(config, default);
        Assert.NotSame(index, freshIndex);
        await ConnectionPool.DisconnectAsync(config);
    }

    [Fact]
    public async Task A_bucket_that_does_not_exist_is_null_when_nothing_may_create_it()
    {
        var config = Config();
        var connection = await ConnectionPool.GetAsync(config);
        Assert.Null(await KvBuckets.GetAsync(connection, "cc_missing_" + Guid.NewGuid().ToString("N")[..8], null, default));
    }

    [Theory]
    [InlineData("remaphore.all", "remaphore.all")]
    [InlineData("a b", "x612062")]
    [InlineData(".lead", "x2e6c656164")]
    [InlineData("", "x")]
    public void Key_tokens_keep_valid_keys_and_hex_anything_else(string text, string token) =>
        Assert.Equal(token, KvBuckets.KeyToken(text, KvBuckets.IsKey));
}
