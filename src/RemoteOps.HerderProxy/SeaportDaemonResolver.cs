using System.Net;
using System.Net.NetworkInformation;
using RemoteOps.Config;
using RemoteOps.Herder;
using RemoteOps.Seaport;

namespace RemoteOps.HerderProxy;

/// <summary>
/// Finds daemons in seaport's registry, where herder registers each as <c>&lt;name&gt;@0.0.0</c> with its ports: a live,
/// verified entry of that role whose host is this machine (its host name, localhost, or one of its addresses); its
/// first port is the one proxied. Several such entries (a daemon registered twice): the latest registered wins.
/// </summary>
public sealed class SeaportDaemonResolver(RemoteOpsConfig config) : IHerderDaemonResolver
{
    /// <summary>The version every daemon is registered with.</summary>
    public const string DaemonVersion = "0.0.0";

    public async ValueTask<HerderDaemonEndpoint?> ResolveAsync(string name, CancellationToken ct)
    {
        if (!HerderProxyRoutes.TryValidateDaemonName(name, out _)) return null;
        var index = await SeaportIndex.GetAsync(config, ct).ConfigureAwait(false);
        var match = index.Query(SeaportPattern.Parse($"{name}@{DaemonVersion}"))
            .Where(s => s.Name == name && s.Version == DaemonVersion && s.Port > 0 && IsThisMachine(s.HostName))
            .OrderByDescending(s => s.Registered).FirstOrDefault();
        if (match is null) return null;
        // A name is reached over loopback (the daemon is here); an address of this machine as it is (it may listen only there).
        var host = IPAddress.TryParse(match.HostName, out var ip) && !IPAddress.IsLoopback(ip) ? ip.ToString() : "127.0.0.1";
        return new HerderDaemonEndpoint(name, host, match.Port);
    }

    /// <summary>This machine's host name (as seaport registers it), localhost, a loopback address, or one of its interfaces' addresses.</summary>
    internal static bool IsThisMachine(string host)
    {
        if (string.IsNullOrEmpty(host)) return false;
        if (host.Equals(Dns.GetHostName(), StringComparison.OrdinalIgnoreCase) || host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return true;
        if (!IPAddress.TryParse(host, out var ip)) return false;
        if (IPAddress.IsLoopback(ip)) return true;
        try
        {
            return NetworkInterface.GetAllNetworkInterfaces()
                .SelectMany(n => n.GetIPProperties().UnicastAddresses).Any(a => a.Address.Equals(ip));
        }
        catch (NetworkInformationException) { return false; }
    }
}
