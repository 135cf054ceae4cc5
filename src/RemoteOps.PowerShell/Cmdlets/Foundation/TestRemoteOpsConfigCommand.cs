using System.Management.Automation;
using RemoteOps.Config;
using RemoteOps.PowerShell.Internal;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Checks a config without connecting: it loads, keys decode and each identity's private key belongs to its
/// public key, the files it names can be read, server URLs and the destination are valid. Like Test-Connection: one
/// RemoteOpsConfigCheck per check, or with -Quiet a single $true/$false.</summary>
[Cmdlet(VerbsDiagnostic.Test, "RemoteOpsConfig")]
[OutputType(typeof(RemoteOpsConfigCheck))]
[OutputType(typeof(bool))]
public sealed class TestRemoteOpsConfigCommand : ConfiguredCmdlet
{
    /// <summary>Return only $true (every check passed) or $false, and write no error, as Test-Path does.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    protected override void EndProcessing()
    {
        RemoteOpsConfig config;
        if (Quiet)
        {
            try { config = ConfigLoader.Load(ResolvedConfigPath, warn: null); }
            catch (ConfigException)
            {
                WriteObject(false);
                return;
            }
            WriteObject(ConfigChecker.Check(config).All(c => c.Passed));
            return;
        }
        // A config that does not load is the one RemoteOps.ConfigInvalid error every cmdlet gives.
        config = LoadConfig();
        WriteObject(new RemoteOpsConfigCheck
        {
            Path = config.SourcePath, Check = "Load", Target = config.SourcePath ?? "(built-in defaults)", Passed = true,
            Message = "the config loads: every key known, every value of the right type and in range.",
        });
        foreach (var check in ConfigChecker.Check(config))
            WriteObject(check);
    }
}
