using System.Collections;
using System.Management.Automation;
using System.Text.Json;
using System.Text.Json.Nodes;
using RemoteOps.PowerShell.Internal;
using RemoteOps.Steward;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>The error ids of steward's sender cmdlets beyond <see cref="ToolErrorIds.StewardSender"/>: one per way a
/// node's message can end badly (TargetObject is the node), and the message-level refusals.</summary>
internal static class StewardErrorIds
{
    public const string MethodFailed = "RemoteOps.StewardMethodFailed";
    public const string TimedOut = "RemoteOps.StewardTimedOut";
    public const string Denied = "RemoteOps.StewardDenied";
    public const string NoAck = "RemoteOps.StewardNoAck";
    public const string Cancelled = "RemoteOps.StewardCancelled";
    public const string ReplyMethodFailed = "RemoteOps.StewardReplyMethodFailed";
    public const string MessageNotFound = "RemoteOps.StewardMessageNotFound";
    public const string NotCancellable = "RemoteOps.StewardNotCancellable";
    public const string NodeNotFound = "RemoteOps.StewardNodeNotFound";
    /// <summary>A node a -ToNode pattern matched in the registry is offline; nothing was sent to it.</summary>
    public const string NodeOffline = "RemoteOps.StewardNodeOffline";
}

/// <summary>A message's outcome for one node as the sender cmdlets count and report it.</summary>
internal sealed class StewardSummary
{
    public int Answered, Failed, TimedOut, NoAck, Denied, Cancelled;

    public void Count(StewardStatus status)
    {
        switch (status)
        {
            case StewardStatus.Succeeded: Answered++; break;
            case StewardStatus.Failed: Failed++; break;
            case StewardStatus.TimedOut: TimedOut++; break;
            case StewardStatus.NoAck: NoAck++; break;
            case StewardStatus.Denied: Denied++; break;
            case StewardStatus.Cancelled: Cancelled++; break;
        }
    }

    public int Total => Answered + Failed + TimedOut + NoAck + Denied + Cancelled;

    public override string ToString() =>
        $"Steward: {Total} node(s): {Answered} answered, {Failed} failed, {TimedOut} timed out, {NoAck} no ack, {Denied} denied" + (Cancelled > 0 ? $", {Cancelled} cancelled." : ".");
}

internal static class StewardSenderSupport
{
    /// <summary>The ErrorRecord for an exception the core raises on purpose, with steward's ids; null for anything else.</summary>
    public static ErrorRecord? ToErrorRecord(Exception e, object? target) => e switch
    {
        StewardMessageNotFoundException => new ErrorRecord(e, StewardErrorIds.MessageNotFound, ErrorCategory.ObjectNotFound, target),
        StewardNotCancellableException => new ErrorRecord(e, StewardErrorIds.NotCancellable, ErrorCategory.InvalidOperation, target),
        StewardNodeNotFoundException => new ErrorRecord(e, StewardErrorIds.NodeNotFound, ErrorCategory.ObjectNotFound, target),
        StewardGovernorNotFoundException => new ErrorRecord(e, StewardGovernorSupport.NotFound, ErrorCategory.ObjectNotFound, target),
        StewardGovernorExistsException => new ErrorRecord(e, StewardGovernorSupport.Exists, ErrorCategory.ResourceExists, target),
        _ => ErrorMap.ToErrorRecord(e, target, ToolErrorIds.StewardSender),
    };

    /// <summary>Runs one core call, writing a recognised failure as a non-terminating error (so the pipeline goes on).</summary>
    public static async Task<T?> Try<T>(PipelineWriter writer, object? target, Func<Task<T>> call) where T : class
    {
        try { return await call().ConfigureAwait(false); }
        catch (Exception e) when (e is not OperationCanceledException && ToErrorRecord(e, target) is { } record)
        {
            writer.WriteError(record);
            return null;
        }
    }

    /// <summary>What both Invoke- cmdlets do to send: expand the targets against the registry (-Verbose names each
    /// pattern's nodes, a pattern matching none is a warning, each offline node it matched is a NodeOffline error), queue one message per node, and say (-Verbose, the text
    /// <paramref name="queued"/> makes) what was queued.
    /// Failures are written as non-terminating errors (per node where they are one node's); null when nothing was sent.</summary>
    public static async Task<IReadOnlyList<StewardRecord>?> SendAsync(PipelineWriter writer, StewardClient client, StewardRequest request,
        int throttle, Func<StewardRecord, string> queued, CancellationToken ct)
    {
        var targets = request.Targets;
        var set = await Try(writer, string.Join(", ", targets), () => client.ResolveTargetsAsync(targets, ct)).ConfigureAwait(false);
        if (set is null) return null;
        foreach (var (pattern, nodes) in set.Expansions)
        {
            writer.WriteVerbose(nodes.Count == 0
                ? $"'{pattern}' matches no live node in the registry ({client.Section.NodesBucket})."
                : $"'{pattern}' matches {nodes.Count} live node(s): {string.Join(", ", nodes)}.");
            if (nodes.Count == 0)
                writer.WriteWarning($"'{pattern}' matches no live node; nothing was sent for it.");
        }
        // The registry's nodes a pattern matched but that are offline: each named, as one error whose target is the node.
        foreach (var offline in set.Offline)
            writer.WriteError(new ErrorRecord(new InvalidOperationException(offline.Describe()), StewardErrorIds.NodeOffline, ErrorCategory.ResourceUnavailable, offline.Name));
        if (set.Nodes.Count == 0) return null;
        var sent = await Try(writer, string.Join(", ", set.Nodes), () => client.SendAsync(request, set.Nodes, throttle,
            (node, e) => writer.WriteError(ToErrorRecord(e, node) ?? new ErrorRecord(e, ToolErrorIds.StewardSender.Unavailable, ErrorCategory.ConnectionError, node)),
            ct)).ConfigureAwait(false);
        if (sent is null) return null;
        foreach (var r in sent)
            writer.WriteVerbose(queued(r));
        return sent;
    }

