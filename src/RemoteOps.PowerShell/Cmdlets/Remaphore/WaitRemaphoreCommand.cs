using System.Management.Automation;
using RemoteOps.PowerShell.Internal;
using RemoteOps.Remaphore;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Waits for signed remaphore messages (the seed's receive mode) and writes each verified match;
/// optionally runs a command or a script block for each, replying to the sender when it asked.</summary>
[Cmdlet(VerbsLifecycle.Wait, "Remaphore")]
[OutputType(typeof(RemaphoreMessage))]
public sealed class WaitRemaphoreCommand : ConfiguredCmdlet
{
    /// <summary>The destination messages must address (-D); default: the config's destination.</summary>
    [Parameter]
    [ValidateDestinationPattern]
    [ArgumentCompleter(typeof(Completers.DestinationCompleter))]
    public string? Destination { get; set; }

    /// <summary>Take messages whatever their destination (-d; dangerous).</summary>
    [Parameter]
    public SwitchParameter AnyDestination { get; set; }

    /// <summary>Only the message with this uuid (-u); implies -Once.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Uuid { get; set; }

    /// <summary>Only these verbs (-v).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.RemaphoreVerbCompleter))]
    public string[]? Verb { get; set; }

    /// <summary>Only messages from this public key (-p).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.PeerKeyCompleter))]
    public string? Sender { get; set; }

    /// <summary>Return after the first matching message (-o).</summary>
    [Parameter]
    public SwitchParameter Once { get; set; }

    /// <summary>Give up after this long (-t): a TimeSpan, seconds, or 1h2m3s4ms. Nothing received by then is an error.
    /// 0, like none, is no timeout (the seed's -t 0).</summary>
    [Parameter]
    [DurationTransformation]
    public TimeSpan? Timeout { get; set; }

    /// <summary>Run this program for each message, as <c>cmd [args] $verb $payload</c> with REMAPHORE_* variables set.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Command { get; set; }

    /// <summary>Run this script block for each message ($_ is the message); its output is written and sent back as the reply.</summary>
    [Parameter]
    [ValidateNotNull]
    public ScriptBlock? ScriptBlock { get; set; }

    /// <summary>Subject suffix (-S): listens on &lt;subject&gt;.&lt;Subject&gt; instead of &lt;subject&gt;.all.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Subject { get; set; }

    protected override void EndProcessing()
    {
        if (AnyDestination && Destination is not null)
            ThrowTerminatingError(new ErrorRecord(new PSArgumentException("-Destination and -AnyDestination cannot be used together."), "RemoteOps.RemaphoreInvalidArgument", ErrorCategory.InvalidArgument, Destination));
        if (Command is not null && ScriptBlock is not null)
            ThrowTerminatingError(new ErrorRecord(new PSArgumentException("-Command and -ScriptBlock cannot be used together."), "RemoteOps.RemaphoreInvalidArgument", ErrorCategory.InvalidArgument, null));
        var config = LoadConfigCached();
        var options = new RemaphoreWaitOptions
        {
            Destination = Destination,
            AnyDestination = AnyDestination,
            Uuid = Uuid,
            Verbs = RemaphoreSupport.SplitVerbs(Verb),
            Sender = Sender,
            Once = Once,
            Timeout = Timeout,
            Subject = Subject,
        };
        var script = ScriptBlock;
        RunAsync(async (output, ct) =>
        {
            var handling = new RemaphoreHandling
            {
                Command = Command,
                WorkingDirectory = SessionState.Path.CurrentFileSystemLocation.ProviderPath,
                Handler = script is null ? null : (message, token) => output.InvokeOnPipeline(cmdlet => RunScriptBlock(cmdlet, script, message)).WaitAsync(token),
            };
            try
            {
                await RemaphoreReceiver.RunAsync(config, options, handling, e => Write(output, e), ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException && RemaphoreSupport.ToErrorRecord(e, Subject) is { } record)
            {
                output.WriteError(record);
            }
        });
    }

    private static void Write(PipelineWriter output, RemaphoreEvent e)
    {
        switch (e)
        {
            case RemaphoreNote note: output.WriteVerbose(note.Text); break;
            case RemaphoreWarning warning: output.WriteWarning(warning.Text); break;
            case RemaphoreReceived received: output.WriteObject(received.Message); break;
            case RemaphoreCommandFailed failed:
                output.WriteError(new InvalidOperationException(failed.Error), "RemoteOps.RemaphoreCommandFailed", ErrorCategory.ObjectNotFound, failed.Program);
                break;
            case RemaphoreWaitEnded { SubscriptionClosed: true } ended:
                output.WriteError(new InvalidOperationException(ended.Text), "RemoteOps.ConnectionError", ErrorCategory.ConnectionError, ended.Subject);
                break;
            case RemaphoreWaitEnded ended:
                output.WriteError(new TimeoutException(ended.Text), "RemoteOps.RemaphoreTimeout", ErrorCategory.OperationTimeout, ended.Subject);
                break;
        }
    }

    /// <summary>On the pipeline thread: runs the script block with $_ = the message, writes its output, and returns
    /// the reply (exit code 0 and the output as text, or 1 and the error when it throws).</summary>
    private static (int?, string?) RunScriptBlock(Cmdlet cmdlet, ScriptBlock script, RemaphoreMessage message)
    {
        try
        {
            var results = script.InvokeWithContext(null, [new PSVariable("_", message)], message);
            var text = new List<string>();
            foreach (var o in results)
            {
                cmdlet.WriteObject(o);
                if (o is not null) text.Add(o.ToString());
            }
            return (0, string.Join("\n", text));
        }
        catch (RuntimeException e) when (e is not PipelineStoppedException)
        {
            cmdlet.WriteError(new ErrorRecord(e, "RemoteOps.RemaphoreScriptBlockFailed", ErrorCategory.OperationStopped, message));
            return (1, e.Message);
        }
    }
}
