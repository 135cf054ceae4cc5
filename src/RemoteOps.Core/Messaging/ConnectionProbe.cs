using System.Diagnostics;
using RemoteOps.Config;

namespace RemoteOps.Messaging;

/// <summary>Checks a config's connection (Get-RemoteOpsConfig -TestConnection) through the shared pool, so the
/// connection it opens is the one later cmdlet calls reuse.</summary>
public static class ConnectionProbe
{
    public static async Task<RemoteOpsConnectionInfo> TestAsync(RemoteOpsConfig config, CancellationToken cancellationToken = default)
    {
        try
        {
            var connection = await ConnectionPool.GetAsync(config, cancellationToken).ConfigureAwait(false);
            var rtt = await connection.PingAsync(cancellationToken).ConfigureAwait(false);
            var info = connection.ServerInfo;
            return new RemoteOpsConnectionInfo
            {
                Connected = true,
                Server = info is null ? null : $"{info.Host}:{info.Port}",
                ServerName = info?.Name,
                ServerVersion = info?.Version,
                JetStream = info?.JetStreamAvailable ?? false,
                RoundTrip = rtt,
            };
        }
        catch (RemoteOpsConnectionException e)
        {
            return new RemoteOpsConnectionInfo { Connected = false, Error = e.Message };
        }
    }
}
