using System.Management.Automation;
using RemoteOps.PowerShell.Internal;
using RemoteOps.Steward;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Writes the replies (and streamed output) of earlier steward messages, like Receive-Job, from any session:
/// those that ended at once, and with -Wait those still running, as each ends. A stream continues after -AfterSequence
/// (bound from a piped StewardOutput, so piping the last line seen continues after it). Reply methods are not run again.</summary>
[Cmdlet(VerbsCommunications.Receive, "StewardReply")]
[OutputType(typeof(StewardReply), typeof(StewardOutput))]
public sealed class ReceiveStewardReplyCommand : ConfiguredCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Id")]
    [ValidateNotNullOrEmpty]
    public string[] MessageId { get; set; } = [];

    /// <summary>Wait for messages still queued or running.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    /// <summary>With -Wait, give up after this long (StewardTimeout names the messages still open).</summary>
    [Parameter]
    [DurationTransformation]
    public TimeSpan? Timeout { get; set; }

    /// <summary>Streamed output only after this line number (0: from the first).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Sequence")]
    [ValidateRange(0, long.MaxValue)]
    public long AfterSequence { get; set; }

    private readonly List<string> _ids = [];
    private readonly Dictionary<string, long> _after = new(StringComparer.Ordinal);

    protected override void ProcessRecord()
    {
        foreach (var id in MessageId)
        {
            if (!_after.ContainsKey(id)) _ids.Add(id);
            _after[id] = Math.Max(_after.GetValueOrDefault(id), AfterSequence);
        }
    }

    protected override void EndProcessing()
    {
        var config = LoadConfigCached();
        StewardSummary? summary = null;
        RunAsync(async (writer, ct) =>
        {
            var client = await StewardSenderSupport.Try(writer, _ids.FirstOrDefault(), () => StewardClient.OpenAsync(config, writer.WriteVerbose, ct)).ConfigureAwait(false);
            if (client is null) return;
            var records = new List<StewardRecord>();
            var now = DateTimeOffset.UtcNow;
            foreach (var id in _ids)
            {
                StoredRecord? found;
                try { found = await client.GetAsync(id, ct).ConfigureAwait(false); }
                catch (Exception e) when (e is not OperationCanceledException && StewardSenderSupport.ToErrorRecord(e, id) is { } error)
                {
                    writer.WriteError(error);
                    continue;
                }
                if (found is not { Record: { } r })
                {
                    writer.WriteError(StewardSenderSupport.ToErrorRecord(new StewardMessageNotFoundException($"No steward message with id '{id}' in '{client.Section.ResultsBucket}'."), id)!);
                    continue;
                }
                if (Wait || StewardStatuses.IsFinal(StewardClient.EffectiveStatus(r, now))) records.Add(r);
                else writer.WriteWarning($"Message {id} ({r.Method} on {r.Node}) is still {r.Status}; Receive-StewardReply -Wait waits for it.");
            }
            if (records.Count == 0) return;
            foreach (var (id, after) in _after.Where(a => a.Value > 0))
                writer.WriteVerbose($"Message {id}: streamed output after line {after}.");
            var output = new StewardSenderSupport.ReplyWriter(client, writer, runReplyMethods: false);
            // A PwshScript's reply is what Invoke-StewardCommand wrote: its deserialized objects (with PSComputerName),
            // remote errors and streams, not the raw CliXml lines.
            var scripts = new StewardScriptOutput(writer, hideComputerName: false);
            summary = output.Summary;
            try
            {
                await foreach (var e in client.WaitAsync(records, _after, streamOutput: true, Wait ? Timeout : null, ct).ConfigureAwait(false))
                    if (e.Record.Method == StewardMethod.PwshScript) scripts.Write(e);
                    else await output.WriteAsync(e, ct).ConfigureAwait(false);
            }
            catch (TimeoutException e)
            {
                writer.WriteError(StewardSenderSupport.ToErrorRecord(e, string.Join(", ", _ids))!);
            }
        });
        if (summary is { Total: > 1 }) WriteInformation(summary.ToString(), ["Steward", "Summary"]);
    }
}
