using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using NATS.Client.Core;

namespace RemoteOps.Messaging;

/// <summary>Everything tied to one shared connection: its key-value buckets, shared subscriptions, replay registry, indexes and
/// background loops (registered with <see cref="GetOrAdd{T}"/>), and the confirmation of its sends. One shutdown path:
/// <see cref="DisposeAsync"/> (Disconnect-RemoteOps) confirms pending sends, cancels <see cref="Stopping"/> (loops end),
/// disposes what was registered and closes the connection, so no cache keeps a closed connection alive.</summary>
public sealed class ConnectionContext : IAsyncDisposable
{
    private static readonly ConditionalWeakTable<NatsConnection, ConnectionContext> ByConnection = new();
    private readonly ConcurrentDictionary<object, Lazy<object>> _items = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly SendConfirmer _confirmer;
    private int _disposed;

    public ConnectionContext(NatsConnection connection)
    {
        Connection = connection;
        _confirmer = new SendConfirmer(connection);
        ByConnection.AddOrUpdate(connection, this);
    }

    public NatsConnection Connection { get; }

    /// <summary>Cancelled when the context shuts down: background loops tied to this connection watch it.</summary>
    public CancellationToken Stopping => _stopping.Token;

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>First sightings of message hashes on this connection, shared by every replay guard reading it.</summary>
    public ReplayRegistry Replays { get; } = new();

    /// <summary>The context of a pooled connection (null for one the pool did not make).</summary>
    public static ConnectionContext? Of(NatsConnection connection) => ByConnection.TryGetValue(connection, out var c) ? c : null;

    /// <summary>The item under <paramref name="key"/>, made once per connection. Items that are disposable are disposed
    /// at shutdown. Keys should be value tuples naming the owner, e.g. ("kv", bucket).</summary>
    public T GetOrAdd<T>(object key, Func<ConnectionContext, T> create) where T : class
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return (T)_items.GetOrAdd(key, _ => new Lazy<object>(() => create(this))).Value;
    }

    /// <summary>Forgets <paramref name="value"/> under <paramref name="key"/> (e.g. a subscription whose last user left),
    /// unless another item has taken its place.</summary>
    public void Remove(object key, object value)
    {
        if (_items.TryGetValue(key, out var lazy) && lazy.IsValueCreated && ReferenceEquals(lazy.Value, value))
            _items.TryRemove(new KeyValuePair<object, Lazy<object>>(key, lazy));
    }

    /// <summary>Notes that something was published; it is confirmed by a PING shortly after, off the sender's path.</summary>
    public void MarkUnconfirmed() => _confirmer.Kick();

    /// <summary>One PING round trip (bounded) when sends are not yet confirmed; for shutdown and process exit.</summary>
    public Task ConfirmSendsAsync()
    {
        if (!_confirmer.Unconfirmed || Connection.ConnectionState == NatsConnectionState.Closed) return Task.CompletedTask;
        try { return Connection.PingAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5)); }
        catch (Exception) { return Task.CompletedTask; /* disposed or failing: nothing more to do */ }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try { await ConfirmSendsAsync().ConfigureAwait(false); }
        catch (Exception) { /* closing anyway */ }
        _stopping.Cancel();
        foreach (var lazy in _items.Values.ToArray())
        {
            if (!lazy.IsValueCreated) continue;
            var value = lazy.Value;
            try
            {
                if (value is IAsyncDisposable ad) await ad.DisposeAsync().ConfigureAwait(false);
                else if (value is IDisposable d) d.Dispose();
            }
            catch (Exception) { /* one item failing to close must not keep the connection open */ }
        }
        _items.Clear();
        await Connection.DisposeAsync().ConfigureAwait(false);
        // _stopping is not disposed: loops may still read Stopping after the shutdown, and must see it cancelled.
    }

    /// <summary>Confirms a connection's sends off their path. The original remaphore flushes (a PING/PONG round trip) after
    /// each message because its process exits next; here the message is handed to the connection, whose write loop puts
    /// it on the socket at once, and the round trip that confirms it follows a little later: the first send after a quiet
    /// moment schedules one PING <see cref="Delay"/> later, which covers every send until it is written; sends during it
    /// schedule one more. A loop of sends costs one round trip per <see cref="Delay"/>, a single send one round trip, and
    /// neither waits for it. (A PING right behind each message cost 5–8 µs per Send→Wait on a 2-core machine.)</summary>
    private sealed class SendConfirmer(NatsConnection connection)
    {
        public static readonly TimeSpan Delay = TimeSpan.FromMilliseconds(20);
        private int _dirty;     // sent on since the last PING was written
        private int _scheduled; // a background flush is pending or running

        public bool Unconfirmed => Volatile.Read(ref _dirty) != 0 || Volatile.Read(ref _scheduled) != 0;

        public void Kick()
        {
            Volatile.Write(ref _dirty, 1);
            if (Volatile.Read(ref _scheduled) == 0 && Interlocked.CompareExchange(ref _scheduled, 1, 0) == 0) _ = RunAsync();
        }

        private async Task RunAsync()
        {
            while (true)
            {
                await Task.Delay(Delay).ConfigureAwait(false);
                if (Interlocked.Exchange(ref _dirty, 0) != 0)
                {
                    try { await connection.PingAsync().ConfigureAwait(false); }
                    catch (ObjectDisposedException) { Interlocked.Exchange(ref _scheduled, 0); return; }
                    catch (Exception) { /* failing: the next send reports it; the exit flush tries again */ }
                }
                if (Volatile.Read(ref _dirty) != 0) continue;
                // Stand down, unless a send slipped in (it either sees _scheduled == 0 and starts a flush, or we see it).
                Interlocked.Exchange(ref _scheduled, 0);
                if (Volatile.Read(ref _dirty) == 0 || Interlocked.CompareExchange(ref _scheduled, 1, 0) != 0) return;
            }
        }
    }
}
