using System.Collections;
using System.Management.Automation;
using RemoteOps.Herder;
using RemoteOps.PowerShell.Internal;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Runs code in an environment (python, bash, node, ...) as a sandboxed minion and returns how it ended:
/// the seed's controlled minion, as a plain process under bubblewrap instead of a Docker container.</summary>
[Cmdlet(VerbsLifecycle.Invoke, "HerderMinion")]
[OutputType(typeof(HerderMinionResult))]
public sealed class InvokeHerderMinionCommand : ConfiguredCmdlet
{
    /// <summary>The environment: a built-in (bash, python, node, ruby, pwsh, latex) or one under herder.environments.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.HerderEnvironmentCompleter))]
    public string Environment { get; set; } = "";

    /// <summary>The files to write into the minion's directory: name → text, bytes, or a FileInfo to copy.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public Hashtable File { get; set; } = [];

    /// <summary>A file the run writes, returned in Output (the seed's output form variable).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? Output { get; set; }

    /// <summary>The most it may run (default and ceiling: herder.max_timeout, 30s unless configured).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [DurationTransformation]
    public TimeSpan? Timeout { get; set; }

    /// <summary>Bytes of memory it may have (default and ceiling: herder.memory_limit, 256 MiB unless configured).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, long.MaxValue)]
    public long? MemoryLimit { get; set; }

    /// <summary>Keep the network (a minion has none by default).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public SwitchParameter Network { get; set; }

    /// <summary>The node whose agent runs it (over NATS, as steward's HerderMinion method); this machine when omitted.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.StewardNodeCompleter))]
    public string? Node { get; set; }

    /// <summary>A herder token (New-HerderToken): its owner pays herder.credits_per_second for the run's time.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? Token { get; set; }

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        if (!HerderFileArguments.TryRead(this, File, out var files)) return;
        var request = new HerderMinionRequest
        {
            Environment = Environment, Files = files, Output = Output, Timeout = Timeout, MemoryLimit = MemoryLimit, Network = Network, Token = Token,
        };
        RunAsync(async (writer, ct) =>
        {
            try
            {
                var result = Node is null
                    ? await HerderMinionRunner.RunAsync(config, request, ct).ConfigureAwait(false)
                    : await HerderRemote.RunMinionAsync(config, Node, request, ct).ConfigureAwait(false);
                if (result.OutputName.Length > 0 && result.Output is null)
                    writer.WriteWarning($"The minion did not leave a regular file '{result.OutputName}' (at most {HerderMinionRunner.MaxOutputFileBytes / (1024 * 1024)} MiB): Output is empty.");
                writer.WriteObject(result);
            }
            catch (Exception e) when (e is not OperationCanceledException && ErrorMap.ToErrorRecord(e, Node ?? Environment, ToolErrorIds.Herder) is { } record)
            {
                writer.WriteError(record);
            }
        });
    }
}
