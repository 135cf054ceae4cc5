using System.Collections;
using System.Management.Automation;
using RemoteOps.PowerShell.Internal;
using RemoteOps.Seaport;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Updates a registration's metadata in place (seaport's set()): the given keys are merged in, a $null value
/// removes its key. Watchers see Updated.</summary>
[Cmdlet(VerbsCommon.Set, "SeaportService", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(SeaportService))]
public sealed class SetSeaportServiceCommand : ConfiguredCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.SeaportIdCompleter))]
    public string Id { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNull]
    public Hashtable Meta { get; set; } = new();

    /// <summary>Write the updated service.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        if (!ShouldProcess($"{SeaportShouldProcess.Describe(this, config, Id, ConfirmImpact.Low)}: {SeaportShouldProcess.DescribeMeta(Meta)}", "Set seaport service metadata")) return;
        Dictionary<string, string?> changes;
        try { changes = SeaportMeta.Convert(SeaportSupport.MetaPairs(Meta), allowNull: true); }
        catch (SeaportArgumentException e) { WriteError(SeaportSupport.ToErrorRecord(e, Id)!); return; }
        RunAsync(async (writer, ct) =>
        {
            var updated = await SeaportSupport.Try(writer, Id, () => SeaportRegistrar.SetMetaAsync(config, Id, changes, ct)).ConfigureAwait(false);
            if (updated is not null && PassThru) writer.WriteObject(updated);
        });
    }
}
