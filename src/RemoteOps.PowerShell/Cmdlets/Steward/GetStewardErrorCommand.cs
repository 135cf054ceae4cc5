using System.Management.Automation;
using RemoteOps.PowerShell.Internal;
using RemoteOps.Steward;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Reads the central error log (steward.central) from the steward stream, from any client with rights:
/// records signed by the configured central only; -Follow goes on with new records until Ctrl+C.</summary>
[Cmdlet(VerbsCommon.Get, "StewardError")]
[OutputType(typeof(StewardError))]
public sealed class GetStewardErrorCommand : ConfiguredCmdlet
{
    /// <summary>Only errors on this node, or on the nodes a pattern (com.acme.*, com.acme.**) matches.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.StewardNodeCompleter))]
    public string? Node { get; set; }

    /// <summary>Only errors at or after this time: a date and time, or a duration back from now (1h, 30m, a TimeSpan).</summary>
    [Parameter]
    [ValidateNotNull]
    public object? Since { get; set; }

    /// <summary>After the errors there are, go on writing new ones as central logs them, until Ctrl+C.</summary>
    [Parameter]
    public SwitchParameter Follow { get; set; }

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        RunAsync(async (writer, ct) =>
        {
            try
            {
                var since = StewardErrorLog.ToSince(Since is PSObject p ? p.BaseObject : Since, DateTimeOffset.UtcNow);
                var client = await StewardClient.OpenAsync(config, writer.WriteVerbose, ct).ConfigureAwait(false);
                await foreach (var e in StewardErrorLog.ReadAsync(client.Store, Node, since, Follow, writer.WriteVerbose, ct).ConfigureAwait(false))
                    writer.WriteObject(e);
            }
            catch (Exception e) when (e is not OperationCanceledException && StewardSenderSupport.ToErrorRecord(e, (object?)Node ?? Since) is { } record)
            {
                writer.WriteError(record);
            }
        });
    }
}
