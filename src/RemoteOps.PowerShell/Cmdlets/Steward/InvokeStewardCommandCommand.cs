using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Remoting;
using System.Management.Automation.Runspaces;
using RemoteOps.Config;
using RemoteOps.PowerShell.Internal;
using RemoteOps.Steward;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Invoke-Command over steward: the scriptblock runs in pwsh on each node (the method PwshScript), signed and
/// durably queued, and its output comes back as deserialized objects with PSComputerName, as they are written; the
/// node's error, warning, verbose, debug and information records come back on the same streams here.</summary>
[Cmdlet(VerbsLifecycle.Invoke, "StewardCommand")]
[OutputType(typeof(PSObject), typeof(StewardMessage))]
public sealed class InvokeStewardCommandCommand : ConfiguredCmdlet
{
    /// <summary>Node names (sent as they are, online or not) and destination patterns (the live nodes that match).</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [Alias("ToNodes")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.StewardNodeCompleter))]
    public string[] ToNode { get; set; } = [];

    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNull]
    public ScriptBlock ScriptBlock { get; set; } = null!;

    /// <summary>The script's arguments ($args, or its param block), serialized as Invoke-Command serializes them.</summary>
    [Parameter]
    [Alias("Args")]
    public object?[]? ArgumentList { get; set; }

    /// <summary>Pipeline input: collected and sent, the script reads it as $input.</summary>
    [Parameter(ValueFromPipeline = true)]
    public object? InputObject { get; set; }

    /// <summary>How many messages are stored and published at once.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = 32;

    [Parameter]
    [DurationTransformation]
    public TimeSpan? MethodTimeout { get; set; }

    [Parameter]
    [DurationTransformation]
    public TimeSpan? AckTimeout { get; set; }

    [Parameter]
    [ValidateRange(0, StewardConfigReader.MaxRetries)]
    public int? Retries { get; set; }

    /// <summary>A fleet governor (New-StewardGovernor, or steward.governors): each node waits for one of its slots before
    /// running the script, so at most its capacity run at once across every node and sender.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(Completers.StewardGovernorCompleter))]
    public string? Governor { get; set; }

    /// <summary>Return one StewardMessage per node at once (Status Queued).</summary>
    [Parameter]
    public SwitchParameter NoWait { get; set; }

    /// <summary>Objects carry PSShowComputerName = $false (PSComputerName is still set).</summary>
    [Parameter]
    public SwitchParameter HideComputerName { get; set; }

    private RemoteOpsConfig? _config;
    private readonly List<object?> _input = [];
    private bool _hasInput;

    protected override void BeginProcessing() => _config = LoadConfig();

    protected override void ProcessRecord()
    {
        if (MyInvocation.BoundParameters.ContainsKey(nameof(InputObject)))
        {
            _hasInput = true;
            _input.Add(InputObject);
        }
    }

    protected override void EndProcessing()
    {
        StewardRequest request;
        try
        {
            var (text, usingValues) = RewriteUsing(ScriptBlock);
            request = StewardPwsh.Request(ToNode, text, (ArgumentList ?? []).Select(a => PSSerializer.Serialize(a)),
                usingValues.ToDictionary(u => u.Key, u => PSSerializer.Serialize(u.Value)), _input.Select(i => PSSerializer.Serialize(i)), _hasInput,
                AckTimeout, Retries, MethodTimeout) with { Governor = Governor };
            StewardClient.Check(request, _config!.Steward);
        }
        catch (Exception e) when (StewardSenderSupport.ToErrorRecord(e, string.Join(", ", ToNode)) is { } record)
        {
            WriteError(record);
            return;
        }
        catch (RuntimeException e)
        {
            // A $using: variable that cannot be read or serialized.
            WriteError(new ErrorRecord(e, ToolErrorIds.StewardSender.InvalidArgument, ErrorCategory.InvalidArgument, ScriptBlock));
            return;
        }
        var config = _config!;
        var hide = HideComputerName.IsPresent;
        var noWait = NoWait.IsPresent;
        var throttle = ThrottleLimit;
        RunAsync(async (writer, ct) =>
        {
            var client = await StewardSenderSupport.Try(writer, request.Targets[0], () => StewardClient.OpenAsync(config, writer.WriteVerbose, ct)).ConfigureAwait(false);
            if (client is null) return;
            var sent = await StewardSenderSupport.SendAsync(writer, client, request, throttle, r => $"Queued PwshScript for {r.Node}: message {r.MessageId}, window until {r.Expires:u}.", ct).ConfigureAwait(false);
            if (sent is null) return;
            if (noWait)
                foreach (var r in sent) writer.WriteObject(client.ToMessage(r, DateTimeOffset.UtcNow));
            if (noWait || sent.Count == 0) return;
            var output = new StewardScriptOutput(writer, hide);
            await foreach (var e in client.WaitAsync(sent, null, streamOutput: true, timeout: null, ct).ConfigureAwait(false))
                output.Write(e);
            StewardSenderSupport.WarnRefused(writer, client);
        });
    }

    /// <summary>The script's text with each $using: of its own scope (not of a nested scriptblock, which is the node's
    /// business, as in ForEach-Object -Parallel) replaced by a variable the worker defines, and the values, read here
    /// in the caller's scope.</summary>
    private (string Text, Dictionary<string, object?> Values) RewriteUsing(ScriptBlock scriptBlock)
    {
        var root = (ScriptBlockAst)scriptBlock.Ast;
        var text = root.Extent.Text;
        var start = root.Extent.StartOffset;
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        var names = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var usings = root.FindAll(a => a is UsingExpressionAst u && NearestScriptBlock(u) == root, searchNestedScriptBlocks: true)
            .Cast<UsingExpressionAst>().OrderByDescending(u => u.Extent.StartOffset).ToList();
        foreach (var u in usings)
        {
            var variable = UsingExpressionAst.ExtractUsingVariable(u);
            var path = variable.VariablePath.UserPath;
            if (!names.TryGetValue(path, out var key))
            {
                key = names.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
                names[path] = key;
                // As Invoke-Command: a $using: variable that is not set here is an error, not a silent $null there.
                if (SessionState.PSVariable.Get(path) is not { } found)
                    throw new RuntimeException($"The value of the using variable '$using:{path}' cannot be retrieved because it has not been set in the local session.");
                values[key] = found.Value;
            }
            // Only the "$using:name" part is replaced: an index or member after it ($using:a[0]) stays as written.
            var from = variable.Extent.StartOffset - start;
            var length = variable.Extent.EndOffset - variable.Extent.StartOffset;
            text = text[..from] + "$" + StewardPwsh.UsingPrefix + key + text[(from + length)..];
        }
        // A scriptblock literal's extent includes its braces; its body is what runs.
        if (root.Parent is ScriptBlockExpressionAst && text.StartsWith('{') && text.EndsWith('}')) text = text[1..^1];
        return (text, values);
    }

    private static Ast? NearestScriptBlock(Ast ast)
    {
        for (var p = ast.Parent; p is not null; p = p.Parent)
            if (p is ScriptBlockAst) return p;
        return null;
    }
}

