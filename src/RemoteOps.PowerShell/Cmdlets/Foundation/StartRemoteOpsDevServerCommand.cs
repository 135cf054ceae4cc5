using System.Management.Automation;
using System.Management.Automation.Runspaces;
using RemoteOps.Messaging;
using RemoteOps.PowerShell.Internal;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Starts a local nats-server with JetStream on loopback, for development.</summary>
[Cmdlet(VerbsLifecycle.Start, "RemoteOpsDevServer")]
[OutputType(typeof(RemoteOpsDevServer))]
public sealed class StartRemoteOpsDevServerCommand : RemoteOpsCmdlet
{
    /// <summary>Client port on 127.0.0.1; default 4222 (where a config without servers: looks); 0 picks a free one.</summary>
    [Parameter(Position = 0)]
    [ValidateRange(0, 65535)]
    public int Port { get; set; } = DevServer.DefaultPort;

    /// <summary>Where the JetStream store, config and log go; default a new temporary directory (removed on stop).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? DataDirectory { get; set; }

    /// <summary>Also open the HTTP monitoring endpoint (/varz, /connz) on this loopback port; 0 picks a free one.</summary>
    [Parameter]
    [ValidateRange(0, 65535)]
    public int? MonitorPort { get; set; }

    protected override void EndProcessing()
    {
        var owner = Runspace.DefaultRunspace?.InstanceId ?? Guid.Empty;
        var data = DataDirectory is null ? null : ResolvePath(DataDirectory);
        try
        {
            var server = Wait(DevServer.StartAsync(Port, data, MonitorPort, owner, StopToken));
            WriteVerbose($"nats-server {server.ProcessId} listens on {server.Url}; data in {server.DataDirectory}.");
            WriteObject(server);
        }
        catch (DevServerException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, "RemoteOps.DevServerFailed", ErrorCategory.ResourceUnavailable, Port));
        }
    }
}
