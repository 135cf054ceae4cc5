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

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        var node = string.IsNullOrEmpty(config.Destination) ? System.Environment.MachineName : config.Destination;
        var patterns = (Name ?? ["*"]).Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToArray();
        foreach (var e in HerderEnvironments.All(config.Herder).Where(e => patterns.Any(p => p.IsMatch(e.Name))))
            WriteObject(new HerderEnvironment
            {
                Name = e.Name, Command = [.. e.Command], Available = HerderEnvironments.Locate(e) is not null, BuiltIn = e.BuiltIn, Node = node,
            });
    }
}
