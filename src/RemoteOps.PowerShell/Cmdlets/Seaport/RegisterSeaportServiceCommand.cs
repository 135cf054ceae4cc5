using System.Collections;
using System.Management.Automation;
using RemoteOps.PowerShell.Internal;
using RemoteOps.Seaport;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Registers a service (name@version) in the seaport registry and assigns its port(s); heartbeats keep the
/// registration alive for as long as this PowerShell session lives (seaport's register()).</summary>
[Cmdlet(VerbsLifecycle.Register, "SeaportService", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(SeaportService))]
public sealed class RegisterSeaportServiceCommand : ConfiguredCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateSeaportRole]
    public string Role { get; set; } = "";

    /// <summary>Use this port instead of assigning one.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 65535)]
    public int? Port { get; set; }

    /// <summary>Assign several named ports at once (http, metrics…); the service's Ports property maps them.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[]? PortName { get; set; }

    /// <summary>Low and high port of the range to assign from; default seaport.range (20000-32767).</summary>
    [Parameter]
    [ValidateCount(2, 2)]
    public int[]? Range { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public Hashtable? Meta { get; set; }

    /// <summary>The host the service runs on; default this machine's name.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? HostName { get; set; }

    /// <summary>The registration's id (its key); default random hex.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? Id { get; set; }

    /// <summary>With -Port: the service already listens there, so skip the check that the port is free to bind.</summary>
    [Parameter]
    public SwitchParameter AlreadyListening { get; set; }

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        if (!ShouldProcess(SeaportShouldProcess.DescribeNew(config, Role, HostName, Port, PortName, Range, Id), "Register seaport service")) return;
        SeaportRegistration request;
        try { request = SeaportRegistration.Create(Role, Port, PortName, Range, SeaportSupport.MetaPairs(Meta), HostName, Id, AlreadyListening); }
        catch (SeaportArgumentException e) { WriteError(SeaportSupport.ToErrorRecord(e, Role)!); return; }
        var session = System.Management.Automation.Runspaces.Runspace.DefaultRunspace;
        RunAsync(async (writer, ct) =>
        {
            var service = await SeaportSupport.Try(writer, Role, () => SeaportRegistrar.RegisterAsync(config, request, ct)).ConfigureAwait(false);
            if (service is not null)
            {
                SessionRegistrations.Track(session, service.Id);
                writer.WriteVerbose($"Registered {service.Role} as {service.Id} on {service.HostName}:{service.Port}; heartbeat every {Config.Duration.Format(config.Seaport.Heartbeat)}.");
                writer.WriteObject(service);
            }
        });
    }
}
