using System.Buffers;
using System.Diagnostics;
using System.Threading.Channels;
using NATS.Client.Core;

namespace RemoteOps.Messaging;

/// <summary>One message as a reader receives it: the bytes, and what the subscription's decode step made of them
/// (for signed messages: decoded and signature-checked once for the whole process).</summary>
public readonly record struct Delivery<T>(byte[] Raw, T Decoded, long ReceivedAt);

/// <summary>One NATS subscription per (connection, subject, decoded type) in this process, shared by every reader on
/// it. Each message is copied and decoded once, on the connection's reader as it arrives (NatsSubBase), then handed to
/// every registered reader: 100 waiters in a session cost the server one delivery and the client one decode (one
/// signature check), instead of a hundred. What each reader accepts it still decides itself. The subscriptions live in
/// the connection's <see cref="ConnectionContext"/> and end with it.</summary>
public static class SharedSubscription
{
    private static readonly object Gate = new();

    /// <summary>A waiter's inbox; dispose it to leave the hub (the last one out unsubscribes).</summary>
    public sealed class Registration<T> : IAsyncDisposable
    {
        private readonly HubSubscription<T> _hub;
        internal readonly Channel<Delivery<T>> Channel;
        private int _dropped;
        private int _disposed;

        internal Registration(HubSubscription<T> hub, int capacity)
        {
            _hub = hub;
            Channel = System.Threading.Channels.Channel.CreateBounded<Delivery<T>>(new BoundedChannelOptions(capacity)
            {
                SingleReader = true,
                SingleWriter = true,
                FullMode = BoundedChannelFullMode.Wait,
                AllowSynchronousContinuations = false,
            });
        }

        public ChannelReader<Delivery<T>> Reader => Channel.Reader;

        /// <summary>Messages dropped because this waiter fell behind; read and reset.</summary>
        public int TakeDropped() => Interlocked.Exchange(ref _dropped, 0);

        internal void Offer(in Delivery<T> delivery)
        {
            if (!Channel.Writer.TryWrite(delivery)) Interlocked.Increment(ref _dropped);
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            Channel.Writer.TryComplete();
            HubSubscription<T>? last = null;
            lock (Gate)
            {
                if (_hub.Remove(this) == 0)
                {
                    _hub.Context.Remove(_hub.Key, _hub);
                    last = _hub;
                }
            }
            if (last is not null)
            {
                try { await last.DisposeAsync().ConfigureAwait(false); }
                catch (Exception e) when (e is NatsException or ObjectDisposedException or InvalidOperationException) { }
            }
        }
    }

    /// <summary>Joins (or opens) the subscription for <paramref name="subject"/> on a pooled <paramref name="connection"/>,
    /// whose messages <paramref name="decode"/> turns into <typeparamref name="T"/> (it must not throw, and should be one
    /// static function per type: the first registration's is used). The caller should then make sure the server has the
    /// subscription (a PING round trip).</summary>
    public static async Task<Registration<T>> RegisterAsync<T>(NatsConnection connection, string subject, Func<byte[], T> decode, int capacity, CancellationToken cancellationToken)
    {
        var context = ConnectionContext.Of(connection) ?? throw new InvalidOperationException("Shared subscriptions need a connection from the ConnectionPool.");
        var key = ("sub", subject, typeof(T));
        HubSubscription<T> hub;
        Registration<T> registration;
        bool created = false;
        lock (Gate)
        {
            hub = context.GetOrAdd(key, c => new HubSubscription<T>(c, key, subject, decode));
            if (hub.Ended)
            {
                context.Remove(key, hub);
                hub = context.GetOrAdd(key, c => new HubSubscription<T>(c, key, subject, decode));
            }
            created = !hub.Started;
            hub.Started = true;
            registration = new Registration<T>(hub, capacity);
            hub.Add(registration);
        }
        if (created)
        {
            try
            {
                await connection.AddSubAsync(hub, cancellationToken).ConfigureAwait(false);
                hub.Added.TrySetResult();
            }
            catch (Exception e)
            {
                hub.Added.TrySetException(e);
                await registration.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        else
        {
            try { await hub.Added.Task.WaitAsync(cancellationToken).ConfigureAwait(false); }
            catch
            {
                await registration.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        return registration;
    }

    internal sealed class HubSubscription<T> : NatsSubBase
    {
        private readonly Func<byte[], T> _decode;
        private Registration<T>[] _registrations = [];
        private volatile bool _ended;

        public HubSubscription(ConnectionContext context, object key, string subject, Func<byte[], T> decode)
            : base(context.Connection, ((INatsConnection)context.Connection).SubscriptionManager, subject, queueGroup: null, opts: null)
        {
            Context = context;
            Key = key;
            _decode = decode;
        }

        public ConnectionContext Context { get; }
        public object Key { get; }
        /// <summary>Whether a registration has asked the server for it (under the gate).</summary>
        public bool Started { get; set; }
        public TaskCompletionSource Added { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public bool Ended => _ended;

        public void Add(Registration<T> r) => _registrations = [.. _registrations, r];

        /// <summary>Returns how many remain. Called under the hub gate.</summary>
        public int Remove(Registration<T> r)
        {
            _registrations = _registrations.Where(x => x != r).ToArray();
            return _registrations.Length;
        }

        protected override ValueTask ReceiveInternalAsync(string subject, string? replyTo, ReadOnlySequence<byte>? headersBuffer, ReadOnlySequence<byte> payloadBuffer)
        {
            // On the connection's socket reader: copy, open once, hand out. Never throw (it would end the subscription).
            try
            {
                var at = Stopwatch.GetTimestamp();
                var raw = payloadBuffer.ToArray();
                var delivery = new Delivery<T>(raw, _decode(raw), at);
                foreach (var r in _registrations) r.Offer(delivery);
            }
            catch (Exception)
            {
                // A decode step must not throw; if one does, the message is dropped rather than ending the subscription.
            }
            return ValueTask.CompletedTask;
        }

        protected override void TryComplete()
        {
            _ended = true;
            foreach (var r in _registrations) r.Channel.Writer.TryComplete();
        }
    }
}
