using NATS.Client.Core;
using NATS.Client.JetStream;

namespace RemoteOps.Messaging;

/// <summary>What a tool could not reach: NATS, JetStream or a bucket. Tools derive their own (seaport's registry being
/// unavailable is one); the PowerShell layer maps them all through one error map.</summary>
public class RemoteOpsUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A caller's argument that a core parser or validator refused. Tools derive their own.</summary>
public class RemoteOpsArgumentException(string message) : ArgumentException(message);

/// <summary>The one place where NATS's exceptions become RemoteOps's, at the messaging boundary: no tool or cmdlet
/// matches NATS exception types (or their names) itself.</summary>
public static class NatsFailures
{
    /// <summary>Whether <paramref name="e"/> says NATS (or an operation on it) failed, rather than a bug or bad input.</summary>
    public static bool IsNats(Exception e) => e is NatsException or TimeoutException; // NatsJSException is a NatsException

    /// <summary>No reply: the server (or JetStream) did not answer a request in time, or dropped it for want of permission.</summary>
    public static bool IsNoReply(Exception e) => e is NatsNoReplyException;

    /// <summary>JetStream is not enabled on the server (the API has no responders, or answers 503).</summary>
    public static bool IsJetStreamMissing(Exception e) =>
        e is NatsJSApiException { Error.Code: 503 } or NatsNoRespondersException
        || e is NatsJSException && e.Message.Contains("no responders", StringComparison.OrdinalIgnoreCase);

    /// <summary><paramref name="e"/> as a RemoteOps exception when it is a NATS failure (already-translated ones pass
    /// through); null for anything else. <paramref name="what"/> names what could not be reached ("The seaport registry").
    /// (No NATS type in this signature: the cmdlets, which cannot load NATS's assembly, call it.)</summary>
    public static RemoteOpsUnavailableException? Translate(Exception e, string what) => Translate(e, what, null);

    /// <summary>As <see cref="Translate(Exception, string)"/>, naming the server in a missing-JetStream message.</summary>
    public static RemoteOpsUnavailableException? Translate(Exception e, string what, NatsConnection? connection) => e switch
    {
        RemoteOpsUnavailableException done => done,
        _ when IsJetStreamMissing(e) => new RemoteOpsUnavailableException(
            $"{what} is unavailable: JetStream is not enabled on {connection?.ServerInfo?.Host ?? "the server"}:{connection?.ServerInfo?.Port} (start nats-server with -js).", e),
        _ when IsNoReply(e) => new RemoteOpsUnavailableException(
            $"{what} did not answer: the NATS server may be down, or this NATS user may not write to the bucket (see the NATS permissions in the README).", e),
        _ when IsNats(e) => new RemoteOpsUnavailableException($"{what} is unavailable: {e.Message}", e),
        _ => null,
    };
}
