using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Text.Json;
using RemoteOps.Config;
using RemoteOps.Herder;
using RemoteOps.PowerShell.Internal;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Starts a golem: a headless Chromium kept on a page, which runs the page's <c>.golem, #emet</c> code at
/// start (the seed's bootstrap). Without -Node this session owns it; with -Node that node's agent does.</summary>
[Cmdlet(VerbsLifecycle.Start, "HerderGolem", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(HerderGolem))]
public sealed class StartHerderGolemCommand : ConfiguredCmdlet
{
    /// <summary>The page: an absolute http, https or file URL.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Url { get; set; } = "";

    /// <summary>Its name (unique per owner); made from the URL when omitted.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>The node whose agent runs and owns it; this session when omitted.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.StewardNodeCompleter))]
    public string? Node { get; set; }

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        if (!ShouldProcess(Node is null ? $"{Url} (a golem of this session)" : $"{Url} (a golem on node {Node})", "Start golem")) return;
        var (url, name, node) = (Url, Name, Node);
        var owner = node is null ? SessionGolems.Owner(Runspace.DefaultRunspace) : null;
        RunAsync(async (writer, ct) =>
        {
            try
            {
                var golem = await HerderGolemTargets.StartAsync(config, node, url, name, owner, ct).ConfigureAwait(false);
                if (golem.BootstrapError is { } error) writer.WriteWarning($"Golem {golem.Name}: the page's {HerderGolemHerd.BootstrapSelector} code threw: {error}");
                writer.WriteObject(golem);
            }
            catch (Exception e) when (e is not OperationCanceledException && ErrorMap.ToErrorRecord(e, url, ToolErrorIds.Herder) is { } record)
            {
                writer.WriteError(record);
            }
        });
    }
}

/// <summary>Lists golems: this session's, or a node agent's with -Node.</summary>
[Cmdlet(VerbsCommon.Get, "HerderGolem")]
[OutputType(typeof(HerderGolem))]
public sealed class GetHerderGolemCommand : ConfiguredCmdlet
{
    /// <summary>Golem names (wildcards allowed); all when omitted. A name without wildcards that matches none is an error.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(Completers.HerderGolemCompleter))]
    public string[]? Name { get; set; }

    /// <summary>The node whose agent's golems to list; this session's when omitted (or null, as a session's golem carries it).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(Completers.StewardNodeCompleter))]
    public string? Node { get; set; }

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        var (names, node) = (Name, string.IsNullOrEmpty(Node) ? null : Node);
        RunAsync(async (writer, ct) =>
        {
            try
            {
                var all = await HerderGolemTargets.ListAsync(config, node, ct).ConfigureAwait(false);
                foreach (var golem in HerderGolemCmdlets.Select(all, names, node, writer)) writer.WriteObject(golem);
            }
            catch (Exception e) when (e is not OperationCanceledException && ErrorMap.ToErrorRecord(e, node, ToolErrorIds.Herder) is { } record)
            {
                writer.WriteError(record);
            }
        });
    }
}

/// <summary>Evaluates JavaScript in a golem's page and writes its value as PowerShell objects.</summary>
[Cmdlet(VerbsLifecycle.Invoke, "HerderGolem")]
[OutputType(typeof(PSObject))]
public sealed class InvokeHerderGolemCommand : ConfiguredCmdlet
{
    /// <summary>The golem.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.HerderGolemCompleter))]
    public string Name { get; set; } = "";

    /// <summary>A JavaScript expression, evaluated in the page's global scope; a promise is awaited.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Script { get; set; } = "";

    /// <summary>The node whose agent runs the golem; this session's golem when omitted (or null, as a session's golem carries it).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(Completers.StewardNodeCompleter))]
    public string? Node { get; set; }

    /// <summary>The most the script may take (default herder.max_timeout, 30s unless configured).</summary>
    [Parameter]
    [DurationTransformation]
    public TimeSpan? Timeout { get; set; }

