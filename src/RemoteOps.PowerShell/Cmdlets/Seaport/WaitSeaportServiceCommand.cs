using System.Management.Automation;
using RemoteOps.PowerShell.Internal;
using RemoteOps.Seaport;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Waits until at least one live registration matches, then writes every live match (seaport's get()).</summary>
[Cmdlet(VerbsLifecycle.Wait, "SeaportService")]
[OutputType(typeof(SeaportService))]
public sealed class WaitSeaportServiceCommand : ConfiguredCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateSeaportPattern]
    [ArgumentCompleter(typeof(Completers.SeaportRoleCompleter))]
    public string Role { get; set; } = "";

    /// <summary>Give up after this long: a TimeSpan, seconds, or 1h2m3s. Nothing by then is an OperationTimeout error.</summary>
    [Parameter]
    [DurationTransformation]
    public TimeSpan? Timeout { get; set; }

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        RunAsync(async (writer, ct) =>
        {
            var found = await SeaportSupport.Try(writer, Role, () => SeaportQueries.WaitAsync(config, Role, Timeout, writer.WriteVerbose, ct)).ConfigureAwait(false);
            if (found is null) return;
            foreach (var s in found) writer.WriteObject(s);
        });
    }
}
