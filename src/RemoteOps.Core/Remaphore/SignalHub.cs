using System.Buffers;
using System.Diagnostics;
using System.Threading.Channels;
using NATS.Client.Core;

namespace RemoteOps.Remaphore;

/// <summary>One message as a waiter receives it: the bytes, decoded and signature-checked once for the whole process.</summary>
public readonly record struct SignalDelivery(byte[] Raw, Envelope Envelope, long ReceivedAt);

/// <summary>One NATS subscription per (connection, subject) in this process, shared by every waiter on it. Each message
/// is copied, decoded and its signature verified once, on the connection's reader as it arrives (NatsSubBase), then
/// handed to every registered waiter: 100 waiters in a session cost the server one delivery and the client one
/// verification, instead of a hundred. What each waiter accepts (peers, verbs, destination, time, replay, filters)
/// it still decides itself.</summary>
public static class SignalHub
{
    private static readonly Dictionary<(NatsConnection, string), HubSubscription> Hubs = new();
    private static readonly object Gate = new();

    /// <summary>A waiter's inbox; dispose it to leave the hub (the last one out unsubscribes).</summary>
    public sealed class Registration : IAsyncDisposable
    {
        private readonly HubSubscription _hub;
        internal readonly Channel<SignalDelivery> Channel;
        private int _dropped;
        private int _disposed;

        internal Registration(HubSubscription hub, int capacity)
        {
            _hub = hub;
            Channel = System.Threading.Channels.Channel.CreateBounded<SignalDelivery>(new BoundedChannelOptions(capacity)
            {
                SingleReader = true,
                SingleWriter = true,
                FullMode = BoundedChannelFullMode.Wait,
                AllowSynchronousContinuations = false,
            });
        }

        public ChannelReader<SignalDelivery> Reader => Channel.Reader;

        /// <summary>Messages dropped because this waiter fell behind; read and reset.</summary>
        public int TakeDropped() => Interlocked.Exchange(ref _dropped, 0);

        internal void Offer(in SignalDelivery delivery)
        {
            if (!Channel.Writer.TryWrite(delivery)) Interlocked.Increment(ref _dropped);
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            Channel.Writer.TryComplete();
            HubSubscription? last = null;
            lock (Gate)
            {
                if (_hub.Remove(this) == 0 && Hubs.TryGetValue(_hub.Key, out var current) && current == _hub)
                {
                    Hubs.Remove(_hub.Key);
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

    /// <summary>Joins (or opens) the subscription for <paramref name="subject"/> on <paramref name="connection"/>.
    /// The caller should then make sure the server has it (a PING round trip).</summary>
    public static async Task<Registration> RegisterAsync(NatsConnection connection, string subject, int capacity, CancellationToken cancellationToken)
    {
        HubSubscription hub;
        Registration registration;
        bool created = false;
        lock (Gate)
        {
            if (!Hubs.TryGetValue((connection, subject), out hub!) || hub.Ended)
            {
                hub = new HubSubscription(connection, subject);
                Hubs[(connection, subject)] = hub;
                created = true;
            }
            registration = new Registration(hub, capacity);
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

    internal sealed class HubSubscription : NatsSubBase
    {
        private Registration[] _registrations = [];
        private volatile bool _ended;

        public HubSubscription(NatsConnection connection, string subject)
            : base(connection, ((INatsConnection)connection).SubscriptionManager, subject, queueGroup: null, opts: null)
        {
            Key = (connection, subject);
        }

        public (NatsConnection, string) Key { get; }
        public TaskCompletionSource Added { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public bool Ended => _ended;

        public void Add(Registration r) => _registrations = [.. _registrations, r];

        /// <summary>Returns how many remain. Called under the hub gate.</summary>
        public int Remove(Registration r)
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
                var delivery = new SignalDelivery(raw, RemaphoreVerifier.Open(raw), at);
                foreach (var r in _registrations) r.Offer(delivery);
            }
            catch (Exception)
            {
                // A message we cannot even open is dropped; each waiter's verification reports bad input it receives.
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
