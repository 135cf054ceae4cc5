using System.Globalization;
using System.Runtime.CompilerServices;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;

namespace RemoteOps.Steward;

/// <summary>One record of central's error log as central publishes it on <c>&lt;stream&gt;.errors</c>, signed by
/// central (<see cref="Domain"/>), so any client with rights can read the log from the stream.</summary>
public sealed record StewardCentralError
{
    public static readonly SignatureDomain Domain = new("steward-error");

    public required DateTimeOffset Time { get; init; }
    public required string Node { get; init; }
    public string MessageId { get; init; } = "";
    public string Method { get; init; } = "";
    public required string Kind { get; init; }
    public string Message { get; init; } = "";
    /// <summary>The peer that reported it, as central's errors.jsonl names it (its destination and the start of its key).</summary>
    public string From { get; init; } = "";
    /// <summary>The central node that logged it.</summary>
    public required string Central { get; init; }
}

/// <summary>The central error log on the stream: central publishes each record it appends to errors.jsonl; Get-StewardError
/// reads them, keeping only records signed by the configured central.</summary>
public static class StewardErrorLog
{
    /// <summary>A record is a report (at most <see cref="StewardErrorReport.MaxMessage"/> characters of message) and a few
    /// names; anything far larger is not ours.</summary>
    public const int MaxRecordBytes = 64 * 1024;

    /// <summary>Publishes one record central appended, signed by central's key.</summary>
    public static async Task PublishAsync(StewardStore store, SigningKey key, string central, StewardErrorReport report, string from, CancellationToken ct)
    {
        var record = new StewardCentralError
        {
            Time = report.Time, Node = report.Node, MessageId = report.MessageId, Method = report.Method, Kind = report.Kind,
            Message = report.Message.Length > StewardErrorReport.MaxMessage ? report.Message[..StewardErrorReport.MaxMessage] : report.Message,
            From = from, Central = central,
        };
        var ack = await store.JetStream.PublishAsync(store.Subjects.Errors, SignedJson.Encode(record, key, StewardCentralError.Domain), cancellationToken: ct).ConfigureAwait(false);
        ack.EnsureSuccess();
    }

    /// <summary>-Since as text: a duration back from <paramref name="now"/> ("1h", "90", "00:30:00", as config durations)
    /// or a point in time (ISO 8601; without an offset, UTC). Throws <see cref="StewardArgumentException"/> otherwise.</summary>
    public static DateTimeOffset ParseSince(string? text, DateTimeOffset now)
    {
        if (Duration.TryParse(text, out var back))
            return back >= now - DateTimeOffset.MinValue ? DateTimeOffset.MinValue : now - back;
        if (!string.IsNullOrWhiteSpace(text) && text.Length <= 64
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var at))
            return at;
        throw new StewardArgumentException($"-Since '{UntrustedText.Clean(text ?? "")}' is neither a duration (1h, 30m, 90) nor a date and time (2026-01-31T12:00:00Z).");
    }

    /// <summary>-Since as given: a DateTime (local when its kind is unspecified, as Get-Date gives), a DateTimeOffset, a
    /// TimeSpan back from <paramref name="now"/>, or text (<see cref="ParseSince"/>); null for null.</summary>
    public static DateTimeOffset? ToSince(object? value, DateTimeOffset now) => value switch
    {
        null => null,
        DateTimeOffset at => at,
        DateTime at => at.Kind == DateTimeKind.Unspecified ? new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Local)) : new DateTimeOffset(at),
        TimeSpan back when back >= TimeSpan.Zero => back >= now - DateTimeOffset.MinValue ? DateTimeOffset.MinValue : now - back,
        TimeSpan => throw new StewardArgumentException("-Since as a duration must not be negative."),
        string text => ParseSince(text, now),
        _ => ParseSince(Convert.ToString(value, CultureInfo.InvariantCulture), now),
    };

    /// <summary>The error records on the stream, oldest first: those of nodes <paramref name="node"/> names (a name or a
    /// pattern; null: all), at or after <paramref name="since"/>. Without <paramref name="follow"/>, ends when the
    /// records there are now were read; with it, goes on with new ones until cancelled. Records not signed by the
    /// configured <c>steward.central</c> (a configured peer with that destination, or one of our identities) are
    /// dropped and counted in <paramref name="dropped"/>. Throws <see cref="StewardArgumentException"/> when no central
    /// is configured or the node name is malformed, <see cref="DestinationPatternException"/> for a bad pattern.</summary>
    public static async IAsyncEnumerable<StewardError> ReadAsync(StewardStore store, string? node, DateTimeOffset? since, bool follow,
        Action<string>? dropped, [EnumeratorCancellation] CancellationToken ct)
    {
        if (store.Section.Central is not { Length: > 0 } central)
            throw new StewardArgumentException("No steward.central in the config: the central error log is the central node's, so name it (steward.central: <node>).");
        if (node is not null) StewardTargets.Check(node);
        var opts = new NatsJSOrderedConsumerOpts
        {
            FilterSubjects = [store.Subjects.Errors],
            DeliverPolicy = since is null ? ConsumerConfigDeliverPolicy.All : ConsumerConfigDeliverPolicy.ByStartTime,
            OptStartTime = since ?? default,
        };
        var consumer = await store.JetStream.CreateOrderedConsumerAsync(store.Subjects.Stream, opts, ct).ConfigureAwait(false);
        if (follow)
        {
            await foreach (var m in consumer.ConsumeAsync<byte[]>(cancellationToken: ct).ConfigureAwait(false))
                if (Accept(m.Data, store, central, node, since, dropped) is { } e) yield return e;
            yield break;
        }
        // Without -Follow: fetch what is there without waiting, until a fetch brings nothing.
        while (true)
        {
            var any = false;
            await foreach (var m in consumer.FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 256 }, cancellationToken: ct).ConfigureAwait(false))
            {
                any = true;
                if (Accept(m.Data, store, central, node, since, dropped) is { } e) yield return e;
            }
            if (!any) yield break;
        }
    }

    private static StewardError? Accept(byte[]? raw, StewardStore store, string central, string? node, DateTimeOffset? since, Action<string>? dropped)
    {
        if (raw is null)
        {
            dropped?.Invoke("An empty error record was dropped.");
            return null;
        }
        if (!SignedJson.TryOpen<StewardCentralError>(raw, StewardCentralError.Domain, MaxRecordBytes, out var r, out var signer, out var problem))
        {
            dropped?.Invoke($"An error record was dropped: {problem}.");
            return null;
        }
        if (!store.IsNodeKey(central, signer) || r.Central != central)
        {
            dropped?.Invoke($"An error record not signed by central {UntrustedText.Clean(central)} was dropped.");
            return null;
        }
        if (node is not null && !(StewardTargets.IsPattern(node) ? DestinationPattern.Matches(r.Node, node) : r.Node == node)) return null;
        if (since is { } s && r.Time < s) return null;
        return new StewardError { Time = r.Time, Node = r.Node, MessageId = r.MessageId, Method = r.Method, Kind = r.Kind, Message = r.Message, From = r.From };
    }
}
