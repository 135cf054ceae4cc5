using System.Management.Automation;
using RemoteOps.Herder;
using RemoteOps.PowerShell.Internal;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Lists the environments minions can run in here: the built-ins and herder.environments, and whether each
/// one's program is installed.</summary>
[Cmdlet(VerbsCommon.Get, "HerderEnvironment")]
[OutputType(typeof(HerderEnvironment))]
public sealed class GetHerderEnvironmentCommand : ConfiguredCmdlet
{
    /// <summary>Environment names to list (wildcards allowed); all when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(Completers.HerderEnvironmentCompleter))]
    public string[]? Name { get; set; }

    /// <summary>The node whose environments to list (asked of its agent over NATS); this machine when omitted. Not
    /// bound from the pipeline: a piped environment's own Node would send a local lookup through the agent.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.StewardNodeCompleter))]
    public string? Node { get; set; }

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        var patterns = (Name ?? ["*"]).Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToArray();
        if (Node is null)
        {
            var here = string.IsNullOrEmpty(config.Destination) ? System.Environment.MachineName : config.Destination;
            WriteObject(HerderRemote.Environments(config.Herder, here).Where(e => patterns.Any(p => p.IsMatch(e.Name))), enumerateCollection: true);
            return;
        }
        var node = Node;
        RunAsync(async (writer, ct) =>
        {
            try
            {
                foreach (var e in await HerderRemote.GetEnvironmentsAsync(config, node, ct).ConfigureAwait(false))
                    if (patterns.Any(p => p.IsMatch(e.Name))) writer.WriteObject(e);
            }
            catch (Exception e) when (e is not OperationCanceledException && ErrorMap.ToErrorRecord(e, node, ToolErrorIds.Herder) is { } record)
            {
                writer.WriteError(record);
            }
        });
    }
}
