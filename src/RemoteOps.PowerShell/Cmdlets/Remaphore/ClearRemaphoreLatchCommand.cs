using System.Management.Automation;
using RemoteOps.PowerShell.Internal;
using RemoteOps.Remaphore;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Deletes latched messages before they expire: those matching -Subject/-Uuid (all of them with neither), or
/// those piped from Get-RemaphoreLatch (bound by their Key). Forged or unverifiable latches are deleted too.</summary>
[Cmdlet(VerbsCommon.Clear, "RemaphoreLatch", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = "Filter")]
[OutputType(typeof(RemaphoreLatch))]
public sealed class ClearRemaphoreLatchCommand : ConfiguredCmdlet
{
    /// <summary>Only latches sent with this -Subject (the suffix, as Send-Remaphore -Subject takes it).</summary>
    [Parameter(Position = 0, ParameterSetName = "Filter")]
    [ValidateNotNullOrEmpty]
    public string? Subject { get; set; }

    /// <summary>Only latches with this uuid.</summary>
    [Parameter(ParameterSetName = "Filter")]
    [ValidateNotNullOrEmpty]
    public string? Uuid { get; set; }

    /// <summary>The latch bucket keys to delete, as Get-RemaphoreLatch writes them (bound from the pipeline by property name).</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = "Key")]
    [ValidateNotNullOrEmpty]
    public string[]? Key { get; set; }

    /// <summary>Write each deleted latch.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    private RemoteOps.Config.RemoteOpsConfig? _config;
    private IReadOnlyList<RemaphoreLatchEntry>? _all;

    protected override void BeginProcessing() => _config = LoadConfigCached();

    protected override void ProcessRecord()
    {
        var config = _config!;
        RunAsync(async (output, ct) =>
        {
            try
            {
                IEnumerable<RemaphoreLatchEntry> targets;
                if (ParameterSetName == "Key")
                {
                    _all ??= await RemaphoreLatchStore.ListAsync(config, null, null, verified: false, output.WriteVerbose, ct).ConfigureAwait(false);
                    var (found, absent) = RemaphoreLatchStore.SelectKeys(_all, Key!);
                    targets = found;
                    foreach (var missing in absent)
                        output.WriteError(new ItemNotFoundException($"No latch with key '{missing}' in bucket '{config.LatchBucket}'."),
                            "RemoteOps.RemaphoreLatchNotFound", ErrorCategory.ObjectNotFound, missing);
                }
                else
                {
                    var (subject, uuid) = RemaphoreLatchFilter.Resolve(config, Subject, Uuid);
                    targets = await RemaphoreLatchStore.ListAsync(config, subject, uuid, verified: false, output.WriteVerbose, ct).ConfigureAwait(false);
                }
                foreach (var latch in targets.ToList())
                {
                    var model = latch.ToModel();
                    var what = Describe(model);
                    var confirmed = await output.InvokeOnPipeline(c => c.ShouldProcess(what, "Delete latched remaphore message")).WaitAsync(ct).ConfigureAwait(false);
                    if (!confirmed) continue;
                    if (await RemaphoreLatchStore.DeleteAsync(config, latch.Key, ct).ConfigureAwait(false))
                    {
                        output.WriteVerbose($"Deleted latch {latch.Key}.");
                        if (PassThru) output.WriteObject(model);
                    }
                }
            }
            catch (Exception e) when (RemaphoreSupport.ToErrorRecord(e, Subject ?? Uuid) is { } record)
            {
                output.WriteError(record);
            }
        });
    }

    /// <summary>What -WhatIf and -Confirm name: the latch and what a late waiter would no longer receive.</summary>
    private static string Describe(RemaphoreLatch l) =>
        $"latch {l.Key}: verb '{l.Verb}' uuid '{l.Uuid}' on {l.Subject} from {l.SenderName ?? (l.Sender.Length > 0 ? l.Sender : "an unknown sender")}"
        + $", expires {l.Expires.ToLocalTime():yyyy-MM-dd HH:mm:ss}" + (l.Verified ? "" : $" (does not verify: {l.Problem})");
}
