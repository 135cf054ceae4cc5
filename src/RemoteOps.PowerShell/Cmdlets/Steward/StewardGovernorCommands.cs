using System.Management.Automation;
using RemoteOps.Config;
using RemoteOps.PowerShell.Internal;
using RemoteOps.Steward;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>What the governor cmdlets share: the bucket on the config's connection, and their errors.</summary>
internal static class StewardGovernorSupport
{
    public const string NotFound = "RemoteOps.StewardGovernorNotFound";
    public const string Exists = "RemoteOps.StewardGovernorExists";

    // The core opens the bucket: no NATS type may appear in the module's own code (it loads in another context).
    public static Task<StewardGovernors> OpenAsync(RemoteOpsConfig config, CancellationToken ct) => StewardGovernors.OpenAsync(config, ct);

    /// <summary>Runs one core call; a recognised failure (a NATS one as StewardUnavailable) is written as a non-terminating error.</summary>
    public static async Task<T?> Try<T>(PipelineWriter writer, StewardGovernors? governors, object? target, Func<Task<T>> call)
    {
        try { return await call().ConfigureAwait(false); }
        catch (Exception e) when (e is not OperationCanceledException && StewardSenderSupport.ToErrorRecord(governors?.Translate(e) ?? e, target) is { } record)
        {
            writer.WriteError(record);
            return default;
        }
    }
}

/// <summary>Defines a fleet governor: a named semaphore of <c>-Capacity</c> slots in the governors bucket. Methods sent
/// with <c>Invoke-StewardMethod -Governor &lt;name&gt;</c> wait on each node for a slot, so at most that many run at once
/// across every node and sender. An existing name is an error unless -Force, which changes its capacity.</summary>
[Cmdlet(VerbsCommon.New, "StewardGovernor", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(StewardGovernor))]
public sealed class NewStewardGovernorCommand : ConfiguredCmdlet
{
    /// <summary>Letters, digits, '_' and '-', at most 64.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(Completers.StewardGovernorCompleter))]
    public string Name { get; set; } = "";

    /// <summary>How many methods may run under it at once: 1 to 1000.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    public int Capacity { get; set; }

    /// <summary>Change the capacity of a governor that exists.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        try
        {
            StewardGovernors.CheckName(Name);
            StewardGovernors.CheckCapacity(Capacity);
        }
        catch (StewardArgumentException e)
        {
            WriteError(StewardSenderSupport.ToErrorRecord(e, Name)!);
            return;
        }
        if (!ShouldProcess(Name, Force ? $"Define steward governor with capacity {Capacity} (replacing an existing one)" : $"Define steward governor with capacity {Capacity}")) return;
        var (name, capacity, force) = (Name, Capacity, Force.IsPresent);
        RunAsync(async (writer, ct) =>
        {
            var governors = await StewardGovernorSupport.Try(writer, null, name, () => StewardGovernorSupport.OpenAsync(config, ct)).ConfigureAwait(false);
            if (governors is null) return;
            var defined = await StewardGovernorSupport.Try(writer, governors, name,
                () => governors.DefineAsync(name, capacity, IdentityKey(config), force, ct)).ConfigureAwait(false);
            if (defined is null) return;
            var listed = await StewardGovernorSupport.Try(writer, governors, name, () => governors.ListAsync(name, DateTimeOffset.UtcNow, ct)).ConfigureAwait(false);
            writer.WriteObject(listed?.FirstOrDefault() ?? new StewardGovernor { Name = defined.Name, Capacity = defined.Capacity, Updated = defined.Updated });
        });
    }

    private static Identity.SigningKey IdentityKey(RemoteOpsConfig config) => Identity.IdentityStore.Resolve(config).Key;
}

/// <summary>Lists fleet governors: capacity, slots in use and who holds them.</summary>
[Cmdlet(VerbsCommon.Get, "StewardGovernor")]
[OutputType(typeof(StewardGovernor))]
public sealed class GetStewardGovernorCommand : ConfiguredCmdlet
{
    /// <summary>A name, or a wildcard pattern (* and ?); every governor when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.StewardGovernorCompleter))]
    public string? Name { get; set; }

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        var name = Name;
        var exact = name is not null && name.IndexOfAny(['*', '?']) < 0;
        if (exact)
            try { StewardGovernors.CheckName(name); }
            catch (StewardArgumentException e) { WriteError(StewardSenderSupport.ToErrorRecord(e, name)!); return; }
        RunAsync(async (writer, ct) =>
        {
            var governors = await StewardGovernorSupport.Try(writer, null, name, () => StewardGovernorSupport.OpenAsync(config, ct)).ConfigureAwait(false);
            if (governors is null) return;
            var list = await StewardGovernorSupport.Try(writer, governors, name, () => governors.ListAsync(name, DateTimeOffset.UtcNow, ct)).ConfigureAwait(false);
            if (list is null) return;
            foreach (var g in list) writer.WriteObject(g);
            if (exact && list.Count == 0)
                writer.WriteError(new ErrorRecord(new StewardGovernorNotFoundException($"No governor '{name}' in bucket '{config.Steward.GovernorsBucket}'."),
                    StewardGovernorSupport.NotFound, ErrorCategory.ObjectNotFound, name));
        });
    }
}

/// <summary>Removes a fleet governor's definition and its slots. Methods waiting for it then fail on their nodes
/// (unless a node's config defines it, which writes it again).</summary>
[Cmdlet(VerbsCommon.Remove, "StewardGovernor", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
public sealed class RemoveStewardGovernorCommand : ConfiguredCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(Completers.StewardGovernorCompleter))]
    public string Name { get; set; } = "";

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        try { StewardGovernors.CheckName(Name); }
        catch (StewardArgumentException e) { WriteError(StewardSenderSupport.ToErrorRecord(e, Name)!); return; }
        if (!ShouldProcess(Name, "Remove steward governor")) return;
        var name = Name;
        RunAsync(async (writer, ct) =>
        {
            var governors = await StewardGovernorSupport.Try(writer, null, name, () => StewardGovernorSupport.OpenAsync(config, ct)).ConfigureAwait(false);
            if (governors is null) return;
            var removed = await StewardGovernorSupport.Try<bool?>(writer, governors, name, async () => await governors.RemoveAsync(name, ct).ConfigureAwait(false)).ConfigureAwait(false);
            if (removed == false)
                writer.WriteError(new ErrorRecord(new StewardGovernorNotFoundException($"No governor '{name}' in bucket '{config.Steward.GovernorsBucket}'."),
                    StewardGovernorSupport.NotFound, ErrorCategory.ObjectNotFound, name));
            else if (removed == true)
                writer.WriteVerbose($"Removed governor '{name}'.");
        });
    }
}
