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
    /// <summary>Backstop for keys nobody reaps (heartbeats re-put entries far more often than this).</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromDays(1);

    public static async Task<NatsConnection> ConnectAsync(RemoteOpsConfig config, CancellationToken ct)
    {
        try
        {
            // A connection that is reconnecting is waited for a bounded time (ConnectionPool.ReconnectWait), then
            // reported: "unreachable", not a hang.
            return await ConnectionPool.GetAsync(config, ct).ConfigureAwait(false);
        }
        catch (RemoteOpsConnectionException e)
        {
            throw new SeaportUnavailableException($"The seaport registry is unreachable: {e.Message}", e);
        }
    }

    /// <summary>The registry bucket, created when missing with <paramref name="replicas"/> JetStream replicas (the
    /// top-level <c>replicas</c>: 3 on a cluster, so that losing a server loses no registration).</summary>
    public static async Task<INatsKVStore> GetAsync(NatsConnection connection, string bucket, int replicas, CancellationToken ct)
    {
        try
        {
            return (await KvBuckets.GetAsync(connection, bucket, () => new NatsKVConfig(bucket)
            {
                History = 1,
                MaxAge = MaxAge,
                NumberOfReplicas = replicas,
                Description = "RemoteOps seaport service registry",
            }, ct).ConfigureAwait(false))!;
        }
        catch (Exception e) when (NatsFailures.Translate(e, NatsFailures.IsJetStreamMissing(e) ? "The seaport registry" : $"The seaport registry (bucket '{bucket}')", connection) is { } failure)
        {
            throw new SeaportUnavailableException(failure.Message, e);
        }
    }

    /// <summary>A key-safe form of a host name, for port claims (<c>p.&lt;host&gt;.&lt;port&gt;</c>): host names are
    /// case-insensitive, and a dot may not start, end or double up in a key.</summary>
    public static string HostKey(string host)
    {
        var h = host.Trim().ToLowerInvariant();
        return KvBuckets.KeyToken(h, t => KvBuckets.IsKey(t) && !t.Contains("..") && t.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'));
    }

    public static string ClaimKey(string host, int port) => $"p.{HostKey(host)}.{port}";

    public static bool IsAvailabilityProblem(Exception e) => NatsFailures.IsNats(e);
}