    /// <summary>JSON objects become ordered hashtables instead of PSCustomObjects.</summary>
    [Parameter]
    public SwitchParameter AsHashtable { get; set; }

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        var (name, script, node, asHashtable) = (Name, Script, string.IsNullOrEmpty(Node) ? null : Node, AsHashtable.IsPresent);
        var timeout = Timeout;
        RunAsync(async (writer, ct) =>
        {
            string json;
            try
            {
                json = await HerderGolemTargets.EvaluateAsync(config, node, name, script, timeout, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException && ErrorMap.ToErrorRecord(e, name, ToolErrorIds.Herder) is { } record)
            {
                writer.WriteError(record);
                return;
            }
            object? value;
            try { value = JsonToPowerShell.Convert(json, asHashtable); }
            catch (JsonException e)
            {
                writer.WriteError(new ErrorRecord(new InvalidDataException($"Golem {name}: the script's value cannot be made into PowerShell objects: {e.Message}", e),
                    "RemoteOps.HerderScriptError", ErrorCategory.InvalidOperation, name));
                return;
            }
            // An array is written element by element, as ConvertFrom-Json does.
            if (value is object?[] array) foreach (var item in array) writer.WriteObject(item);
            else writer.WriteObject(value);
        });
    }
}

/// <summary>Stops golems: each browser's whole process tree is killed.</summary>
[Cmdlet(VerbsLifecycle.Stop, "HerderGolem", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(HerderGolem))]
public sealed class StopHerderGolemCommand : ConfiguredCmdlet
{
    /// <summary>Golem names (wildcards allowed). A name without wildcards that matches none is an error.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(Completers.HerderGolemCompleter))]
    public string[] Name { get; set; } = [];

    /// <summary>The node whose agent runs the golems; this session's when omitted (or null, as a session's golem carries it).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(Completers.StewardNodeCompleter))]
    public string? Node { get; set; }

    /// <summary>Write each stopped golem.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        var (names, node, passThru) = (Name, string.IsNullOrEmpty(Node) ? null : Node, PassThru.IsPresent);
        RunAsync(async (writer, ct) =>
        {
            IReadOnlyList<HerderGolem> chosen;
            try { chosen = HerderGolemCmdlets.Select(await HerderGolemTargets.ListAsync(config, node, ct).ConfigureAwait(false), names, node, writer).ToList(); }
            catch (Exception e) when (e is not OperationCanceledException && ErrorMap.ToErrorRecord(e, node, ToolErrorIds.Herder) is { } record)
            {
                writer.WriteError(record);
                return;
            }
            foreach (var golem in chosen)
            {
                var target = node is null ? $"golem {golem.Name} ({golem.Url})" : $"golem {golem.Name} ({golem.Url}) on node {node}";
                if (!await writer.InvokeOnPipeline(c => c.ShouldProcess(target, "Stop golem")).ConfigureAwait(false)) continue;
                try
                {
                    var stopped = await HerderGolemTargets.StopAsync(config, node, golem.Name, ct).ConfigureAwait(false);
                    if (passThru) writer.WriteObject(stopped);
                }
                catch (Exception e) when (e is not OperationCanceledException && ErrorMap.ToErrorRecord(e, golem.Name, ToolErrorIds.Herder) is { } record)
                {
                    writer.WriteError(record);
                }
            }
        });
    }
}

/// <summary>What the golem cmdlets share: the choice by name patterns.</summary>
internal static class HerderGolemCmdlets
{
    /// <summary>The golems matching any of <paramref name="names"/> (all when null); a name without wildcards that
    /// matches none is a GolemNotFound error, as Get-Process -Name reports one.</summary>
    public static IEnumerable<HerderGolem> Select(IReadOnlyList<HerderGolem> all, string[]? names, string? node, PipelineWriter writer)
    {
        if (names is null) return all;
        var chosen = new List<HerderGolem>();
        foreach (var name in names)
        {
            var pattern = new WildcardPattern(name, WildcardOptions.IgnoreCase);
            var matches = all.Where(g => pattern.IsMatch(g.Name)).ToList();
            if (matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(name))
            {
                var running = all.Count == 0 ? "None runs." : $"Running: {string.Join(", ", all.Select(g => g.Name))}.";
                writer.WriteError(new ErrorRecord(new ItemNotFoundException($"No golem '{name}'{(node is null ? " in this session" : $" on node {node}")}. {running}"),
                    "RemoteOps.HerderGolemNotFound", ErrorCategory.ObjectNotFound, name));
            }
            chosen.AddRange(matches.Where(m => !chosen.Contains(m)));
        }
        return chosen;
    }
}
