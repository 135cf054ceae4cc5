using System.Management.Automation;
using RemoteOps.PowerShell.Internal;
using RemoteOps.Remaphore;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Sends a signed remaphore message and returns at once (the seed's <c>remaphore -s</c>).</summary>
[Cmdlet(VerbsCommunications.Send, "Remaphore", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(RemaphoreMessage))]
public sealed class SendRemaphoreCommand : RemaphoreSenderCmdlet
{
    /// <summary>Write the sent message.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <summary>Also store the signed message in the latch bucket, so Wait-Remaphore -Uuid started later still sees it.</summary>
    [Parameter]
    public SwitchParameter Latch { get; set; }

    /// <summary>How long a latched message stays (default 1h).</summary>
    [Parameter]
    [DurationTransformation]
    public TimeSpan LatchTtl { get; set; } = TimeSpan.FromHours(1);

    private RemoteOps.Config.RemoteOpsConfig? _config;

    protected override void BeginProcessing()
    {
        _config = LoadConfigCached();
    }

    protected override void ProcessRecord()
    {
        var target = $"{Destination} on {_config!.Subject}.{Subject ?? "all"}";
        if (!ShouldProcess(target, $"Send remaphore verb '{Verb}'{(Uuid is null ? "" : $" uuid '{Uuid}'")} with a {System.Text.Encoding.UTF8.GetByteCount(Message ?? "")}-byte payload{(Latch ? $", latched for {RemaphoreSupport.Describe(LatchTtl)}" : "")}")) return;
        var options = new RemaphoreSendOptions
        {
            Payload = Message ?? "",
            Destination = Destination,
            Verb = Verb,
            Uuid = Uuid,
            Identity = Identity,
            Subject = Subject,
            Latch = Latch,
            LatchTtl = LatchTtl,
        };
        // A send usually completes without waiting (sign, hand to the connection, start the flush): then it is
        // finished here on the pipeline thread, with no thread hand-off, which is what makes a loop of sends fast.
        // When it must wait (first connect, the latch bucket, back-pressure), the rest runs through RunAsync.
        var sending = RemaphoreClient.SendAsync(_config, options, StopToken);
        if (sending.IsCompleted)
        {
            Complete(sending, null);
            return;
        }
        RunAsync(async (output, ct) =>
        {
            try { await sending.ConfigureAwait(false); }
            catch (Exception) when (!sending.IsCanceled) { }
            Complete(sending, output);
        });
    }

    /// <summary>Writes the outcome of a finished send: directly when on the pipeline thread (<paramref name="output"/> null), else through the writer.</summary>
    private void Complete(Task<RemaphoreMessage> sending, PipelineWriter? output)
    {
        if (sending.IsCanceled) throw output is null ? new PipelineStoppedException() : new OperationCanceledException(StopToken);
        if (sending.Exception?.InnerException is { } e)
        {
            var record = RemaphoreSupport.ToErrorRecord(e, Destination);
            if (record is null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e);
            if (output is null) WriteError(record); else output.WriteError(record);
            return;
        }
        var sent = sending.Result;
        var text = $"Sent {sent.Hash[..12]} verb '{sent.Verb}' uuid {sent.Uuid} to {sent.Destination} on {sent.Subject}{(Latch ? $", latched for {RemaphoreSupport.Describe(LatchTtl)}" : "")}.";
        if (output is null) WriteVerbose(text); else output.WriteVerbose(text);
        if (PassThru)
        {
            if (output is null) WriteObject(sent); else output.WriteObject(sent);
        }
    }
}
