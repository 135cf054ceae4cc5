using System.Management.Automation;
using RemoteOps.PowerShell.Internal;
using RemoteOps.Seaport;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Streams registry events (Registered, Updated, Freed, Expired) for matching services as they happen,
/// until Ctrl+C or -Timeout.</summary>
[Cmdlet(VerbsCommon.Watch, "SeaportService")]
[OutputType(typeof(SeaportEvent))]
public sealed class WatchSeaportServiceCommand : ConfiguredCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateSeaportPattern]
    [ArgumentCompleter(typeof(Completers.SeaportRoleCompleter))]
    public string? Role { get; set; }

    /// <summary>Stop after this long (quietly: a watch that saw nothing is not an error).</summary>
    [Parameter]
    [DurationTransformation]
    public TimeSpan? Timeout { get; set; }

    /// <summary>First report every live match as Registered.</summary>
    [Parameter]
    public SwitchParameter Existing { get; set; }

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        RunAsync(async (writer, ct) =>
        {
            try
            {
                await foreach (var e in SeaportQueries.WatchAsync(config, Role, Existing, Timeout, writer.WriteVerbose, ct).ConfigureAwait(false))
                    writer.WriteObject(e);
            }
            catch (Exception e) when (e is not OperationCanceledException && SeaportSupport.ToErrorRecord(e, Role) is { } record)
            {
                writer.WriteError(record);
            }
        });
    }
}
