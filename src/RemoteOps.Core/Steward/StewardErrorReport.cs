using System.Text.Json;
using System.Text.Json.Serialization;
using RemoteOps.Identity;
using RemoteOps.Messaging;

namespace RemoteOps.Steward;

/// <summary>One error on a node, sent to <c>steward.central</c> (the seed's REQErrorLog): the method ErrorLog with this
/// record as its one argument, through the same durable queue and signature as any message. Central accepts it from
/// every known peer without a <c>methods</c> entry, and appends it to <c>errors.jsonl</c> in its data directory.</summary>
public sealed record StewardErrorReport
{
    public required DateTimeOffset Time { get; init; }
    /// <summary>The node the error happened on (for a sender's NoAck: the node that never took the message).</summary>
    public required string Node { get; init; }
    public string MessageId { get; init; } = "";
    public string Method { get; init; } = "";
    /// <summary>What went wrong: Failed, TimedOut, Denied, NoAck, Dropped.</summary>
    public required string Kind { get; init; }
    public string Message { get; init; } = "";

    /// <summary>A report is small: the message is cut to this many characters.</summary>
    public const int MaxMessage = 4096;

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = null, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow, MaxDepth = 4,
    };

    public string ToJson() => JsonSerializer.Serialize(this with { Message = Message.Length > MaxMessage ? Message[..MaxMessage] : Message }, Options);

    /// <summary>Never throws: the report, or null when <paramref name="json"/> is not one.</summary>
    public static StewardErrorReport? TryParse(string? json)
    {
        if (string.IsNullOrEmpty(json) || json.Length > 4 * MaxMessage) return null;
        try
        {
            var r = JsonSerializer.Deserialize<StewardErrorReport>(json, Options);
            return r is null || r.Message.Length > MaxMessage || !StewardSubjects.TryValidateNode(r.Node, out _) || r.Kind.Length is 0 or > 32 ? null : r;
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException or InvalidOperationException) { return null; }
    }

    /// <summary>Queues the report for <paramref name="central"/>, signed by <paramref name="key"/>; the window is the
    /// section's ack timeout × (retries + 1), so a central that is down gets it when it is back within that window.</summary>
    public static Task SendAsync(StewardStore store, StewardConfig section, SigningKey key, string central, StewardErrorReport report, CancellationToken ct) =>
        SendAsync(store, section, key, central, report.ToJson(), StewardSubjects.NewMessageId(), section.AckTimeout, ct);

    /// <summary>Queues the report (as JSON) under <paramref name="messageId"/>: sent again under the same id, it is
    /// de-duplicated by the stream (Nats-Msg-Id) and, after that window, by central's local store, so it is logged once.
    /// Signed and stamped now, so its delivery window (<paramref name="ackTimeout"/> × (retries + 1)) starts now.</summary>
    public static async Task SendAsync(StewardStore store, StewardConfig section, SigningKey key, string central, string reportJson,
        string messageId, TimeSpan ackTimeout, CancellationToken ct)
    {
        var command = new StewardCommand
        {
            MessageId = messageId, Sender = key.PublicBase58, Node = central, Method = StewardMethod.ErrorLog,
            Args = [reportJson], AckTimeout = ackTimeout, Retries = section.Retries, MethodTimeout = section.MethodTimeout,
            Time = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100,
        };
        await store.PublishCommandAsync(command, StewardCodec.Encode(command, key), ct).ConfigureAwait(false);
    }

    /// <summary>Appends <paramref name="report"/> to the JSON-lines log in <paramref name="directory"/>, with the name of
    /// the peer that sent it.</summary>
    public static void Append(string directory, StewardErrorReport report, string from)
    {
        System.IO.Directory.CreateDirectory(directory);
        var line = JsonSerializer.Serialize(new { report.Time, report.Node, report.MessageId, report.Method, report.Kind, report.Message, From = from });
        lock (AppendLock) File.AppendAllText(Path.Combine(directory, LogFile), line + "\n");
    }

    public const string LogFile = "errors.jsonl";
    private static readonly Lock AppendLock = new();
}
