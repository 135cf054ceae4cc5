using System.Management.Automation;
using RemoteOps.PowerShell.Internal;
using RemoteOps.Seaport;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Lists the live registrations matching a role pattern (seaport's query()).</summary>
[Cmdlet(VerbsCommon.Get, "SeaportService")]
[OutputType(typeof(SeaportService))]
public sealed class GetSeaportServiceCommand : ConfiguredCmdlet
{
    /// <summary>name, or name@range with an npm-style semver range (web@1.2.x, web@^1.2, "web@&gt;=1 &lt;2"); none: every service.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateSeaportPattern]
    [ArgumentCompleter(typeof(Completers.SeaportRoleCompleter))]
    public string? Role { get; set; }

    /// <summary>Only these registration ids.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.SeaportIdCompleter))]
    public string[]? Id { get; set; }

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        RunAsync(async (writer, ct) =>
        {
            var found = await SeaportSupport.Try(writer, Role, () => SeaportQueries.QueryAsync(config, Role, Id, writer.WriteVerbose, ct)).ConfigureAwait(false);
            if (found is null) return;
            foreach (var s in found) writer.WriteObject(s);
            // A specific id asked for and not there is an error (as Get-Process -Id); a role that matches nothing is not.
            if (Id is null) return;
            foreach (var id in Id.Distinct(StringComparer.Ordinal).Where(id => !found.Any(s => s.Id == id)))
            {
                var what = Role is null ? "" : $" matching '{Role}'";
                writer.WriteError(SeaportSupport.ToErrorRecord(new SeaportNotFoundException($"No live registration with id '{id}'{what}."), id)!);
            }
        });
    }
}
