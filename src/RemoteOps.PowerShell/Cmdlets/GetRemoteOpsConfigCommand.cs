using System.Management.Automation;
using RemoteOps.Config;
using RemoteOps.PowerShell.Internal;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Shows the effective config: every setting, secrets redacted, paths in full.</summary>
[Cmdlet(VerbsCommon.Get, "RemoteOpsConfig")]
[OutputType(typeof(RemoteOpsConfigInfo))]
public sealed class GetRemoteOpsConfigCommand : RemoteOpsCmdlet
{
    protected override void EndProcessing()
    {
        var config = LoadConfig();
        WriteObject(ConfigDescriber.Describe(config, ConfigPath));
    }
}
