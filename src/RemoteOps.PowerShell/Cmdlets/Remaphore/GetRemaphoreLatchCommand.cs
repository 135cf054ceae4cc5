using System.Management.Automation;
using RemoteOps.PowerShell.Internal;
using RemoteOps.Remaphore;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Lists the latched messages (Send-Remaphore -Latch) still in the latch bucket, each verified as
/// Wait-Remaphore would verify it; what does not verify is told with -Verbose, not written.</summary>
[Cmdlet(VerbsCommon.Get, "RemaphoreLatch")]
[OutputType(typeof(RemaphoreLatch))]
public sealed class GetRemaphoreLatchCommand : ConfiguredCmdlet
{
    /// <summary>Only latches sent with this -Subject (the suffix: &lt;subject&gt;.&lt;Subject&gt;; "all" is the default subject).</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string? Subject { get; set; }

    /// <summary>Only latches with this uuid.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Uuid { get; set; }

    protected override void EndProcessing()
    {
        var config = LoadConfigCached();
        RunAsync(async (output, ct) =>
        {
            try
            {
                var (subject, uuid) = RemaphoreLatchFilter.Resolve(config, Subject, Uuid);
                var latches = await RemaphoreLatchStore.ListAsync(config, subject, uuid, verified: true, output.WriteVerbose, ct).ConfigureAwait(false);
                foreach (var latch in latches.OrderBy(l => l.ExpiryNanos)) output.WriteObject(latch.ToModel());
            }
            catch (Exception e) when (RemaphoreSupport.ToErrorRecord(e, Subject ?? Uuid) is { } record)
            {
                output.WriteError(record);
            }
        });
    }
}

/// <summary>-Subject and -Uuid of the latch cmdlets as the core filters them: the full subject and the uuid bytes.</summary>
internal static class RemaphoreLatchFilter
{
    public static (string? Subject, byte[]? Uuid) Resolve(RemoteOps.Config.RemoteOpsConfig config, string? subject, string? uuid) =>
        (subject is null ? null : RemaphoreLatchStore.FilterSubject(config, subject), uuid is null ? null : RemaphoreWire.UuidBytes(uuid));
}
