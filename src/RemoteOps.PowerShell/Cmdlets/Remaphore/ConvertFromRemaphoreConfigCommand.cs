using System.Management.Automation;
using RemoteOps.Config;
using RemoteOps.Remaphore;
using RemoteOps.PowerShell.Internal;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Converts an original remaphore.conf to RemoteOps YAML: to the pipeline, or to -OutFile.</summary>
[Cmdlet(VerbsData.ConvertFrom, "RemaphoreConfig", SupportsShouldProcess = true)]
[OutputType(typeof(string))]
[OutputType(typeof(FileInfo))]
public sealed class ConvertFromRemaphoreConfigCommand : RemoteOpsCmdlet
{
    /// <summary>The remaphore.conf to convert (default of the original: /etc/remaphore/remaphore.conf).</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "/etc/remaphore/remaphore.conf";

    /// <summary>Write the YAML to this file (mode 600: it holds private keys) instead of the pipeline.</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    public string? OutFile { get; set; }

    /// <summary>Overwrite -OutFile when it exists.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var source = ResolvePath(Path);
        RemaphoreConfigConverter.Result result;
        try
        {
            result = RemaphoreConfigConverter.ConvertFile(source);
        }
        catch (ConfigException e)
        {
            WriteError(ErrorMap.ConfigErrorRecord(e));
            return;
        }
        foreach (var warning in result.Warnings) WriteWarning($"{source}: {warning}");
        WriteVerbose($"{source}: {result.Servers} server(s), {result.Identities} identit(y/ies), {result.Peers} peer(s).");
        if (OutFile is null)
        {
            WriteObject(result.Yaml);
            return;
        }
        var target = ResolvePath(OutFile);
        if (File.Exists(target) && !Force)
        {
            WriteError(new ErrorRecord(new ConfigFileExistsException(target), "RemoteOps.ConfigExists", ErrorCategory.ResourceExists, target));
            return;
        }
        if (!ShouldProcess(target, $"Write the RemoteOps config converted from {source}")) return;
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
            SecureFile.WriteAllText(target, result.Yaml, overwrite: true);
            WriteObject(new FileInfo(target));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WriteError(new ErrorRecord(e, "RemoteOps.ConfigWriteFailed", ErrorCategory.WriteError, target));
        }
    }
}
