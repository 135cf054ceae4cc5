using System.Management.Automation;
using RemoteOps.PowerShell.Internal;
using RemoteOps.Steward;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>The steward node agent in the foreground: serves the commands queued for this node until Ctrl+C or
/// SIGTERM, then drains and stops. What systemd units, Windows services and scheduled tasks run. The agent's log goes
/// to the Verbose, Information (tag "Steward") and Warning streams.</summary>
[Cmdlet(VerbsLifecycle.Start, "StewardNode")]
[OutputType(typeof(void))]
public sealed class StartStewardNodeCommand : ConfiguredCmdlet
{
    /// <summary>The node's name; default the config's destination.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    protected override void EndProcessing()
    {
        var config = LoadConfig();
        ErrorRecord? failure = null;
        RunAsync(async (writer, ct) =>
        {
            try
            {
                await StewardAgent.RunAsync(config, Name, entry => Write(writer, entry), ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException && ErrorMap.ToErrorRecord(e, Name ?? config.Destination, ToolErrorIds.Steward) is { } record)
            {
                failure = record;
            }
        });
        // The agent could not start (no name, NATS or JetStream missing, no identity): one terminating ErrorRecord.
        if (failure is not null) ThrowTerminatingError(failure);
    }

    private static void Write(PipelineWriter writer, StewardLogEntry entry)
    {
        switch (entry.Level)
        {
            case StewardLogLevel.Warning: writer.WriteWarning(entry.Text); break;
            case StewardLogLevel.Information:
                _ = writer.InvokeOnPipeline(c => { c.WriteInformation(entry.Text, ["Steward"]); return true; });
                break;
            default: writer.WriteVerbose(entry.Text); break;
        }
    }
}
