using System.Management.Automation;
using System.Management.Automation.Runspaces;
using RemoteOps.Messaging;
using RemoteOps.PowerShell.Internal;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Stops dev servers: those piped in (Start- or Get-RemoteOpsDevServer's output), those named by -ProcessId
/// (also servers left by earlier sessions: their temporary data directory is removed too), or, with neither, every one
/// this session started.</summary>
[Cmdlet(VerbsLifecycle.Stop, "RemoteOpsDevServer", SupportsShouldProcess = true, DefaultParameterSetName = "Session")]
[OutputType(typeof(RemoteOpsDevServer))]
public sealed class StopRemoteOpsDevServerCommand : RemoteOpsCmdlet
{
    /// <summary>A server from Start-RemoteOpsDevServer.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = "InputObject")]
    public RemoteOpsDevServer[]? InputObject { get; set; }

    /// <summary>The nats-server process id (only nats-server processes are ever stopped).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = "ProcessId")]
    [Alias("Id")]
    [ArgumentCompleter(typeof(Completers.DevServerCompleter))]
    public int[]? ProcessId { get; set; }

    /// <summary>Write each stopped server to the pipeline.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == "InputObject")
            foreach (var server in InputObject ?? []) Stop(server.ProcessId);
        else if (ParameterSetName == "ProcessId")
            foreach (var id in ProcessId ?? []) Stop(id);
    }

    protected override void EndProcessing()
    {
        if (ParameterSetName != "Session") return;
        var owner = Runspace.DefaultRunspace?.InstanceId ?? Guid.Empty;
        foreach (var server in DevServer.StartedBy(owner)) Stop(server.ProcessId);
    }

    private void Stop(int processId)
    {
        if (!ShouldProcess($"nats-server (process {processId})", "Stop (and remove its temporary data directory)")) return;
        try
        {
            var stopped = Wait(DevServer.StopAsync(processId, StopToken));
            if (stopped is null) WriteVerbose($"nats-server {processId} had already exited.");
            else
            {
                WriteVerbose($"Stopped nats-server {processId}.");
                if (PassThru) WriteObject(stopped);
            }
        }
        catch (DevServerNotFoundException e)
        {
            WriteError(new ErrorRecord(e, "RemoteOps.DevServerNotFound", ErrorCategory.ObjectNotFound, processId));
        }
        catch (DevServerException e)
        {
            WriteError(new ErrorRecord(e, "RemoteOps.DevServerNotStopped", ErrorCategory.InvalidArgument, processId));
        }
    }
}
