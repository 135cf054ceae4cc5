using System.Management.Automation;
using RemoteOps.PowerShell.Internal;
using RemoteOps.Steward;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Lists the nodes of the steward registry (steward.nodes_bucket) from what each agent's last hello said, online
/// or not: a node is offline once three of its own hello intervals passed without one.</summary>
[Cmdlet(VerbsCommon.Get, "StewardNode")]
[OutputType(typeof(StewardNode))]
public sealed class GetStewardNodeCommand : ConfiguredCmdlet
{
    /// <summary>A node name, or a pattern (com.acme.*, com.acme.**); all nodes when omitted.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.StewardNodeCompleter))]
    public string? Name { get; set; }

    /// <summary>Only the nodes whose hellos stopped (Online = false).</summary>
    [Parameter]
    public SwitchParameter Stale { get; set; }

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        RunAsync(async (writer, ct) =>
        {
            try
            {
                var client = await StewardClient.OpenAsync(config, writer.WriteVerbose, ct).ConfigureAwait(false);
                foreach (var node in await StewardInventory.GetNodesAsync(client.Store, Name, Stale, DateTimeOffset.UtcNow, ct).ConfigureAwait(false))
                    writer.WriteObject(node);
            }
            catch (Exception e) when (e is not OperationCanceledException && StewardSenderSupport.ToErrorRecord(e, Name) is { } record)
            {
                writer.WriteError(record);
            }
        });
    }
}
