using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using RemoteOps.Config;
using RemoteOps.Steward;

namespace RemoteOps.Herder;

/// <summary>
/// Daemons on a node's agent: every operation (start, list, stop, input, read, logs) travels as steward's HerderDaemon
/// method (signed, allowed senders, durable delivery, audit). The owner there is the token's owner when a token is
/// given, else the sender's identity name. Attach and -Follow are long polls: each Read waits on the node (at most
/// <see cref="ReadWait"/>) until the daemon writes, and the next starts where it ended.
/// </summary>
public static class HerderDaemonRemote
{
    /// <summary>How long one Read waits on the node for new lines before answering with none.</summary>
    public static readonly TimeSpan ReadWait = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(15);

    internal enum Op { Start, List, Stop, Input, Read, Log }

    internal sealed record Wire
    {
        public Op Op { get; init; }
        public string? Name { get; init; }
        public string? Pattern { get; init; }
        public List<string>? Command { get; init; }
        public string? Environment { get; init; }
        public Dictionary<string, byte[]>? Files { get; init; }
        public List<string>? Ports { get; init; }
        public HerderDaemonRestart Restart { get; init; } = HerderDaemonRestart.OnFailure;
        public string? Token { get; init; }
        public List<string>? Input { get; init; }
        public int? Tail { get; init; }
        public HerderDaemonLogPosition? From { get; init; }
    }

    internal sealed record ReadAnswer
    {
        public List<HerderDaemonOutput> Lines { get; init; } = [];
        public HerderDaemonLogPosition Position { get; init; } = new(0, 0);
        public bool Running { get; init; }
    }

    /// <summary>The owner a sender's requests act for: its identity's name (the configured peer's destination), else its key.</summary>
    internal static string OwnerOf(StewardExtensionCall call)
    {
        var name = call.SenderName;
        var paren = name.IndexOf(" (", StringComparison.Ordinal);
        return paren > 0 ? name[..paren] : call.SenderKey;
    }

