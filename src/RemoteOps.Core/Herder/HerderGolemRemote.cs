using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using RemoteOps.Config;
using RemoteOps.Steward;

namespace RemoteOps.Herder;

/// <summary>What a golem operation asks of a herd: start, list, invoke or stop.</summary>
public enum HerderGolemOperation { Start, List, Invoke, Stop }

/// <summary>
/// Golems on another node: every golem operation travels as steward's HerderGolem method (signed, allowed senders,
/// durable delivery, audit); the node's agent owns the golems it starts (they live as long as the agent, not the
/// session that asked), and answers with JSON.
/// </summary>
public static class HerderGolemRemote
{
    /// <summary>Beyond the operation's own timeout, what the node may take to pick it up and report.</summary>
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(15);

    private sealed record Wire
    {
        public HerderGolemOperation Operation { get; init; }
        public string? Name { get; init; }
        public string? Url { get; init; }
        public string? Script { get; init; }
        public double? TimeoutSeconds { get; init; }
    }

#pragma warning disable CA2255 // a library's module initializer is exactly what this is for
    [ModuleInitializer]
    internal static void Register() => StewardMethodExtensions.Register(StewardMethod.HerderGolem, ServeAsync);
#pragma warning restore CA2255

    /// <summary>The node's side: one JSON request in, JSON out (a golem, a list of golems, or a script's value).</summary>
    internal static async Task<MethodOutcome> ServeAsync(StewardExtensionCall call, CancellationToken ct)
    {
        var wire = HerderStewardCall.ReadRequest<Wire>(call);
        if (wire is null)
            return new MethodOutcome(StewardStatus.Failed, Error: "HerderGolem takes one argument: the golem request (JSON), as the *-HerderGolem cmdlets send it with -Node.");
        var herd = HerderGolemHerd.OfNode(call.Node);
        try
        {
            string output = wire.Operation switch
            {
                HerderGolemOperation.Start => JsonSerializer.Serialize(
                    await herd.StartAsync(call.Config.Herder, wire.Url ?? "", wire.Name, owner: null, ct).ConfigureAwait(false), HerderStewardCall.Json),
                HerderGolemOperation.List => JsonSerializer.Serialize(herd.List(), HerderStewardCall.Json),
                HerderGolemOperation.Invoke => await herd.EvaluateAsync(wire.Name ?? "", wire.Script ?? "",
                    wire.TimeoutSeconds is { } s && double.IsFinite(s) && s > 0 && s < TimeSpan.MaxValue.TotalSeconds ? TimeSpan.FromSeconds(s) : call.Timeout,
                    ct).ConfigureAwait(false),
                HerderGolemOperation.Stop => JsonSerializer.Serialize(await herd.StopAsync(wire.Name ?? "").ConfigureAwait(false), HerderStewardCall.Json),
                _ => throw new HerderException(HerderFailure.GolemFailed, $"'{wire.Operation}' is not a golem operation."),
            };
            if (Encoding.UTF8.GetByteCount(output) > call.OutputCap)
                return HerderStewardCall.Refusal(HerderFailure.ScriptError,
                    $"the result ({Encoding.UTF8.GetByteCount(output)} bytes of JSON) does not fit the node's steward.max_output ({call.OutputCap} bytes).");
            return new MethodOutcome(StewardStatus.Succeeded, output);
        }
        catch (HerderException e)
        {
            return HerderStewardCall.Refusal(e);
        }
    }

    /// <summary>Starts a golem on <paramref name="node"/>, owned by its agent.</summary>
    public static async Task<HerderGolem> StartAsync(RemoteOpsConfig config, string node, string url, string? name, CancellationToken ct)
    {
        HerderGolemHerd.ValidateUrl(url);
        if (name is not null && !HerderGolemHerd.TryValidateName(name, out var problem)) throw new HerderException(HerderFailure.InvalidGolemName, problem);
        var output = await CallAsync(config, node, new Wire { Operation = HerderGolemOperation.Start, Url = url, Name = name }, config.Herder.MaxTimeout * 2, ct).ConfigureAwait(false);
        return Parse<HerderGolem>(output, node);
    }

    /// <summary>The golems <paramref name="node"/>'s agent runs.</summary>
    public static async Task<IReadOnlyList<HerderGolem>> ListAsync(RemoteOpsConfig config, string node, CancellationToken ct) =>
        Parse<List<HerderGolem>>(await CallAsync(config, node, new Wire { Operation = HerderGolemOperation.List }, HerderConfig.DefaultMaxTimeout, ct).ConfigureAwait(false), node);

    /// <summary>Evaluates a script in a golem on <paramref name="node"/>; its value as JSON text.</summary>
    public static Task<string> EvaluateAsync(RemoteOpsConfig config, string node, string name, string script, TimeSpan timeout, CancellationToken ct) =>
        CallAsync(config, node, new Wire { Operation = HerderGolemOperation.Invoke, Name = name, Script = script, TimeoutSeconds = timeout.TotalSeconds }, timeout, ct);

    /// <summary>Stops a golem on <paramref name="node"/>.</summary>
    public static async Task<HerderGolem> StopAsync(RemoteOpsConfig config, string node, string name, CancellationToken ct) =>
        Parse<HerderGolem>(await CallAsync(config, node, new Wire { Operation = HerderGolemOperation.Stop, Name = name }, HerderConfig.DefaultMaxTimeout, ct).ConfigureAwait(false), node);

    /// <summary>What Tab offers for -Name: this process's session golems, or <paramref name="node"/>'s (at most 2 s).</summary>
    public static IEnumerable<CompletionValue> Completions(RemoteOpsConfig? config, string? node)
    {
        IReadOnlyList<HerderGolem> golems;
        if (node is null) golems = HerderGolemHerd.Session.List();
        else if (config is null) return [];
        else
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try { golems = ListAsync(config, node, cts.Token).WaitAsync(cts.Token).GetAwaiter().GetResult(); }
            catch (Exception) { return []; } // completion is best effort
        }
        return golems.Select(g => new CompletionValue(g.Name, g.Url));
    }

    private static T Parse<T>(string output, string node) => HerderStewardCall.Parse<T>(output, node);

    private static Task<string> CallAsync(RemoteOpsConfig config, string node, Wire wire, TimeSpan timeout, CancellationToken ct) =>
        HerderStewardCall.CallAsync(config, node, StewardMethod.HerderGolem, JsonSerializer.Serialize(wire, HerderStewardCall.Json), timeout, Slack + Slack, ct);
}
