using System.Management.Automation;
using RemoteOps.Messaging;
using RemoteOps.PowerShell.Internal;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Closes the NATS connection this session keeps for a config (or all of them with -All).</summary>
[Cmdlet(VerbsCommunications.Disconnect, "RemoteOps")]
[OutputType(typeof(void))]
public sealed class DisconnectRemoteOpsCommand : ConfiguredCmdlet
{
    /// <summary>Close every connection this session holds, whatever its config.</summary>
    [Parameter]
    public SwitchParameter All { get; set; }

    protected override void EndProcessing()
    {
        var config = All ? null : LoadConfig();
        RunAsync(async (output, _) =>
        {
            var closed = await ConnectionPool.DisconnectAsync(config).ConfigureAwait(false);
            output.WriteVerbose($"Closed {closed} NATS connection(s).");
        });
    }
}
