using System.Management.Automation;
using RemoteOps.PowerShell.Internal;
using RemoteOps.Seaport;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Frees a registration (seaport's free()): watchers see Freed, and its ports are released.</summary>
[Cmdlet(VerbsLifecycle.Unregister, "SeaportService", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(SeaportService))]
public sealed class UnregisterSeaportServiceCommand : ConfiguredCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.SeaportIdCompleter))]
    public string[] Id { get; set; } = [];

    /// <summary>Write the freed service.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        var ids = Id.Where(id => ShouldProcess(SeaportShouldProcess.Describe(this, config, id, ConfirmImpact.Medium), "Unregister seaport service (free its ports)")).ToList();
        if (ids.Count == 0) return;
        RunAsync(async (writer, ct) =>
        {
            foreach (var id in ids)
            {
                var freed = await SeaportSupport.Try(writer, id, () => SeaportRegistrar.FreeAsync(config, id, ct)).ConfigureAwait(false);
                if (freed is null) continue;
                writer.WriteVerbose($"Freed {freed.Role} ({freed.Id}) on {freed.HostName}:{freed.Port}.");
                if (PassThru) writer.WriteObject(freed);
            }
        });
    }
}
