using System.Collections.Concurrent;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using RemoteOps.Config;
using RemoteOps.Messaging;

namespace RemoteOps.Seaport;

/// <summary>The seaport bucket on a connection: found or created once per process.</summary>
internal static class SeaportStore
{
    private static readonly ConcurrentDictionary<(NatsConnection, string), INatsKVStore> Stores = new();

    /// <summary>Backstop for keys nobody reaps (heartbeats re-put entries far more often than this).</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromDays(1);

    public static async Task<NatsConnection> ConnectAsync(RemoteOpsConfig config, CancellationToken ct)
    {
        try
        {
            // A connection that is reconnecting is waited for a bounded time (NatsConnectionPool.ReconnectWait), then
            // reported: "unreachable", not a hang.
            return await RemoteOps.Messaging.NatsConnectionPool.GetAsync(config, ct).ConfigureAwait(false);
        }
        catch (RemoteOpsConnectionException e)
        {
            throw new SeaportUnavailableException($"The seaport registry is unreachable: {e.Message}", e);
        }
    }

    public static async Task<INatsKVStore> GetAsync(NatsConnection connection, string bucket, CancellationToken ct)
    {
        if (Stores.TryGetValue((connection, bucket), out var cached)) return cached;
        var kv = new NatsKVContext(new NatsJSContext(connection));
        INatsKVStore store;
        try
        {
            try
            {
                store = await kv.GetStoreAsync(bucket, ct).ConfigureAwait(false);
            }
            catch (NatsJSApiException e) when (e.Error.Code == 404)
            {
                store = await kv.CreateStoreAsync(new NatsKVConfig(bucket)
                {
                    History = 1,
                    MaxAge = MaxAge,
                    Description = "RemoteOps seaport service registry",
                }, ct).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is NatsJSApiException { Error.Code: 503 } or NatsNoRespondersException
                                   || e is NatsJSException && e.Message.Contains("no responders", StringComparison.OrdinalIgnoreCase))
        {
            throw new SeaportUnavailableException($"The seaport registry is unavailable: JetStream is not enabled on {connection.ServerInfo?.Host ?? "the server"}:{connection.ServerInfo?.Port} (start nats-server with -js).", e);
        }
        catch (Exception e) when (e is NatsException or TimeoutException)
        {
            throw new SeaportUnavailableException($"The seaport registry (bucket '{bucket}') is unavailable: {e.Message}", e);
        }
        return Stores.GetOrAdd((connection, bucket), store);
    }

    /// <summary>A key-safe form of a host name, for port claims (<c>p.&lt;host&gt;.&lt;port&gt;</c>).</summary>
    public static string HostKey(string host)
    {
        var h = host.Trim().ToLowerInvariant();
        return h.Length > 0 && h.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') && h[0] != '.' && h[^1] != '.' && !h.Contains("..")
            ? h
            : "x" + Convert.ToHexStringLower(System.Text.Encoding.UTF8.GetBytes(h));
    }

    public static string ClaimKey(string host, int port) => $"p.{HostKey(host)}.{port}";

    public static bool IsAvailabilityProblem(Exception e) => e is NatsException or TimeoutException; // NatsJSException is a NatsException
}
