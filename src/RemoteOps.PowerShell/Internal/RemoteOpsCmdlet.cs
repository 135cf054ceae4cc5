using System.Collections.Concurrent;
using System.Management.Automation;
using RemoteOps.Config;

namespace RemoteOps.PowerShell.Internal;

/// <summary>Base of every RemoteOps cmdlet: a CancellationToken that StopProcessing (Ctrl+C) cancels;
/// <see cref="RunAsync"/>, which runs async core work off the pipeline thread while every WriteObject/WriteError/
/// WriteVerbose happens on the pipeline thread, as PowerShell requires; <see cref="Wait{T}"/> for short work; paths
/// resolved against the PowerShell location; and the one <see cref="ErrorMap"/>. Cmdlets that read the config derive
/// from <see cref="ConfiguredCmdlet"/>, which adds -ConfigPath; those that work on this machine only (New-RemoteOpsIdentity,
/// New-RemoteOpsConfig, ConvertFrom-RemaphoreConfig, Start/Stop-RemoteOpsDevServer) derive from this one directly, so
/// they have no -ConfigPath to confuse with their own -Path.</summary>
public abstract class RemoteOpsCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stop = new();

    protected CancellationToken StopToken => _stop.Token;

    protected override void StopProcessing() => _stop.Cancel();

    /// <summary>How long a stopped cmdlet waits for its async work to clean up before returning.</summary>
    private static readonly TimeSpan StopCleanupWait = TimeSpan.FromSeconds(10);

    /// <summary>A path as the user typed it, resolved against the PowerShell current location (not the process's).</summary>
    protected string ResolvePath(string path) => SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);

    /// <summary>Waits for async core work on the pipeline thread; Ctrl+C cancels it and stops the pipeline.</summary>
    protected T Wait<T>(Task<T> task)
    {
        try { return task.GetAwaiter().GetResult(); }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested) { throw new PipelineStoppedException(); }
    }

    /// <summary>Runs <paramref name="work"/> on the thread pool and drains what it writes on this (the pipeline) thread
    /// until it completes. Exceptions from the work surface here, on the pipeline thread.</summary>
    protected void RunAsync(Func<PipelineWriter, CancellationToken, Task> work)
    {
        using var queue = new BlockingCollection<Action<Cmdlet>>();
        var writer = new PipelineWriter(queue);
        var task = Task.Run(async () =>
        {
            try { await work(writer, _stop.Token).ConfigureAwait(false); }
            finally { queue.CompleteAdding(); }
        });
        try
        {
            foreach (var write in queue.GetConsumingEnumerable())
                write(this);
        }
        catch
        {
            // Stopped (Ctrl+C), or a write that threw (an error under ErrorAction Stop): the work must not go on acting
            // after the cmdlet has ended. It sees the cancellation and cleans up (frees registrations, kills process
            // trees); let it finish, bounded, so that what follows does not race the cleanup.
            _stop.Cancel();
            try { task.Wait(StopCleanupWait); }
            catch (AggregateException) { /* cancelled or failed while stopping: nothing more to report */ }
            throw;
        }
        // The queue completes only when the work has ended, so this does not block.
        try
        {
            task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        catch (ConfigException e)
        {
            // A config read inside the async work still surfaces as one clean ErrorRecord.
            ThrowTerminatingError(ErrorMap.ConfigErrorRecord(e));
        }
    }

    /// <summary>Writes a non-terminating error with a stable id and category.</summary>
    protected void WriteError(Exception exception, string errorId, ErrorCategory category, object? target) =>
        WriteError(new ErrorRecord(exception, errorId, category, target));

    public void Dispose()
    {
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>A cmdlet that reads the config: -ConfigPath, and the config loaded with one clean ErrorRecord on failure.</summary>
public abstract class ConfiguredCmdlet : RemoteOpsCmdlet
{
    /// <summary>Config file to use; default $env:REMOTEOPS_CONFIG, then the per-user file.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ConfigPath { get; set; }

    /// <summary>Resolves -ConfigPath against the PowerShell current location (not the process's).</summary>
    protected string? ResolvedConfigPath => ConfigPath is null ? null : ResolvePath(ConfigPath);

    /// <summary>Loads the effective config (-ConfigPath, else $env:REMOTEOPS_CONFIG, else the per-user file).
    /// Call it on the pipeline thread (BeginProcessing/ProcessRecord/EndProcessing), before RunAsync.
    /// A bad config ends the cmdlet with one terminating ErrorRecord (id RemoteOps.ConfigInvalid; category
    /// ObjectNotFound for a missing file, InvalidData otherwise) whose message names file, line and key;
    /// a private key file readable by others becomes a warning (WriteWarning).</summary>
    protected RemoteOpsConfig LoadConfig()
    {
        try
        {
            return ConfigLoader.Load(ResolvedConfigPath, WriteWarning);
        }
        catch (ConfigException e)
        {
            ThrowTerminatingError(ErrorMap.ConfigErrorRecord(e));
            throw; // unreachable: ThrowTerminatingError always throws
        }
    }

    /// <summary>As <see cref="LoadConfig"/>, but the file is parsed again only when it changed
    /// (<see cref="ConfigLoader.LoadCached"/>): for the cmdlets scripts call in loops (remaphore, seaport).</summary>
    protected RemoteOpsConfig LoadConfigCached()
    {
        // An absolute file system path needs no PowerShell provider resolution (which costs more than the rest of a send).
        var path = ConfigPath is { } given && Path.IsPathFullyQualified(given) && !given.Contains('*') ? given : ResolvedConfigPath;
        try
        {
            return ConfigLoader.LoadCached(path, WriteWarning);
        }
        catch (ConfigException e)
        {
            ThrowTerminatingError(ErrorMap.ConfigErrorRecord(e));
            throw; // unreachable: ThrowTerminatingError always throws
        }
    }
}

/// <summary>What async work may write: each call is queued and performed on the pipeline thread.</summary>
public sealed class PipelineWriter
{
    private readonly BlockingCollection<Action<Cmdlet>> _queue;
    internal PipelineWriter(BlockingCollection<Action<Cmdlet>> queue) => _queue = queue;

    private void Post(Action<Cmdlet> write)
    {
        try { _queue.Add(write); }
        catch (InvalidOperationException) { /* the pipeline is gone (stopped); nothing to write to */ }
    }

    public void WriteObject(object? value) => Post(c => c.WriteObject(value));
    public void WriteError(ErrorRecord record) => Post(c => c.WriteError(record));
    public void WriteError(Exception exception, string errorId, ErrorCategory category, object? target) =>
        Post(c => c.WriteError(new ErrorRecord(exception, errorId, category, target)));
    public void WriteVerbose(string text) => Post(c => c.WriteVerbose(text));
    public void WriteWarning(string text) => Post(c => c.WriteWarning(text));
    public void WriteDebug(string text) => Post(c => c.WriteDebug(text));
    public void WriteInformation(InformationRecord record) => Post(c => c.WriteInformation(record));

    /// <summary>Runs <paramref name="action"/> on the pipeline thread (e.g. to invoke a script block, which must run
    /// there) and returns its result. Await it with a cancellation token: once the pipeline stops, it never runs.</summary>
    public Task<T> InvokeOnPipeline<T>(Func<Cmdlet, T> action)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            _queue.Add(c =>
            {
                try { done.TrySetResult(action(c)); }
                catch (Exception e) { done.TrySetException(e); throw; }
            });
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException) { done.TrySetCanceled(); }
        return done.Task;
    }
}
