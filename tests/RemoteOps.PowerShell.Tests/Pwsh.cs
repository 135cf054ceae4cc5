using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>What one script produced in the hosted runspace.</summary>
public sealed record PwshResult(IReadOnlyList<PSObject> Output, IReadOnlyList<ErrorRecord> Errors, IReadOnlyList<string> Verbose, IReadOnlyList<string> Warnings, bool HadErrors)
{
    public string ErrorText => string.Join(Environment.NewLine, Errors.Select(e => $"[{e.FullyQualifiedErrorId}] {e}"));
}

/// <summary>A PowerShell runspace in this process with the built module imported, as a user's session would have it.</summary>
public sealed class Pwsh : IDisposable
{
    private readonly Runspace _runspace;

    public Pwsh()
    {
        var iss = InitialSessionState.CreateDefault2();
        iss.ImportPSModule(Repo.ModuleManifest);
        _runspace = RunspaceFactory.CreateRunspace(iss);
        _runspace.Open();
        // Import failures land in the runspace's errors; make them loud here.
        using var ps = System.Management.Automation.PowerShell.Create(_runspace);
        ps.AddScript("if (-not (Get-Module RemoteOps)) { throw 'RemoteOps module not imported' }");
        ps.Invoke();
    }

    /// <summary>Runs <paramref name="script"/>; <paramref name="parameters"/> bind to its param() block.
    /// Terminating errors are captured into Errors, not thrown, so tests can assert on them.</summary>
    public PwshResult Run(string script, IDictionary? parameters = null, bool verbose = false)
    {
        using var ps = System.Management.Automation.PowerShell.Create(_runspace);
        if (verbose) ps.AddScript("$VerbosePreference = 'Continue'").AddStatement();
        ps.AddScript(script);
        if (parameters is not null) ps.AddParameters(parameters);
        var output = new List<PSObject>();
        var errors = new List<ErrorRecord>();
        try
        {
            output.AddRange(ps.Invoke());
        }
        catch (RuntimeException e)
        {
            errors.Add(e.ErrorRecord);
        }
        errors.AddRange(ps.Streams.Error);
        return new PwshResult(output, errors,
            ps.Streams.Verbose.Select(v => v.Message).ToList(),
            ps.Streams.Warning.Select(w => w.Message).ToList(),
            ps.HadErrors || errors.Count > 0);
    }

    /// <summary>Starts <paramref name="script"/> without waiting, for Ctrl+C tests: call Stop() on the returned handle.</summary>
    public (System.Management.Automation.PowerShell Shell, IAsyncResult Handle) Begin(string script, IDictionary? parameters = null)
    {
        var ps = System.Management.Automation.PowerShell.Create(_runspace);
        ps.AddScript(script);
        if (parameters is not null) ps.AddParameters(parameters);
        return (ps, ps.BeginInvoke());
    }

    /// <summary>The runspace, for tests that drive their own PowerShell instances on it.</summary>
    public Runspace Runspace => _runspace;

    public void Dispose() => _runspace.Dispose();
}
