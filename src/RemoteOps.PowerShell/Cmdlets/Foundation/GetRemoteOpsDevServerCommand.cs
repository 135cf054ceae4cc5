using System.Management.Automation;
using RemoteOps.Messaging;
using RemoteOps.PowerShell.Internal;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Lists the dev servers of this user that are running: started in this session, or left running by an earlier
/// one (found by the marker each start leaves in a per-user state directory, checked against the running process).</summary>
[Cmdlet(VerbsCommon.Get, "RemoteOpsDevServer")]
[OutputType(typeof(RemoteOpsDevServer))]
public sealed class GetRemoteOpsDevServerCommand : RemoteOpsCmdlet
{
    /// <summary>Only these process ids; an id that is no running dev server is an ObjectNotFound error.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Id")]
    [ArgumentCompleter(typeof(Completers.DevServerCompleter))]
    public int[]? ProcessId { get; set; }

    private IReadOnlyList<RemoteOpsDevServer>? _servers;

    protected override void ProcessRecord()
    {
        _servers ??= DevServer.List();
        if (ProcessId is null)
        {
            WriteObject(_servers, enumerateCollection: true);
            return;
        }
        foreach (var id in ProcessId)
        {
            var server = _servers.FirstOrDefault(s => s.ProcessId == id);
            if (server is not null) WriteObject(server);
            else WriteError(new ErrorRecord(new ItemNotFoundException($"No running dev server has process id {id}."),
                "RemoteOps.DevServerNotFound", ErrorCategory.ObjectNotFound, id));
        }
    }
}
