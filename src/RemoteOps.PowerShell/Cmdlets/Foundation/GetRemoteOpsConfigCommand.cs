using System.Management.Automation;
using RemoteOps.Config;
using RemoteOps.Messaging;
using RemoteOps.PowerShell.Internal;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Shows the effective config: every setting, secrets redacted, paths in full.</summary>
[Cmdlet(VerbsCommon.Get, "RemoteOpsConfig")]
[OutputType(typeof(RemoteOpsConfigInfo))]
public sealed class GetRemoteOpsConfigCommand : ConfiguredCmdlet
{
    /// <summary>Also connect (through the session's shared connection) and report the server in Connection.</summary>
    [Parameter]
    public SwitchParameter TestConnection { get; set; }

    protected override void EndProcessing()
    {
        var config = LoadConfig();
        var info = ConfigDescriber.Describe(config, ConfigPath);
        if (!TestConnection)
        {
            WriteObject(info);
            return;
        }
        RunAsync(async (output, ct) =>
        {
            info.Connection = await ConnectionProbe.TestAsync(config, ct).ConfigureAwait(false);
            output.WriteObject(info);
            if (!info.Connection.Connected)
                output.WriteError(new RemoteOpsConnectionException(info.Connection.Error ?? "not connected"),
                    "RemoteOps.ConnectionError", ErrorCategory.ConnectionError, string.Join(",", config.Servers));
        });
    }
}
