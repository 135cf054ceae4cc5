using RemoteOps.Config;

namespace RemoteOps.Herder;

/// <summary>What Tab offers for herder parameters.</summary>
public static class HerderCompletions
{
    /// <summary>Every environment of the config (the built-ins without one), with its command as the tooltip.</summary>
    public static IEnumerable<CompletionValue> Environments(RemoteOpsConfig? config) =>
        HerderEnvironments.All(config?.Herder ?? new HerderConfig())
            .Select(e => new CompletionValue(e.Name, string.Join(' ', e.Command)));
}
