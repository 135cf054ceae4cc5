using RemoteOps.Config;

namespace RemoteOps.Steward;

/// <summary>What a method another tool serves through the node agent is given: the agent's own config (its node's
/// settings, not the sender's), who asked, the arguments, and the limits the agent applies to every method.</summary>
public sealed record StewardExtensionCall(RemoteOpsConfig Config, string Node, string SenderKey, string SenderName,
    string MessageId, IReadOnlyList<string> Args, TimeSpan Timeout, int OutputCap);

/// <summary>
/// Methods that a tool built on steward serves on the node agent (herder's HerderMinion). Steward owns the name in its
/// catalogue, the signing, the allowed senders, durable delivery and the result; the tool registers the work at load
/// (a module initializer in its own folder), so steward never names the tool.
/// </summary>
public static class StewardMethodExtensions
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<StewardMethod, Func<StewardExtensionCall, CancellationToken, Task<MethodOutcome>>> Handlers = new();

    /// <summary>Registers the work of <paramref name="method"/>; registering again replaces it (initializers may run twice in tests).</summary>
    public static void Register(StewardMethod method, Func<StewardExtensionCall, CancellationToken, Task<MethodOutcome>> handler) =>
        Handlers[method] = handler ?? throw new ArgumentNullException(nameof(handler));

    public static bool TryGet(StewardMethod method, out Func<StewardExtensionCall, CancellationToken, Task<MethodOutcome>> handler) =>
        Handlers.TryGetValue(method, out handler!);

    // ---- services a tool runs for the agent's whole life (herder's daemons) ----

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Func<StewardAgentServiceContext, Task<IAsyncDisposable>>> Services = new();

    /// <summary>Registers a service started with every agent (after it recovered its commands) and disposed when the
    /// agent stops; registering the same name again replaces it.</summary>
    public static void RegisterAgentService(string name, Func<StewardAgentServiceContext, Task<IAsyncDisposable>> start) =>
        Services[name] = start ?? throw new ArgumentNullException(nameof(start));

    /// <summary>Starts every registered service for an agent; one that fails is logged and left out.</summary>
    internal static async Task<IReadOnlyList<IAsyncDisposable>> StartServicesAsync(StewardAgentServiceContext context, Action<string> warn)
    {
        var started = new List<IAsyncDisposable>();
        foreach (var (name, start) in Services)
        {
            try { started.Add(await start(context).ConfigureAwait(false)); }
            catch (Exception e) { warn($"Agent service {name} did not start: {e.Message}"); }
        }
        return started;
    }

    internal static async Task StopServicesAsync(IReadOnlyList<IAsyncDisposable> services)
    {
        foreach (var service in services)
            try { await service.DisposeAsync().ConfigureAwait(false); } catch (Exception) { /* stopping: nothing left to tell */ }
    }

    /// <summary>The local store directory of <paramref name="node"/>'s agent under this config (where its services keep their state).</summary>
    public static string AgentDataDirectory(RemoteOpsConfig config, string node) =>
        Path.Combine(config.Steward.EffectiveDataDirectory, StewardAgent.LocalFolder(node));
}

/// <summary>What an agent service is given: the agent's config, its node name and its local store directory.</summary>
public sealed record StewardAgentServiceContext(RemoteOpsConfig Config, string Node, string DataDirectory);