    /// <summary>Warns when records that named a node or sender were not signed by it (they were dropped).</summary>
    public static void WarnRefused(PipelineWriter writer, StewardClient client)
    {
        if (client.Refused > 0)
            writer.WriteWarning($"{client.Refused} record(s) in '{client.Section.ResultsBucket}' were dropped: not signed by the node or sender they name.");
    }

    /// <summary>The non-terminating error a node's unsuccessful reply gets (TargetObject: the node), or null.</summary>
    public static ErrorRecord? ErrorFor(StewardReply reply)
    {
        var (id, category, what) = reply.Status switch
        {
            StewardStatus.Failed => (StewardErrorIds.MethodFailed, ErrorCategory.InvalidResult, "failed"),
            StewardStatus.TimedOut => (StewardErrorIds.TimedOut, ErrorCategory.OperationTimeout, "timed out"),
            StewardStatus.Denied => (StewardErrorIds.Denied, ErrorCategory.PermissionDenied, "was denied"),
            StewardStatus.NoAck => (StewardErrorIds.NoAck, ErrorCategory.ResourceUnavailable, "was not acknowledged"),
            StewardStatus.Cancelled => (StewardErrorIds.Cancelled, ErrorCategory.OperationStopped, "was cancelled"),
            _ => (null, ErrorCategory.NotSpecified, ""),
        };
        if (id is null) return null;
        var detail = reply.Error.Trim();
        var exit = reply.ExitCode is { } code && reply.Status == StewardStatus.Failed ? $" (exit code {code})" : "";
        var message = $"{reply.Method} on {reply.Node} {what}{exit}{(detail.Length > 0 ? ": " + detail : ".")} Message {reply.MessageId}.";
        return new ErrorRecord(new InvalidOperationException(message), id, category, reply.Node);
    }

    /// <summary>Writes what a wait yields: lines (to the pipeline, or appended to the file of a streamed ToFileAppend),
    /// and each final reply after its reply method ran, with an error record for a node that did not succeed.</summary>
    public sealed class ReplyWriter(StewardClient client, PipelineWriter writer, bool runReplyMethods)
    {
        public StewardSummary Summary { get; } = new();
        private readonly StewardReplyHandler _replies = new(client.Section, runReplyMethods);

        public async Task WriteAsync(StewardWaitEvent e, CancellationToken ct)
        {
            var record = e.Record;
            if (e.Output is { } line)
            {
                if (await _replies.OnLineAsync(record, line, ct).ConfigureAwait(false)) writer.WriteObject(line);
                return;
            }
            var reply = e.Reply!;
            var method = _replies.MethodFor(record);
            try
            {
                var outcome = await _replies.OnReplyAsync(record, ct).ConfigureAwait(false);
                if (outcome is not null)
                    writer.WriteVerbose($"{record.Node}: reply method {outcome.Method} {(outcome.Command is { } c ? $"ran in {outcome.Path} (exit code {c.ExitCode})" : $"wrote {outcome.Path}")}.");
                if (outcome?.Problem is { } problem)
                    writer.WriteError(new InvalidOperationException($"Reply method {method} for {record.Node} (message {record.MessageId}): {problem}"),
                        StewardErrorIds.ReplyMethodFailed, ErrorCategory.InvalidResult, record.Node);
            }
            catch (Exception x) when (x is IOException or UnauthorizedAccessException or StewardArgumentException or ArgumentException)
            {
                writer.WriteError(new InvalidOperationException($"Reply method {method} for {record.Node} (message {record.MessageId}): {x.Message}", x),
                    StewardErrorIds.ReplyMethodFailed, ErrorCategory.WriteError, record.Node);
            }
            Summary.Count(reply.Status);
            writer.WriteObject(reply);
            if (ErrorFor(reply) is { } error) writer.WriteError(error);
        }
    }

    /// <summary>The seed's operation object (from ConvertFrom-Json, a hashtable, or JSON text) as JSON for the parser.</summary>
    public static string? OperationJson(object? operation)
    {
        if (operation is null) return null;
        var value = operation is PSObject p ? p.BaseObject : operation;
        if (value is string text) return text;
        return ToNode(operation, 0)?.ToJsonString();
    }

    private static JsonNode? ToNode(object? value, int depth)
    {
        if (depth > 8) throw new StewardArgumentException("The operation is nested too deeply.");
        var pso = value as PSObject;
        var baseObject = pso?.BaseObject ?? value;
        switch (baseObject)
        {
            case null: return null;
            case string s: return JsonValue.Create(s);
            case bool b: return JsonValue.Create(b);
            case int or long or short or byte or double or float or decimal:
                return JsonValue.Create(Convert.ToDecimal(baseObject, System.Globalization.CultureInfo.InvariantCulture));
            case IDictionary d:
            {
                var o = new JsonObject();
                foreach (DictionaryEntry kv in d) o[kv.Key?.ToString() ?? ""] = ToNode(kv.Value, depth + 1);
                return o;
            }
            case IEnumerable list:
                return new JsonArray(list.Cast<object?>().Select(i => ToNode(i, depth + 1)).ToArray());
            case PSCustomObject when pso is not null:
            {
                var o = new JsonObject();
                foreach (var prop in pso.Properties) o[prop.Name] = ToNode(prop.Value, depth + 1);
                return o;
            }
            default:
                return JsonValue.Create(baseObject.ToString());
        }
    }
}
