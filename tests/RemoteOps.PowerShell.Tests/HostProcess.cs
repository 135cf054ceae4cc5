using System.Diagnostics;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>A separate OS process hosting a runspace with the module imported (tests/RemoteOps.PwshHost): for tests
/// that need two processes, or a process to kill.</summary>
public sealed class HostProcess : IDisposable
{
    public static string HostPath =>
        Path.Combine(Repo.Root, "tests", "RemoteOps.PwshHost", "bin", "Release", "net10.0", OperatingSystem.IsWindows() ? "RemoteOps.PwshHost.exe" : "RemoteOps.PwshHost");

    private readonly Process _p;
    private readonly List<string> _lines = new();
    private readonly List<string> _errors = new();
    private readonly List<(string Text, TaskCompletionSource Seen)> _watches = new();

    public HostProcess(string script) : this(["-Command", script]) { }

    public HostProcess(string[] arguments)
    {
        var psi = new ProcessStartInfo(HostPath, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _p = new Process { StartInfo = psi };
        _p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_lines)
            {
                _lines.Add(e.Data);
                foreach (var (t, s) in _watches) if (e.Data.Contains(t)) s.TrySetResult();
            }
        };
        _p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_errors) _errors.Add(e.Data); };
        _p.Start();
        _p.BeginOutputReadLine();
        _p.BeginErrorReadLine();
    }

    public Task LineContaining(string text)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lines)
        {
            if (_lines.Any(l => l.Contains(text))) seen.TrySetResult();
            else _watches.Add((text, seen));
        }
        return seen.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    public async Task<(int Code, List<string> Out, List<string> Err)> ExitAsync()
    {
        await _p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        _p.WaitForExit(); // drains the redirected streams
        lock (_lines) lock (_errors) return (_p.ExitCode, _lines.ToList(), _errors.ToList());
    }

    public int ProcessId => _p.Id;

    /// <summary>SIGKILL: no cleanup runs, as when a machine dies.</summary>
    public void KillHard() => _p.Kill();

    public void Dispose()
    {
        if (!_p.HasExited) _p.Kill(entireProcessTree: true);
        _p.Dispose();
    }
}
