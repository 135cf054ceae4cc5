using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NATS.Client.KeyValueStore;

namespace RemoteOps.Seaport;

/// <summary>Port claims: key <c>p.&lt;host&gt;.&lt;port&gt;</c>, value <c>&lt;id&gt;,&lt;unix ms&gt;</c>, written with
/// create-if-absent (or compare-and-set over a dead owner's claim), so two concurrent registrations never get the same
/// port. A claim is a lock, not trusted data: it is not signed, and a claim whose owner is neither live nor new
/// (younger than the timeout) may be taken over.</summary>
internal static class SeaportClaims
{
    public static byte[] Value(string id) => Encoding.UTF8.GetBytes($"{id},{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}");

    private static (string Owner, DateTimeOffset Time) Read(byte[]? value)
    {
        var s = value is null ? "" : Encoding.UTF8.GetString(value);
        var comma = s.LastIndexOf(',');
        if (comma < 0 || !long.TryParse(s.AsSpan(comma + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var ms)) return (s, DateTimeOffset.MinValue);
        return (s[..comma], DateTimeOffset.FromUnixTimeMilliseconds(ms));
    }

    /// <summary>Claims (host, port) for <paramref name="id"/>. False when another live or new registration holds it.</summary>
    public static async Task<bool> TryClaimAsync(INatsKVStore store, SeaportIndex index, string host, int port, string id, TimeSpan timeout, CancellationToken ct)
    {
        var key = SeaportStore.ClaimKey(host, port);
        for (int attempt = 0; attempt < 3; attempt++)
        {
            var created = await store.TryCreateAsync(key, Value(id), cancellationToken: ct).ConfigureAwait(false);
            if (created.Success) return true;
            var current = await store.TryGetEntryAsync<byte[]>(key, cancellationToken: ct).ConfigureAwait(false);
            if (!current.Success) continue; // deleted meanwhile: create again
            var (owner, time) = Read(current.Value.Value);
            if (owner == id) return true;
            if (index.IdHeld(owner) || DateTimeOffset.UtcNow - time < timeout) return false;
            var taken = await store.TryUpdateAsync(key, Value(id), current.Value.Revision, cancellationToken: ct).ConfigureAwait(false);
            if (taken.Success) return true;
        }
        return false;
    }

    /// <summary>Removes the claims on <paramref name="ports"/> of <paramref name="host"/>, where they are still <paramref name="id"/>'s.</summary>
    public static async Task ReleaseAsync(INatsKVStore store, string id, string host, IEnumerable<int> ports, CancellationToken ct = default)
    {
        foreach (var port in ports.Distinct())
        {
            var key = SeaportStore.ClaimKey(host, port);
            var current = await store.TryGetEntryAsync<byte[]>(key, cancellationToken: ct).ConfigureAwait(false);
            if (current.Success && Read(current.Value.Value).Owner == id)
                await store.TryDeleteAsync(key, new NatsKVDeleteOpts { Revision = current.Value.Revision }, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Removes the claims an entry holds.</summary>
    public static Task ReleaseAsync(INatsKVStore store, SeaportEntry entry, CancellationToken ct = default) =>
        ReleaseAsync(store, entry.Id, entry.Host, entry.Ports.Values.Append(entry.Port), ct);

    /// <summary>True when a TCP listener could bind the port on this machine right now (any address, IPv4 and IPv6).</summary>
    public static bool CanBind(int port)
    {
        try
        {
            using var v4 = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            v4.Bind(new IPEndPoint(IPAddress.Any, port));
        }
        catch (SocketException) { return false; }
        if (!Socket.OSSupportsIPv6) return true;
        try
        {
            using var v6 = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
            v6.DualMode = false;
            v6.Bind(new IPEndPoint(IPAddress.IPv6Any, port));
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse) { return false; }
        catch (SocketException) { /* no IPv6 on this host */ }
        return true;
    }
}
