using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using RemoteOps.Config;
using RemoteOps.Steward;

namespace RemoteOps.Herder;

/// <summary>
/// Minions on another node: the request travels as steward's HerderMinion method (signed, allowed senders, durable
/// delivery, audit), the node's agent runs it with its own herder config, and the result comes back as the method's
/// output. Herder is the one tool that builds on another: it registers its work on steward's agent here.
/// </summary>
public static class HerderRemote
{
    /// <summary>A remote minion's timeout when none is given: the seed's 30 s (the node may allow less or more).</summary>
    public static readonly TimeSpan DefaultTimeout = HerderConfig.DefaultMaxTimeout;
    /// <summary>Beyond the minion's own timeout, what the node may take to start it and report.</summary>
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(15);

    private sealed record Wire
    {
        /// <summary>Empty when <see cref="ListEnvironments"/> asks for the node's environments instead of a run.</summary>
        public string Environment { get; init; } = "";
        public bool ListEnvironments { get; init; }
        public Dictionary<string, byte[]> Files { get; init; } = [];
        public string? Output { get; init; }
        public double? TimeoutSeconds { get; init; }
        public long? MemoryLimit { get; init; }
        public bool Network { get; init; }
        public string? Token { get; init; }
    }

#pragma warning disable CA2255 // a library's module initializer is exactly what this is for
    [ModuleInitializer]
    internal static void Register() => StewardMethodExtensions.Register(StewardMethod.HerderMinion, ServeAsync);
#pragma warning restore CA2255

    /// <summary>The node's side: one JSON request in, the result JSON out (within the agent's output cap).</summary>
    internal static async Task<MethodOutcome> ServeAsync(StewardExtensionCall call, CancellationToken ct)
    {
        var wire = HerderStewardCall.ReadRequest<Wire>(call);
        if (wire is { ListEnvironments: true })
            return new MethodOutcome(StewardStatus.Succeeded, JsonSerializer.Serialize(Environments(call.Config.Herder, call.Node), HerderStewardCall.Json));
        if (wire is null || string.IsNullOrEmpty(wire.Environment))
            return new MethodOutcome(StewardStatus.Failed, Error: "HerderMinion takes one argument: the minion request (JSON), as Invoke-HerderMinion -Node sends it.");
        var request = new HerderMinionRequest
        {
            Environment = wire.Environment, Files = wire.Files ?? [], Output = wire.Output,
            // Without -Timeout: the steward method timeout the sender gave, within this node's ceiling.
            Timeout = wire.TimeoutSeconds is { } s && double.IsFinite(s) && s > 0 && s < TimeSpan.MaxValue.TotalSeconds ? TimeSpan.FromSeconds(s)
                : call.Timeout < call.Config.Herder.MaxTimeout ? call.Timeout : null,
            MemoryLimit = wire.MemoryLimit, Network = wire.Network, Token = wire.Token,
        };
        try
        {
            var result = await HerderMinionRunner.RunAsync(call.Config, request, ct).ConfigureAwait(false);
            result.Node = call.Node;
            return new MethodOutcome(StewardStatus.Succeeded, Fit(result, call.OutputCap), ExitCode: result.ExitCode);
        }
        catch (HerderException e)
        {
            return HerderStewardCall.Refusal(e);
        }
    }

    /// <summary>The result as JSON of at most <paramref name="cap"/> UTF-8 bytes: an output file that does not fit is
    /// left out (said in Stderr), then stdout and stderr are cut, so what arrives always parses.</summary>
    internal static string Fit(HerderMinionResult result, int cap)
    {
        var json = JsonSerializer.Serialize(result, HerderStewardCall.Json);
        if (Encoding.UTF8.GetByteCount(json) <= cap) return json;
        if (result.Output is { } output)
        {
            result.Stderr = $"[herder: the output file '{result.OutputName}' ({output.Length} bytes) does not fit the node's steward.max_output ({cap} bytes); it was left out]\n" + result.Stderr;
            result.Output = null;
            json = JsonSerializer.Serialize(result, HerderStewardCall.Json);
        }
        while (Encoding.UTF8.GetByteCount(json) > cap && (result.Stdout.Length > 0 || result.Stderr.Length > 0))
        {
            var over = Encoding.UTF8.GetByteCount(json) - cap + 64;
            if (result.Stdout.Length > 0) result.Stdout = Cut(result.Stdout, over);
            else result.Stderr = Cut(result.Stderr, over);
            json = JsonSerializer.Serialize(result, HerderStewardCall.Json);
        }
        return json;
    }

    private static string Cut(string text, int over)
    {
        const string Marker = "\n[herder: cut to fit steward.max_output]";
        var keep = Math.Max(0, text.Length - over - Marker.Length);
        return keep == 0 ? "" : text[..keep] + Marker;
    }

    /// <summary>The environments this machine offers (Get-HerderEnvironment), as <paramref name="node"/>.</summary>
    public static IReadOnlyList<HerderEnvironment> Environments(HerderConfig config, string node) =>
        HerderEnvironments.All(config).Select(e => new HerderEnvironment
        {
            Name = e.Name, Command = [.. e.Command], Available = HerderEnvironments.Locate(e) is not null, BuiltIn = e.BuiltIn, Node = node,
        }).ToList();

    /// <summary>The environments <paramref name="node"/> offers, from its agent.</summary>
    public static async Task<IReadOnlyList<HerderEnvironment>> GetEnvironmentsAsync(RemoteOpsConfig config, string node, CancellationToken ct)
    {
        var output = await CallAsync(config, node, new Wire { ListEnvironments = true }, DefaultTimeout, ct).ConfigureAwait(false);
        return Parse<List<HerderEnvironment>>(output, node);
    }

    private static T Parse<T>(string output, string node) => HerderStewardCall.Parse<T>(output, node);

    /// <summary>The sender's side: runs the minion on <paramref name="node"/> and returns its result.</summary>
    /// <exception cref="HerderException">The node refused the request (its error id and message), or steward did not
    /// deliver or run it (RemoteFailed, with the status).</exception>
    public static async Task<HerderMinionResult> RunMinionAsync(RemoteOpsConfig config, string node, HerderMinionRequest request, CancellationToken ct)
    {
        HerderFiles.Validate(request.Files);
        var timeout = request.Timeout ?? DefaultTimeout;
        var wire = new Wire
        {
            Environment = request.Environment, Files = request.Files.ToDictionary(kv => kv.Key, kv => kv.Value ?? []), Output = request.Output,
            TimeoutSeconds = request.Timeout?.TotalSeconds, MemoryLimit = request.MemoryLimit, Network = request.Network, Token = request.Token,
        };
        return Parse<HerderMinionResult>(await CallAsync(config, node, wire, timeout, ct).ConfigureAwait(false), node);
    }

    private static Task<string> CallAsync(RemoteOpsConfig config, string node, Wire wire, TimeSpan timeout, CancellationToken ct) =>
        HerderStewardCall.CallAsync(config, node, StewardMethod.HerderMinion, JsonSerializer.Serialize(wire, HerderStewardCall.Json), timeout, Slack + Slack, ct);
}
