using System.Collections;
using System.Management.Automation;
using RemoteOps.Config;
using RemoteOps.Herder;
using RemoteOps.PowerShell.Internal;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>What the daemon cmdlets share: where an operation goes (-Node, this machine's agent, or the session) and
/// the one way their failures become ErrorRecords.</summary>
public abstract class HerderDaemonCmdlet : ConfiguredCmdlet
{
    private protected static async Task<HerderDaemonTarget> TargetAsync(RemoteOpsConfig config, string? node) =>
        await HerderDaemons.ResolveAsync(config, node).ConfigureAwait(false);

    /// <summary>Runs <paramref name="work"/>; a refusal or an unreachable node is one ErrorRecord about <paramref name="target"/>.</summary>
    private protected void Run(object target, Func<PipelineWriter, CancellationToken, Task> work) =>
        RunAsync(async (writer, ct) =>
        {
            try { await work(writer, ct).ConfigureAwait(false); }
            catch (Exception e) when (e is not OperationCanceledException && ErrorMap.ToErrorRecord(e, target, ToolErrorIds.Herder) is { } record)
            {
                writer.WriteError(record);
            }
        });
}

/// <summary>Starts a named long-lived process (the seed's spawn of a daemon): a command, or an environment with its
/// files, with ports from seaport, under a restart policy, on a node's agent or in this session.</summary>
[Cmdlet(VerbsLifecycle.Start, "HerderDaemon", SupportsShouldProcess = true, DefaultParameterSetName = "Command")]
[OutputType(typeof(HerderDaemon))]
public sealed class StartHerderDaemonCommand : HerderDaemonCmdlet
{
    /// <summary>The daemon's name: unique per owner on its node; also its seaport role, &lt;name&gt;@0.0.0.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>The program and its arguments.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = "Command", ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Command { get; set; } = [];

    /// <summary>An environment (bash, python, node, ...) whose command runs in the daemon's directory.</summary>
    [Parameter(Mandatory = true, ParameterSetName = "Environment", ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.HerderEnvironmentCompleter))]
    public string Environment { get; set; } = "";

    /// <summary>The files written into the daemon's directory: name → text, bytes, or a FileInfo to copy.</summary>
    [Parameter(Mandatory = true, ParameterSetName = "Environment", ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public Hashtable File { get; set; } = [];

    /// <summary>Port names: each gets a free port, claimed in seaport, passed in PORT_&lt;NAME&gt; (the first also in PORT).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[]? Port { get; set; }

    /// <summary>The node whose agent runs it; this machine (its agent when one runs, else this session) when omitted.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.StewardNodeCompleter))]
    public string? Node { get; set; }

    /// <summary>When it is started again after an exit: Never, OnFailure (the default), Always.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public HerderDaemonRestart Restart { get; set; } = HerderDaemonRestart.OnFailure;

    /// <summary>A herder token: its owner owns the daemon and pays herder.credits_per_second while it runs.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? Token { get; set; }

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        Dictionary<string, byte[]> files = [];
        if (ParameterSetName == "Environment" && !HerderFileArguments.TryRead(this, File, out files)) return;
        if (!ShouldProcess(Node is null ? $"daemon '{Name}'" : $"daemon '{Name}' on {Node}", "Start")) return;
        var request = new HerderDaemonRequest
        {
            Name = Name, Command = ParameterSetName == "Command" ? Command : null, Environment = ParameterSetName == "Environment" ? Environment : null,
            Files = files, Ports = Port ?? [], Restart = Restart, Token = Token,
        };
        var node = Node;
        var runspace = System.Management.Automation.Runspaces.Runspace.DefaultRunspace;
        Run(Name, async (writer, ct) =>
        {
            var target = await TargetAsync(config, node).ConfigureAwait(false);
            var daemon = await HerderDaemons.StartAsync(config, target, request, ct).ConfigureAwait(false);
            if (!target.Remote) SessionDaemons.Track(runspace, target.SessionHost!, target.Owner, daemon.Name);
            writer.WriteObject(daemon);
        });
    }
}

/// <summary>Lists daemons (the seed's ls): this owner's on a node, or this session's.</summary>
[Cmdlet(VerbsCommon.Get, "HerderDaemon")]
[OutputType(typeof(HerderDaemon))]
public sealed class GetHerderDaemonCommand : HerderDaemonCmdlet
{
    /// <summary>Daemon names (wildcards allowed); all when omitted.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(Completers.HerderDaemonCompleter))]
    public string? Name { get; set; }

    /// <summary>The node whose agent runs them; this machine when omitted.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.StewardNodeCompleter))]
    public string? Node { get; set; }

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        var (name, node) = (Name, Node);
        Run(name ?? "*", async (writer, ct) =>
        {
            var target = await TargetAsync(config, node).ConfigureAwait(false);
            var found = await HerderDaemons.ListAsync(config, target, name, ct).ConfigureAwait(false);
            if (found.Count == 0 && name is not null && !WildcardPattern.ContainsWildcardCharacters(name))
                throw new HerderException(HerderFailure.DaemonNotFound, $"No daemon named '{name}'{(node is null ? "" : " on " + node)} (Get-HerderDaemon lists them).");
            foreach (var daemon in found) writer.WriteObject(daemon);
        });
    }
}

