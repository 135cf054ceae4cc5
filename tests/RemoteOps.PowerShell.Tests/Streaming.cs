using System.Collections;
using System.Management.Automation;

namespace RemoteOps.PowerShell.Tests;

/// <summary>A long-running script (Watch-SeaportService, Start-SeaportService…) whose output is read as it comes.</summary>
public sealed class Streaming : IDisposable
{
    private readonly List<(Func<PSObject, bool> Match, TaskCompletionSource<PSObject> Seen)> _waits = new();
    private readonly List<PSObject> _seen = new();
    private readonly List<string> _verbose = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource Seen)> _verboseWaits = new();

    public System.Management.Automation.PowerShell Shell { get; }
    public PSDataCollection<PSObject> Output { get; } = new();
    public IAsyncResult Handle { get; }

    public Streaming(Pwsh pwsh, string script, IDictionary? parameters = null)
    {
        Shell = System.Management.Automation.PowerShell.Create(pwsh.Runspace);
        Shell.AddScript(script);
        if (parameters is not null) Shell.AddParameters(parameters);
        Output.DataAdded += (_, e) =>
        {
            var item = Output[e.Index];
            lock (_waits)
            {
                _seen.Add(item);
                foreach (var (m, s) in _waits)
                    if (m(item)) s.TrySetResult(item);
            }
        };
        Shell.Streams.Verbose.DataAdded += (_, e) =>
        {
            var message = Shell.Streams.Verbose[e.Index].Message;
            lock (_waits)
            {
                _verbose.Add(message);
                foreach (var (m, s) in _verboseWaits)
                    if (m(message)) s.TrySetResult();
            }
        };
        Shell.Streams.Warning.DataAdded += (_, e) =>
        {
            var message = Shell.Streams.Warning[e.Index].Message;
            lock (_waits)
            {
                _verbose.Add("WARNING: " + message);
                foreach (var (m, s) in _verboseWaits)
                    if (m("WARNING: " + message)) s.TrySetResult();
            }
        };
        Handle = Shell.BeginInvoke<PSObject, PSObject>(null, Output);
    }

    /// <summary>The first output object (already written or still to come) that matches.</summary>
    public Task<PSObject> Next(Func<PSObject, bool> match, int seconds = 30)
    {
        var seen = new TaskCompletionSource<PSObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waits)
        {
            var already = _seen.FirstOrDefault(match);
            if (already is not null) seen.TrySetResult(already);
            else _waits.Add((match, seen));
        }
        return seen.Task.WaitAsync(TimeSpan.FromSeconds(seconds));
    }

    /// <summary>The first verbose message (already written or still to come) that matches (run the cmdlet with -Verbose);
    /// warnings are in the same sequence, prefixed "WARNING: ".</summary>
    public Task NextVerbose(Func<string, bool> match, int seconds = 30)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waits)
        {
            if (_verbose.Any(match)) seen.TrySetResult();
            else _verboseWaits.Add((match, seen));
        }
        return seen.Task.WaitAsync(TimeSpan.FromSeconds(seconds));
    }

    /// <summary>Everything written so far.</summary>
    public List<PSObject> Seen { get { lock (_waits) return _seen.ToList(); } }

    public void Stop()
    {
        Shell.Stop();
    }

    public void Dispose()
    {
        if (Shell.InvocationStateInfo.State == PSInvocationState.Running) Shell.Stop();
        Shell.Dispose();
        Output.Dispose();
    }
}
