using System.Text.Json;
using System.Text.Json.Serialization;
using RemoteOps.Config;
using RemoteOps.Steward;

namespace RemoteOps.Herder;

/// <summary>
/// Both ends of every herder method (HerderMinion, HerderDaemon, HerderGolem). The sender: one signed steward message
/// to one node, waited for to its end. The node: the request read from its one JSON argument, and a refusal written
/// with its herder error id at the start of the record's error (<c>RemoteOps.Herder&lt;Failure&gt;: message</c>), which
/// comes back to the sender as that same failure.
/// </summary>
internal static class HerderStewardCall
{
    /// <summary>How a node's herder refusal starts; the failure's name follows, then ": " and the message.</summary>
    public const string FailurePrefix = "RemoteOps.Herder";

    /// <summary>How requests and answers travel: camelCase, enums by name, unknown members skipped.</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
        Converters = { new JsonStringEnumConverter() },
        MaxDepth = 8,
    };

    /// <summary>The node's side: the request in the call's one argument; null when it is missing or does not parse.</summary>
    public static T? ReadRequest<T>(StewardExtensionCall call) where T : class
    {
        try { return call.Args.Count == 1 ? JsonSerializer.Deserialize<T>(call.Args[0], Json) : null; }
        catch (JsonException) { return null; }
    }

    /// <summary>The node's side: a herder refusal as the failed outcome <see cref="CallAsync"/> turns back into it.</summary>
    public static MethodOutcome Refusal(HerderException e) => Refusal(e.Failure, e.Message);

    /// <inheritdoc cref="Refusal(HerderException)"/>
    public static MethodOutcome Refusal(HerderFailure failure, string message) =>
        new(StewardStatus.Failed, Error: $"{FailurePrefix}{failure}: {message}");

    /// <summary>Sends <paramref name="argument"/> as <paramref name="method"/>'s one argument and waits, for the ack
    /// and its retries, <paramref name="methodTimeout"/> and <paramref name="slack"/>, for the end.</summary>
    /// <returns>The output of a Succeeded record.</returns>
    /// <exception cref="HerderException">The node's refusal (its own failure), or RemoteFailed with steward's status.</exception>
    public static async Task<string> CallAsync(RemoteOpsConfig config, string node, StewardMethod method, string argument,
        TimeSpan methodTimeout, TimeSpan slack, CancellationToken ct)
    {
        var client = await StewardClient.OpenAsync(config, null, ct).ConfigureAwait(false);
        var steward = new StewardRequest { ToNodes = [node], Method = method, MethodArgs = [argument], MethodTimeout = methodTimeout };
        var (ack, retries, _) = StewardClient.Check(steward, client.Section);
        Exception? failure = null;
        var sent = await client.SendAsync(steward, [node], 1, (_, e) => failure = e, ct).ConfigureAwait(false);
        if (failure is not null) throw failure;
        StewardRecord? final = null;
        await foreach (var e in client.WaitAsync(sent, null, streamOutput: false, ack * (retries + 1) + methodTimeout + slack, ct).ConfigureAwait(false))
            if (e.Reply is not null) final = e.Record;
        if (final is null) throw new HerderException(HerderFailure.RemoteFailed, $"No result from node {node}.");
        if (final.Status == StewardStatus.Succeeded) return final.Output;
        if (final.Status == StewardStatus.Failed && final.Error.StartsWith(FailurePrefix, StringComparison.Ordinal)
            && final.Error.IndexOf(": ", StringComparison.Ordinal) is var colon and > 0
            && Enum.TryParse<HerderFailure>(final.Error[FailurePrefix.Length..colon], out var kind))
            throw new HerderException(kind, $"Node {node}: {final.Error[(colon + 2)..]}");
        throw new HerderException(HerderFailure.RemoteFailed, $"Node {node} did not serve the request: {final.Status}. {final.Error}".TrimEnd());
    }

    /// <summary>A node's JSON answer, or RemoteFailed when it does not parse.</summary>
    public static T Parse<T>(string output, string node)
    {
        try { return JsonSerializer.Deserialize<T>(output, Json) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new HerderException(HerderFailure.RemoteFailed, $"Node {node} answered with a result that does not parse: {e.Message}"); }
    }
}
