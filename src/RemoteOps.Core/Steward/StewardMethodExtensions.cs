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

    /// <summary>The local store directory of <paramref name="node"/>'s agent under this config (where its services keep their state).</summary>
    public static string AgentDataDirectory(RemoteOpsConfig config, string node) =>
        Path.Combine(config.Steward.EffectiveDataDirectory, StewardAgent.LocalFolder(node));
}
