using System.Management.Automation;
using RemoteOps.PowerShell.Internal;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>The parameters of a signed remaphore message, shared by Send-Remaphore and Invoke-Remaphore
/// (the seed's -s and -r take the same message flags).</summary>
public abstract class RemaphoreSenderCmdlet : ConfiguredCmdlet
{
    /// <summary>The payload (the rest of the seed's command line).</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Payload")]
    [AllowEmptyString]
    public string Message { get; set; } = "";

    /// <summary>Destination pattern (-D); default ** reaches every node.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateDestinationPattern]
    [ArgumentCompleter(typeof(Completers.DestinationCompleter))]
    public string Destination { get; set; } = "**";

    /// <summary>The verb (-v); selects the identity unless -Identity names one.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.RemaphoreVerbCompleter))]
    public string Verb { get; set; } = "ping";

    /// <summary>The uuid (-u) receivers can wait for; up to 12 bytes are sent as given, longer ones hashed.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Uuid { get; set; }

    /// <summary>Public key of the identity to sign with (-p).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.IdentityCompleter))]
    public string? Identity { get; set; }

    /// <summary>Subject suffix (-S): sends on &lt;subject&gt;.&lt;Subject&gt; instead of &lt;subject&gt;.all.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Subject { get; set; }
}
