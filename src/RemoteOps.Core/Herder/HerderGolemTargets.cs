using RemoteOps.Config;

namespace RemoteOps.Herder;

/// <summary>Where a golem operation runs: this session's golems when no node is named, else that node's agent
/// (HerderGolem over steward). The golem cmdlets call only this.</summary>
public static class HerderGolemTargets
{
    /// <param name="owner">With no node: the session that will own the golem (it stops with it).</param>
    public static Task<HerderGolem> StartAsync(RemoteOpsConfig config, string? node, string url, string? name, string? owner, CancellationToken ct) =>
        node is null
            ? HerderGolemHerd.Session.StartAsync(config.Herder, url, name, owner, ct)
            : HerderGolemRemote.StartAsync(config, node, url, name, ct);

    public static async Task<IReadOnlyList<HerderGolem>> ListAsync(RemoteOpsConfig config, string? node, CancellationToken ct) =>
        node is null ? HerderGolemHerd.Session.List() : await HerderGolemRemote.ListAsync(config, node, ct).ConfigureAwait(false);

    /// <summary>The script's value as JSON. <paramref name="timeout"/> null: herder.max_timeout.</summary>
    /// <exception cref="HerderException">InvalidLimit for a timeout of zero or less, and the golem's own failures.</exception>
    public static Task<string> EvaluateAsync(RemoteOpsConfig config, string? node, string name, string script, TimeSpan? timeout, CancellationToken ct)
    {
        var limit = timeout ?? config.Herder.MaxTimeout;
        if (limit <= TimeSpan.Zero) throw new HerderException(HerderFailure.InvalidLimit, "-Timeout must be more than zero.");
        return node is null
            ? HerderGolemHerd.Session.EvaluateAsync(name, script, limit, ct)
            : HerderGolemRemote.EvaluateAsync(config, node, name, script, limit, ct);
    }

    public static Task<HerderGolem> StopAsync(RemoteOpsConfig config, string? node, string name, CancellationToken ct) =>
        node is null ? HerderGolemHerd.Session.StopAsync(name) : HerderGolemRemote.StopAsync(config, node, name, ct);
}