/// <summary>Turns a PwshScript's chunks into objects and stream records here, and its final reply into one error when
/// it did not succeed.</summary>
internal sealed class StewardScriptOutput(PipelineWriter writer, bool hideComputerName)
{
    private readonly Dictionary<string, string> _terminating = new(StringComparer.Ordinal);

    public void Write(StewardWaitEvent e)
    {
        var node = e.Record.Node;
        if (e.Output is { } chunk)
        {
            var line = chunk.Line;
            if (line.Length < 2 || line[1] != ':' || !StewardPwsh.Tags.Contains(line[0], StringComparison.Ordinal)) return;
            object? value;
            try { value = PSSerializer.Deserialize(line[2..]); }
            catch (Exception x) when (x is System.Xml.XmlException or InvalidOperationException or PSArgumentException)
            {
                writer.WriteWarning($"{node}: a record that is not CliXml was skipped ({x.Message}).");
                return;
            }
            switch (line[0])
            {
                case 'O':
                    var pso = PSObject.AsPSObject(value ?? new object());
                    if (value is null) return;
                    pso.Properties.Remove("PSComputerName");
                    pso.Properties.Remove("PSShowComputerName");
                    pso.Properties.Add(new PSNoteProperty("PSComputerName", node));
                    pso.Properties.Add(new PSNoteProperty("PSShowComputerName", !hideComputerName));
                    writer.WriteObject(pso);
                    break;
                case 'E':
                    writer.WriteError(RemoteError(value, node, null));
                    break;
                case 'T':
                    _terminating[e.Record.MessageId] = Text(value, "Message");
                    break;
                case 'W': writer.WriteWarning(Text(value, null)); break;
                case 'V': writer.WriteVerbose(Text(value, null)); break;
                case 'D': writer.WriteDebug(Text(value, null)); break;
                case 'I':
                    var info = new InformationRecord(Text(value, "MessageData"), Text(value, "Source"));
                    if (PSObject.AsPSObject(value ?? "").Properties["Tags"]?.Value is { } tags)
                        foreach (var t in LanguagePrimitives.GetEnumerable(tags) ?? Array.Empty<object>()) info.Tags.Add(t?.ToString() ?? "");
                    writer.WriteInformation(new RemotingInformationRecord(info, new OriginInfo(node, Guid.Empty)));
                    break;
            }
            return;
        }
        var reply = e.Reply!;
        if (StewardSenderSupport.ErrorFor(reply) is { } error)
        {
            var detail = _terminating.Remove(reply.MessageId, out var thrown) ? thrown : null;
            // A terminating error on the node: its own message, with the node as origin and target.
            var record = detail is null ? error : new ErrorRecord(new RemoteException(detail), error.FullyQualifiedErrorId, error.CategoryInfo.Category, node);
            writer.WriteError(new RemotingErrorRecord(record, new OriginInfo(node, Guid.Empty)));
        }
    }

    /// <summary>A non-terminating error of the node: its message and id, the node as TargetObject and origin.</summary>
    private static ErrorRecord RemoteError(object? value, string node, string? fallbackId)
    {
        var message = Text(value, "Message");
        var id = Text(value, "FullyQualifiedErrorId");
        var category = Enum.TryParse<ErrorCategory>(Text(value, "Category"), out var c) ? c : ErrorCategory.NotSpecified;
        var record = new ErrorRecord(new RemoteException(message), id.Length > 0 ? id : fallbackId ?? "RemoteOps.StewardRemoteError", category, node);
        return new RemotingErrorRecord(record, new OriginInfo(node, Guid.Empty));
    }

    private static string Text(object? value, string? property)
    {
        if (value is null) return "";
        if (property is null) return value is PSObject p ? p.BaseObject?.ToString() ?? "" : value.ToString() ?? "";
        return PSObject.AsPSObject(value).Properties[property]?.Value?.ToString() ?? "";
    }
}
