using System.Management.Automation;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.PowerShell.Internal;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Makes a new Ed25519 identity (base58 keys, as remaphore) and the YAML to paste under identities:.</summary>
[Cmdlet(VerbsCommon.New, "RemoteOpsIdentity")]
[OutputType(typeof(RemoteOpsIdentity))]
public sealed class NewRemoteOpsIdentityCommand : RemoteOpsCmdlet
{
    /// <summary>The verbs the identity may send: an array or comma-separated; default "*" (all).</summary>
    [Parameter(Position = 0)]
    public string[]? Verb { get; set; }

    /// <summary>Write the private key to this file (mode 600; a directory gets &lt;public&gt;.key) instead of returning it.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>Overwrite the key file when it exists.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void EndProcessing()
    {
        var path = Path is null ? null : ResolvePath(Path);
        try
        {
            WriteObject(IdentityFactory.Create(Verb, path, Force));
        }
        catch (ArgumentException e)
        {
            WriteError(new ErrorRecord(e, "RemoteOps.InvalidVerb", ErrorCategory.InvalidArgument, Verb));
        }
        catch (ConfigFileExistsException e)
        {
            WriteError(new ErrorRecord(e, "RemoteOps.KeyFileExists", ErrorCategory.ResourceExists, e.Path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WriteError(new ErrorRecord(e, "RemoteOps.KeyWriteFailed", ErrorCategory.WriteError, path));
        }
    }
}
