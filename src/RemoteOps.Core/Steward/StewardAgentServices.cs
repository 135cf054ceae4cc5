using RemoteOps.Config;

namespace RemoteOps.Steward;

/// <summary>What an agent-hosted service is given: the agent's config (its node's settings), the node's name, its
/// data directory, and the agent's log.</summary>
public sealed record StewardAgentServiceContext(RemoteOpsConfig Config, string Node, string DataDirectory, Action<StewardLogLevel, string> Log);

/// <summary>
/// Services that a tool built on steward runs for as long as a node agent runs (herder's reverse proxy). The tool
/// registers a starter at load (a module initializer in its own folder), as with <see cref="StewardMethodExtensions"/>,
/// so steward never names the tool. A starter returns null when its config leaves it off; what it returns is disposed
/// when the agent stops. A starter that throws is logged as a warning and the agent runs on without it.
/// </summary>
public static class StewardAgentServices
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Func<StewardAgentServiceContext, CancellationToken, Task<IAsyncDisposable?>>> Starters = new();

    /// <summary>Registers a service under <paramref name="name"/>; registering again replaces it (initializers may run twice in tests).</summary>
    public static void Register(string name, Func<StewardAgentServiceContext, CancellationToken, Task<IAsyncDisposable?>> start) =>
        Starters[name ?? throw new ArgumentNullException(nameof(name))] = start ?? throw new ArgumentNullException(nameof(start));

    /// <summary>Starts every registered service; the ones that run, to be disposed when the agent stops.</summary>
    internal static async Task<IReadOnlyList<IAsyncDisposable>> StartAllAsync(StewardAgentServiceContext context, CancellationToken ct)
    {
        var running = new List<IAsyncDisposable>();
        foreach (var (name, start) in Starters.OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            try
            {
                if (await start(context, ct).ConfigureAwait(false) is { } service) running.Add(service);
            }
            catch (OperationCanceledException)
            {
                await StopAllAsync(running, context.Log).ConfigureAwait(false);
                throw;
            }
            catch (Exception e)
            {
                context.Log(StewardLogLevel.Warning, $"The agent-hosted service {name} did not start: {e.Message}");
            }
        }
        return running;
    }

    /// <summary>Stops the services in the reverse order of their start; one's failure never stops the others'.</summary>
    internal static async Task StopAllAsync(IReadOnlyList<IAsyncDisposable> running, Action<StewardLogLevel, string> log)
    {
        for (var i = running.Count - 1; i >= 0; i--)
        {
            try { await running[i].DisposeAsync().ConfigureAwait(false); }
            catch (Exception e) { log(StewardLogLevel.Warning, $"Stopping an agent-hosted service: {e.Message}"); }
        }
    }
}
