using System.Management.Automation;
using RemoteOps.PowerShell.Internal;
using RemoteOps.Remaphore;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Sends a signed request and collects verified replies (the seed's <c>remaphore -r</c>) until every expected
/// responder answered or the timeout; reports who did not answer as errors.</summary>
[Cmdlet(VerbsLifecycle.Invoke, "Remaphore", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(RemaphoreResponse))]
[OutputType(typeof(string))]
public sealed class InvokeRemaphoreCommand : RemaphoreSenderCmdlet
{
    /// <summary>How long to wait for replies (default 10s): a TimeSpan, seconds, or 1h2m3s4ms.</summary>
    [Parameter]
    [DurationTransformation]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Who must answer, by public key or destination (pattern); default: the config peers whose destination matches.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.DestinationCompleter))]
    public string[]? ExpectedResponder { get; set; }

    /// <summary>Write the seed's text lines (destination,exit-code,output, multi-line replies framed) instead of objects.</summary>
    [Parameter]
    public SwitchParameter AsText { get; set; }


    private RemoteOps.Config.RemoteOpsConfig? _config;

    protected override void BeginProcessing()
    {
        _config = LoadConfigCached();
    }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess($"{Destination} on {_config!.Subject}.{Subject ?? "all"}", $"Send remaphore request verb '{Verb}' and wait for replies")) return;
        var config = _config;
        var options = new RemaphoreSendOptions { Payload = Message ?? "", Destination = Destination, Verb = Verb, Uuid = Uuid, Identity = Identity, Subject = Subject };
        var timeout = Timeout;
        var expected = ExpectedResponder;
        var asText = AsText.IsPresent;
        RunAsync(async (output, ct) =>
        {
            try
            {
                await using var request = await RemaphoreRequest.StartAsync(config, options, timeout, expected, ct).ConfigureAwait(false);
                output.WriteVerbose($"Sent request {request.Request.Hash[..12]} verb '{Verb}' to {Destination}; waiting up to {RemaphoreSupport.Describe(timeout)} for {request.Expected.Count} responder(s): {string.Join(", ", request.Expected.Select(p => p.Destination))}.");
                var separator = RemaphoreText.NewSeparator();
                await foreach (var e in request.Events.ReadAllAsync(ct).ConfigureAwait(false))
                {
                    switch (e)
                    {
                        case RemaphoreNote note: output.WriteVerbose(note.Text); break;
                        case RemaphoreWarning warning: output.WriteWarning(warning.Text); break;
                        case RemaphoreReplied replied when asText:
                            foreach (var line in RemaphoreText.Format(replied.Response, separator)) output.WriteObject(line);
                            break;
                        case RemaphoreReplied replied: output.WriteObject(replied.Response); break;
                    }
                }
                ct.ThrowIfCancellationRequested();
                foreach (var peer in request.Missing)
                    output.WriteError(new TimeoutException($"No reply from {peer.Destination} ({peer.Public}) within {RemaphoreSupport.Describe(timeout)}."),
                        "RemoteOps.RemaphoreNoReply", ErrorCategory.OperationTimeout, peer.Destination);
            }
            catch (Exception e) when (e is not OperationCanceledException && RemaphoreSupport.ToErrorRecord(e, Destination) is { } record)
            {
                output.WriteError(record);
            }
        });
    }
}
