using System.Management.Automation;
using RemoteOps.PowerShell.Internal;
using RemoteOps.Steward;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Cancels steward messages still queued (the seed's TODO): Queued → Cancelled, signed by the sender, so a node
/// that comes later runs nothing. A message a node already took runs to its end: StewardNotCancellable says so.</summary>
[Cmdlet(VerbsCommon.Remove, "StewardMessage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(StewardMessage))]
public sealed class RemoveStewardMessageCommand : ConfiguredCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Id")]
    [ValidateNotNullOrEmpty]
    public string[] MessageId { get; set; } = [];

    /// <summary>Write the cancelled message.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        var ids = MessageId.Distinct(StringComparer.Ordinal).Where(id => ShouldProcess(id, "Cancel queued steward message")).ToList();
        if (ids.Count == 0) return;
        RunAsync(async (writer, ct) =>
        {
            var client = await StewardSenderSupport.Try(writer, ids[0], () => StewardClient.OpenAsync(config, writer.WriteVerbose, ct)).ConfigureAwait(false);
            if (client is null) return;
            foreach (var id in ids)
            {
                var cancelled = await StewardSenderSupport.Try(writer, id, () => client.CancelAsync(id, ct)).ConfigureAwait(false);
                if (cancelled is null) continue;
                writer.WriteVerbose($"Cancelled message {id} ({cancelled.Method} for {cancelled.Node}).");
                if (PassThru) writer.WriteObject(cancelled);
            }
        });
    }
}
