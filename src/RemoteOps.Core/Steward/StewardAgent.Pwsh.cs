namespace RemoteOps.Steward;

/// <summary>The agent's warm pwsh workers for PwshScript (<c>steward.pwsh_workers</c>).</summary>
public sealed partial class StewardAgent
{
    private StewardPwshPool? _pwshPool;

    /// <summary>The pool PwshScript takes its workers from (created with the agent; filled when PwshScript is served).</summary>
    internal StewardPwshPool PwshPool => _pwshPool ??= NewPwshPool();

    private StewardPwshPool NewPwshPool() =>
        new(_section.PwshWorkers, _section.PwshCommand, text => Log(StewardLogLevel.Warning, text));

    /// <summary>Starts the warm workers in the background when the config serves PwshScript (a handler started later
    /// fills the pool on its first script).</summary>
    private void StartPwshPool()
    {
        _pwshPool = NewPwshPool();
        if (_section.Serves(StewardMethod.PwshScript)) _pwshPool.Fill();
    }

    /// <summary>Kills the idle workers (after the drain: a script still running was stopped with the agent).</summary>
    private async Task StopPwshPoolAsync()
    {
        if (_pwshPool is { } pool) await pool.DisposeAsync().ConfigureAwait(false);
    }
}
