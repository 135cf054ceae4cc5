using System.Management.Automation;
using RemoteOps.Config;
using RemoteOps.PowerShell.Internal;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Writes a commented example config (the seed's remaphore -C) with a new identity.</summary>
[Cmdlet(VerbsCommon.New, "RemoteOpsConfig", SupportsShouldProcess = true)]
[OutputType(typeof(RemoteOpsConfigFile))]
public sealed class NewRemoteOpsConfigCommand : RemoteOpsCmdlet
{
    /// <summary>Where to write; default the per-user config file.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>Overwrite an existing file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>NATS server URLs to put under servers: (default nats://127.0.0.1:4222). Binds the Url of Start-RemoteOpsDevServer's output.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Url")]
    [ValidateNotNullOrEmpty]
    public string[]? Server { get; set; }

    /// <summary>This node's destination (default local.&lt;host name&gt;).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Destination { get; set; }

    protected override void ProcessRecord()
    {
        var path = Path is null ? ConfigLoader.DefaultPath : ResolvePath(Path);
        if (File.Exists(path) && !Force)
        {
            WriteError(new ErrorRecord(new ConfigFileExistsException(path), "RemoteOps.ConfigExists", ErrorCategory.ResourceExists, path));
            return;
        }
        if (!ShouldProcess($"{path} ({(File.Exists(path) ? "overwrite" : "new file")}; servers {string.Join(", ", Server ?? ["nats://127.0.0.1:4222"])}, destination {Destination ?? ExampleConfig.DefaultDestination()}, a new identity with its key under {System.IO.Path.Combine(System.IO.Path.GetDirectoryName(path) ?? ".", "keys")})",
            "Write an example RemoteOps config with a new identity")) return;
        try
        {
            var result = ExampleConfig.Write(path, Force, Server, Destination);
            WriteVerbose($"Wrote {result.ConfigPath}; identity {result.PublicKey} with its private key in {result.PrivateKeyFile}.");
            WriteObject(new RemoteOpsConfigFile
            {
                Path = result.ConfigPath,
                PublicKey = result.PublicKey,
                PrivateKeyFile = result.PrivateKeyFile,
                Created = DateTimeOffset.Now,
            });
        }
        catch (ConfigFileExistsException e)
        {
            WriteError(new ErrorRecord(e, "RemoteOps.ConfigExists", ErrorCategory.ResourceExists, e.Path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WriteError(new ErrorRecord(e, "RemoteOps.ConfigWriteFailed", ErrorCategory.WriteError, path));
        }
    }
}