/// <summary>Stops a daemon and its whole process tree (the seed's kill); it stays listed, Stopped, with its logs.</summary>
[Cmdlet(VerbsLifecycle.Stop, "HerderDaemon", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(HerderDaemon))]
public sealed class StopHerderDaemonCommand : HerderDaemonCmdlet
{
    /// <summary>The daemon's name (a piped HerderDaemon gives its own).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.HerderDaemonCompleter))]
    public string Name { get; set; } = "";

    /// <summary>The node whose agent runs it; this machine when omitted (a piped HerderDaemon gives its own).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.StewardNodeCompleter))]
    public string? Node { get; set; }

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        if (!ShouldProcess(Node is null ? $"daemon '{Name}'" : $"daemon '{Name}' on {Node}", "Stop")) return;
        var (name, node) = (Name, Node);
        Run(name, async (writer, ct) =>
        {
            var target = await TargetAsync(config, node).ConfigureAwait(false);
            writer.WriteObject(await HerderDaemons.StopAsync(config, target, name, ct).ConfigureAwait(false));
        });
    }
}

/// <summary>Attaches to a daemon (the seed's attach): writes its stdout and stderr lines as they come and sends the
/// strings piped in to its stdin; ends on Ctrl+C (the daemon keeps running), at -Timeout, or when the daemon exits.</summary>
[Cmdlet(VerbsCommunications.Connect, "HerderDaemon")]
[OutputType(typeof(HerderDaemonOutput))]
public sealed class ConnectHerderDaemonCommand : HerderDaemonCmdlet
{
    /// <summary>The daemon to attach to. Not bound from the pipeline: what is piped in is its input.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.HerderDaemonCompleter))]
    public string Name { get; set; } = "";

    /// <summary>The node whose agent runs it; this machine when omitted.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.StewardNodeCompleter))]
    public string? Node { get; set; }

    /// <summary>How long to stay attached; until Ctrl+C or the daemon's exit when omitted.</summary>
    [Parameter]
    [DurationTransformation]
    public TimeSpan? Timeout { get; set; }

    /// <summary>Lines sent to the daemon's stdin, one per string.</summary>
    [Parameter(ValueFromPipeline = true)]
    [AllowEmptyString]
    public string? InputObject { get; set; }

    private RemoteOpsConfig _config = null!;
    private HerderDaemonTarget? _target;
    private HerderDaemonLogPosition? _from;
    private readonly List<string> _input = [];

    protected override void BeginProcessing()
    {
        _config = LoadConfigCached();
        var (name, node) = (Name, Node);
        // Where the logs end now: every line from here on is written, also those the piped input causes.
        Run(name, async (_, ct) =>
        {
            var target = await TargetAsync(_config, node).ConfigureAwait(false);
            _from = (await HerderDaemons.ReadLogAsync(_config, target, name, 0, ct).ConfigureAwait(false)).Position;
            _target = target; // only once the daemon is known: an unknown one is one error, not one per stage

        });
    }

    protected override void ProcessRecord()
    {
        if (_target is null || InputObject is null) return;
        _input.Add(InputObject);
        // Sent in small batches: one remote call per line would be slow for a large input.
        if (_input.Count >= 64) Flush();
    }

    private void Flush()
    {
        if (_input.Count == 0 || _target is null) return;
        var lines = _input.ToList();
        _input.Clear();
        var (name, target) = (Name, _target);
        Run(name, (_, ct) => HerderDaemons.WriteInputAsync(_config, target, name, lines, ct));
    }

    protected override void EndProcessing()
    {
        if (_target is null) return;
        Flush();
        var (name, target, from, timeout) = (Name, _target, _from, Timeout);
        Run(name, async (writer, ct) =>
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            if (timeout is { } t) limit.CancelAfter(t);
            await foreach (var line in HerderDaemons.FollowAsync(_config, target, name, from, limit.Token).ConfigureAwait(false))
                writer.WriteObject(line);
        });
    }
}

/// <summary>Reads a daemon's logs, kept after it exits (rotated by size, kept for herder.log_retention).</summary>
[Cmdlet(VerbsCommunications.Receive, "HerderDaemonLog")]
[OutputType(typeof(HerderDaemonOutput))]
public sealed class ReceiveHerderDaemonLogCommand : HerderDaemonCmdlet
{
    /// <summary>The daemon whose logs to read (a piped HerderDaemon gives its own).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.HerderDaemonCompleter))]
    public string Name { get; set; } = "";

    /// <summary>The node whose agent runs it; this machine when omitted (a piped HerderDaemon gives its own).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.StewardNodeCompleter))]
    public string? Node { get; set; }

    /// <summary>Only the last this many lines of each stream.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int? Tail { get; set; }

    /// <summary>Then go on writing new lines as they come, until Ctrl+C or the daemon no longer runs.</summary>
    [Parameter]
    public SwitchParameter Follow { get; set; }

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        var (name, node, tail, follow) = (Name, Node, Tail, Follow.IsPresent);
        Run(name, async (writer, ct) =>
        {
            var target = await TargetAsync(config, node).ConfigureAwait(false);
            var (lines, position) = await HerderDaemons.ReadLogAsync(config, target, name, tail, ct).ConfigureAwait(false);
            foreach (var line in lines) writer.WriteObject(line);
            if (!follow) return;
            await foreach (var line in HerderDaemons.FollowAsync(config, target, name, position, ct).ConfigureAwait(false))
                writer.WriteObject(line);
        });
    }
}
