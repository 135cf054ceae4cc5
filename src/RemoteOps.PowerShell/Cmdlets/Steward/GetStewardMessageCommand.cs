using System.Management.Automation;
using RemoteOps.PowerShell.Internal;
using RemoteOps.Steward;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Lists steward messages and their status from the results bucket, from any session and any client with
/// rights: by id, node (name or pattern) and status. A message still Queued past its delivery window shows as NoAck.</summary>
[Cmdlet(VerbsCommon.Get, "StewardMessage")]
[OutputType(typeof(StewardMessage))]
public sealed class GetStewardMessageCommand : ConfiguredCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Id")]
    [ValidateNotNullOrEmpty]
    public string[]? MessageId { get; set; }

    /// <summary>Only messages to this node, or to the nodes a pattern (com.acme.*, com.acme.**) matches.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.StewardNodeCompleter))]
    public string? ToNode { get; set; }

    [Parameter]
    public StewardStatus[]? Status { get; set; }

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        RunAsync(async (writer, ct) =>
        {
            var client = await StewardSenderSupport.Try(writer, MessageId?.FirstOrDefault(), () => StewardClient.OpenAsync(config, writer.WriteVerbose, ct)).ConfigureAwait(false);
            if (client is null) return;
            try
            {
                await foreach (var m in client.GetMessagesAsync(MessageId, ToNode, Status,
                    id => writer.WriteError(StewardSenderSupport.ToErrorRecord(new StewardMessageNotFoundException($"No steward message with id '{id}' in '{client.Section.ResultsBucket}'."), id)!),
                    ct).ConfigureAwait(false))
                    writer.WriteObject(m);
            }
            catch (Exception e) when (e is not OperationCanceledException && StewardSenderSupport.ToErrorRecord(e, (object?)ToNode ?? MessageId) is { } record)
            {
                writer.WriteError(record);
            }
        });
    }
}