    /// <summary>The node's side.</summary>
    internal static async Task<MethodOutcome> ServeAsync(StewardExtensionCall call, CancellationToken ct)
    {
        var wire = HerderStewardCall.ReadRequest<Wire>(call);
        if (wire is null)
            return new MethodOutcome(StewardStatus.Failed, Error: "HerderDaemon takes one argument: the daemon request (JSON), as the *-HerderDaemon cmdlets send it.");
        if (HerderDaemons.AgentHost(call.Node) is not { } host)
            return HerderStewardCall.Refusal(HerderFailure.RemoteFailed, $"node {call.Node} runs no daemon host.");
        var owner = OwnerOf(call);
        try
        {
            object answer = wire.Op switch
            {
                Op.Start => await host.StartAsync(new HerderDaemonRequest
                {
                    Name = wire.Name ?? "", Command = wire.Command, Environment = wire.Environment, Files = wire.Files ?? [],
                    Ports = wire.Ports ?? [], Restart = wire.Restart, Token = wire.Token,
                }, owner, ct).ConfigureAwait(false),
                Op.List => host.List(owner, wire.Pattern),
                Op.Stop => await host.StopAsync(owner, wire.Name ?? "", $"Stop-HerderDaemon by {owner}", ct).ConfigureAwait(false),
                Op.Input => Input(host, owner, wire),
                Op.Read => await ReadAsync(host, owner, wire.Name ?? "", wire.From, Min(call.Timeout - TimeSpan.FromSeconds(2), ReadWait), ct).ConfigureAwait(false),
                Op.Log => Log(host, owner, wire),
                _ => throw new HerderException(HerderFailure.RemoteFailed, $"Unknown daemon operation {wire.Op}."),
            };
            return new MethodOutcome(StewardStatus.Succeeded, JsonSerializer.Serialize(answer, HerderStewardCall.Json));
        }
        catch (HerderException e)
        {
            return HerderStewardCall.Refusal(e);
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? (a < TimeSpan.FromMilliseconds(100) ? TimeSpan.FromMilliseconds(100) : a) : b;

    private static object Input(HerderDaemonHost host, string owner, Wire wire)
    {
        host.WriteInput(owner, wire.Name ?? "", wire.Input ?? []);
        return new { written = wire.Input?.Count ?? 0 };
    }

    private static object Log(HerderDaemonHost host, string owner, Wire wire)
    {
        var (lines, position) = HerderDaemonLogReader.Read(wire.Name ?? "", host.DirectoryOf(owner, wire.Name ?? ""), wire.Tail);
        return new ReadAnswer { Lines = lines, Position = position };
    }

    /// <summary>Waits (at most <paramref name="wait"/>) for lines from <paramref name="from"/> on.</summary>
    private static async Task<ReadAnswer> ReadAsync(HerderDaemonHost host, string owner, string name, HerderDaemonLogPosition? from, TimeSpan wait, CancellationToken ct)
    {
        using var tail = HerderDaemonTail.Open(name, host.DirectoryOf(owner, name), from);
        var deadline = DateTimeOffset.UtcNow + wait;
        while (true)
        {
            var running = host.Get(owner, name).State is HerderDaemonState.Running or HerderDaemonState.Restarting;
            var lines = tail.ReadNew();
            if (lines.Count > 0 || !running || DateTimeOffset.UtcNow >= deadline)
                return new ReadAnswer { Lines = lines, Position = tail.Position, Running = running };
            var left = deadline - DateTimeOffset.UtcNow;
            if (left < TimeSpan.Zero) left = TimeSpan.Zero;
            await tail.WaitAsync(left < HerderDaemons.FollowPoll ? left : HerderDaemons.FollowPoll, ct).ConfigureAwait(false);
        }
    }

    // ---- the sender's side ----

    public static async Task<HerderDaemon> StartAsync(RemoteOpsConfig config, string node, HerderDaemonRequest request, CancellationToken ct)
    {
        HerderDaemonHost.ValidateName(request.Name);
        HerderFiles.Validate(request.Files);
        return Parse<HerderDaemon>(await CallAsync(config, node, new Wire
        {
            Op = Op.Start, Name = request.Name, Command = request.Command?.ToList(), Environment = request.Environment,
            Files = request.Files.ToDictionary(kv => kv.Key, kv => kv.Value ?? []), Ports = [.. request.Ports], Restart = request.Restart, Token = request.Token,
        }, ct).ConfigureAwait(false), node);
    }

    public static async Task<IReadOnlyList<HerderDaemon>> ListAsync(RemoteOpsConfig config, string node, string? pattern, CancellationToken ct) =>
        Parse<List<HerderDaemon>>(await CallAsync(config, node, new Wire { Op = Op.List, Pattern = pattern }, ct).ConfigureAwait(false), node);

    public static async Task<HerderDaemon> StopAsync(RemoteOpsConfig config, string node, string name, CancellationToken ct) =>
        Parse<HerderDaemon>(await CallAsync(config, node, new Wire { Op = Op.Stop, Name = name }, ct).ConfigureAwait(false), node);

    public static async Task WriteInputAsync(RemoteOpsConfig config, string node, string name, IReadOnlyList<string> lines, CancellationToken ct) =>
        await CallAsync(config, node, new Wire { Op = Op.Input, Name = name, Input = [.. lines] }, ct).ConfigureAwait(false);

    public static async Task<(List<HerderDaemonOutput> Lines, HerderDaemonLogPosition Position)> ReadLogAsync(RemoteOpsConfig config, string node, string name, int? tail, CancellationToken ct)
    {
        var answer = Parse<ReadAnswer>(await CallAsync(config, node, new Wire { Op = Op.Log, Name = name, Tail = tail }, ct).ConfigureAwait(false), node);
        return (answer.Lines, answer.Position);
    }

    public static async IAsyncEnumerable<HerderDaemonOutput> FollowAsync(RemoteOpsConfig config, string node, string name, HerderDaemonLogPosition? from,
        [EnumeratorCancellation] CancellationToken ct)
    {
        var position = from;
        while (!ct.IsCancellationRequested)
        {
            ReadAnswer answer;
            try { answer = Parse<ReadAnswer>(await CallAsync(config, node, new Wire { Op = Op.Read, Name = name, From = position }, ct).ConfigureAwait(false), node); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { yield break; }
            foreach (var line in answer.Lines) yield return line;
            position = answer.Position;
            if (!answer.Running) yield break;
        }
    }

    private static T Parse<T>(string output, string node) => HerderStewardCall.Parse<T>(output, node);

    private static Task<string> CallAsync(RemoteOpsConfig config, string node, Wire wire, CancellationToken ct) =>
        HerderStewardCall.CallAsync(config, node, StewardMethod.HerderDaemon, JsonSerializer.Serialize(wire, HerderStewardCall.Json), CallTimeout, Slack, ct);
}
