using System.Management.Automation;
using RemoteOps.PowerShell.Internal;
using RemoteOps.Steward;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Reads steward audit logs (steward.audit_log): what agents received and clients sent, oldest first, with their
/// rotated files. A record pipes into Invoke-StewardMethod to send the same message again.</summary>
[Cmdlet(VerbsCommon.Get, "StewardAudit")]
[OutputType(typeof(StewardAuditRecord))]
public sealed class GetStewardAuditCommand : ConfiguredCmdlet
{
    /// <summary>The error ids of Get-StewardAudit beyond steward's own.</summary>
    internal const string NotFoundId = "RemoteOps.StewardAuditNotFound";
    internal const string LineInvalidId = "RemoteOps.StewardAuditLineInvalid";
    internal const string UnreadableId = "RemoteOps.StewardAuditUnreadable";

    /// <summary>Audit files (their rotated files are read too). Default: steward.audit_log's file, else this config's
    /// client log (&lt;data_directory&gt;/audit.jsonl) and the agent log of its destination, those that exist.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    /// <summary>Only messages for this node, or for the nodes a pattern (com.acme.*, com.acme.**) matches.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.StewardNodeCompleter))]
    public string? Node { get; set; }

    /// <summary>Only records at or after this time: a date and time, or a duration back from now (1h, 30m, a TimeSpan).</summary>
    [Parameter]
    [ValidateNotNull]
    public object? Since { get; set; }

    /// <summary>Only the records of these message ids.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? MessageId { get; set; }

    /// <summary>Only these verdicts: run, denied, duplicate, dropped, noack, cancelled (an agent's), sent (a client's).</summary>
    [Parameter]
    [ValidateSet("run", "denied", "duplicate", "dropped", "noack", "cancelled", "sent")]
    public string[]? Verdict { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<string> paths;
        var explicitPaths = Path is { Length: > 0 };
        if (explicitPaths)
            paths = Path!.Select(ResolvePath).ToArray();
        else
        {
            var section = LoadConfigCached().Steward;
            paths = StewardAuditLog.DefaultPaths(section, LoadConfigCached().Destination);
        }
        RunAsync((writer, ct) =>
        {
            try
            {
                foreach (var missing in paths.Where(p => !File.Exists(p) && !File.Exists(StewardAuditLog.Rotated(p, 1))))
                {
                    if (explicitPaths)
                        writer.WriteError(new ErrorRecord(new FileNotFoundException($"No audit log at {missing} (nor its rotated files).", missing),
                            NotFoundId, ErrorCategory.ObjectNotFound, missing));
                    else writer.WriteVerbose($"No audit log at {missing}.");
                }
                var since = StewardErrorLog.ToSince(Since is PSObject p ? p.BaseObject : Since, DateTimeOffset.UtcNow);
                var records = StewardAuditLog.Query(paths, Node, since, MessageId, Verdict,
                    (file, line, problem) => writer.WriteError(new ErrorRecord(new InvalidDataException($"{file}, line {line}: {problem}; skipped."),
                        LineInvalidId, ErrorCategory.InvalidData, $"{file}:{line}")), ct);
                foreach (var r in records) writer.WriteObject(r);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                writer.WriteError(new ErrorRecord(e, UnreadableId, ErrorCategory.ReadError, string.Join(", ", paths)));
            }
            catch (Exception e) when (e is not OperationCanceledException && StewardSenderSupport.ToErrorRecord(e, (object?)Node ?? Since) is { } record)
            {
                writer.WriteError(record);
            }
            return Task.CompletedTask;
        });
    }
}
