using System.Collections;
using System.Management.Automation;
using RemoteOps.PowerShell.Internal;
using RemoteOps.Processes;
using RemoteOps.Seaport;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>seaport's <c>register NAME@VERSION -- COMMAND</c>: assigns the port, runs the command with the port as its
/// last argument (and in $env:PORT), registers once it listens, restarts it when it exits (backoff, limit), and on
/// Ctrl+C deregisters and kills the whole process tree.</summary>
[Cmdlet(VerbsLifecycle.Start, "SeaportService", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(SeaportService))]
public sealed class StartSeaportServiceCommand : ConfiguredCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateSeaportRole]
    public string Role { get; set; } = "";

    /// <summary>The program and its arguments; the port is appended as the last argument.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string[] Command { get; set; } = [];

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? PortName { get; set; }

    [Parameter]
    public Hashtable? Meta { get; set; }

    [Parameter]
    [ValidateRange(1, 65535)]
    public int? Port { get; set; }

    [Parameter]
    [ValidateCount(2, 2)]
    public int[]? Range { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? HostName { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Id { get; set; }

    /// <summary>Consecutive restarts before giving up (a run of 30 s resets the count); -1: never give up.</summary>
    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    public int MaxRestarts { get; set; } = 10;

    /// <summary>How long to wait for the command to listen on its port before registering it anyway.</summary>
    [Parameter]
    [DurationTransformation]
    public TimeSpan ReadyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>First restart delay (doubling up to 30 s).</summary>
    [Parameter]
    [DurationTransformation]
    public TimeSpan RestartDelay { get; set; } = TimeSpan.FromSeconds(1);

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        if (!ShouldProcess($"{SeaportShouldProcess.DescribeNew(config, Role, HostName, Port, PortName, Range, Id)}: run {string.Join(' ', Command)}", "Start and register seaport service")) return;
        SeaportRegistration registration;
        try { registration = SeaportRegistration.Create(Role, Port, PortName, Range, SeaportSupport.MetaPairs(Meta), HostName, Id); }
        catch (SeaportArgumentException e) { WriteError(SeaportSupport.ToErrorRecord(e, Role)!); return; }
        var options = new SeaportServiceRunner.Options
        {
            Registration = registration,
            Command = Command,
            MaxRestarts = MaxRestarts,
            ReadyTimeout = ReadyTimeout,
            InitialBackoff = RestartDelay,
            WorkingDirectory = SessionState.Path.CurrentFileSystemLocation.ProviderPath,
        };
        RunAsync(async (writer, ct) =>
        {
            try
            {
                await SeaportServiceRunner.RunAsync(config, options, writer.WriteObject, writer.WriteVerbose, line => writer.WriteDebug(line), ct, writer.WriteWarning).ConfigureAwait(false);
            }
            catch (SeaportCommandFailedException e)
            {
                writer.WriteError(e, "RemoteOps.SeaportCommandFailed", ErrorCategory.InvalidResult, Role);
            }
            catch (ProcessSupervisorException e)
            {
                writer.WriteError(e, "RemoteOps.SeaportCommandNotFound", ErrorCategory.ObjectNotFound, Command[0]);
            }
            catch (ArgumentException e)
            {
                writer.WriteError(e, "RemoteOps.SeaportInvalidArgument", ErrorCategory.InvalidArgument, Role);
            }
            catch (Exception e) when (e is not OperationCanceledException && SeaportSupport.ToErrorRecord(e, Role) is { } record)
            {
                writer.WriteError(record);
            }
        });
    }
}
