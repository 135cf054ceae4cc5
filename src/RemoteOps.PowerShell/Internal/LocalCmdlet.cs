using System.Management.Automation;

namespace RemoteOps.PowerShell.Internal;

/// <summary>Base of the cmdlets that work on this machine only and read no config (New-RemoteOpsIdentity,
/// New-RemoteOpsConfig, ConvertFrom-RemaphoreConfig, Start/Stop-RemoteOpsDevServer): no -ConfigPath to confuse
/// with their own -Path, and a CancellationToken that StopProcessing (Ctrl+C) cancels.</summary>
public abstract class LocalCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stop = new();

    protected CancellationToken StopToken => _stop.Token;

    protected override void StopProcessing() => _stop.Cancel();

    /// <summary>A path as the user typed it, resolved against the PowerShell current location (not the process's).</summary>
    protected string ResolvePath(string path) => SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);

    /// <summary>Waits for async core work on the pipeline thread; Ctrl+C cancels it and stops the pipeline.</summary>
    protected T Wait<T>(Task<T> task)
    {
        try { return task.GetAwaiter().GetResult(); }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested) { throw new PipelineStoppedException(); }
    }

    public void Dispose()
    {
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }
}
