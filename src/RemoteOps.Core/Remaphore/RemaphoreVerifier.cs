using System.Text;
using RemoteOps.Config;

namespace RemoteOps.Remaphore;

/// <summary>Why a message was dropped.</summary>
public enum DropReason
{
    BadEncoding,
    BadSignature,
    UnknownSender,
    ForbiddenVerb,
    WrongDestination,
    ClockSkew,
    Replay,
    Oversize,
    NotAReply,
}

/// <summary>A decoded message (null when the bytes are not one, with the reason) and whether its signature holds.</summary>
public sealed record Envelope(WireMessage? Message, string Error, bool SignatureValid, int Length);

/// <summary>The outcome of verifying one wire message.</summary>
public readonly record struct Verdict(WireMessage? Message, PeerEntry? Peer, DropReason? Drop, string Reason)
{
    public bool Accepted => Drop is null;
}

/// <summary>Judges incoming bytes before anything acts on them, in a fixed order: encoding, signature (always before
/// anything else is believed), known sender, the sender's permission for the verb, destination, time within
/// allow_skew, replay, payload size. Thread-safe: replies are verified on all cores at once.</summary>
public sealed class RemaphoreVerifier
{
    private readonly PeerTable _peers;
    private readonly long _skewNanos;
    private readonly int _maxPayload;
    private readonly ReplayGuard? _replay;

    public RemaphoreVerifier(PeerTable peers, TimeSpan allowSkew, int maxPayload, ReplayGuard? replay)
    {
        _peers = peers;
        _skewNanos = (long)allowSkew.TotalNanoseconds;
        _maxPayload = maxPayload;
        _replay = replay;
        AllowSkew = allowSkew;
    }

    public RemaphoreVerifier(RemoteOpsConfig config, ReplayGuard? replay)
        : this(PeerTable.For(config), config.AllowSkew, config.MaxPayload, replay) { }

    public TimeSpan AllowSkew { get; }

    /// <summary>Verifies a message sent to a subject. <paramref name="destination"/>: the destination it must address
    /// (ours, or Wait-Remaphore -Destination); null accepts any (-AnyDestination).</summary>
    public Verdict VerifyMessage(byte[] raw, string? destination, long nowNanos) => Verify(raw, destination, nowNanos, reply: false, latched: false);

    /// <summary>Verifies a reply to our request: any configured peer may reply, whatever its verbs.</summary>
    public Verdict VerifyReply(byte[] raw, long nowNanos) => Verify(raw, null, nowNanos, reply: true, latched: false);

    /// <summary>Verifies a message read from the latch bucket: as <see cref="VerifyMessage"/>, except that its age is
    /// bounded by the latch's own (signed) expiry instead of allow_skew, and it is not a replay (a latch is meant to be
    /// read by every late waiter). It must still not come from the future.</summary>
    public Verdict VerifyLatched(byte[] raw, string? destination, long nowNanos) => Verify(raw, destination, nowNanos, reply: false, latched: true);

    /// <summary>Judges a message already opened by <see cref="Open"/> (the shared subscription does that once per message).</summary>
    public Verdict VerifyMessage(Envelope envelope, string? destination, long nowNanos) => Verify(envelope, destination, nowNanos, reply: false, latched: false);

    private Verdict Verify(byte[] raw, string? destination, long nowNanos, bool reply, bool latched) =>
        Verify(Open(raw), destination, nowNanos, reply, latched);

    private Verdict Verify(Envelope envelope, string? destination, long nowNanos, bool reply, bool latched)
    {
        // 1. Encoding and 2. signature, before anything in the message is believed.
        if (envelope.Message is not { } m)
            return Drop(null, null, DropReason.BadEncoding, $"bad encoding ({envelope.Error}; {envelope.Length} bytes)");
        var peer = _peers.Find(m.SenderBase58);
        if (!envelope.SignatureValid)
            return Drop(m, peer, DropReason.BadSignature, "bad signature");

        // 3. Known sender.
        if (peer is null)
            return Drop(m, null, DropReason.UnknownSender, "unknown sender (not a configured peer)");

        // 4. Permission (messages) / kind (replies).
        if (reply)
        {
            if (m.RequestReply) return Drop(m, peer, DropReason.NotAReply, "a request, not a reply, on the reply subject");
        }
        else if (!peer.MayUse(m.Verb))
        {
            return Drop(m, peer, DropReason.ForbiddenVerb, $"peer {Describe(peer)} may not use verb '{Clean(m.Verb)}' (allowed: {string.Join(", ", peer.Verbs)})");
        }

        // 5. Destination.
        if (!reply && destination is not null && !DestinationMatches(destination, m.Destination))
            return Drop(m, peer, DropReason.WrongDestination, $"destination '{Clean(m.Destination)}' does not match '{destination}'");

        // 6. Time.
        Int128 delta = (Int128)nowNanos - m.TimeNanos;
        if (latched ? -delta > _skewNanos : delta > _skewNanos || -delta > _skewNanos)
        {
            var ticks = (long)Int128.Min(Int128.Abs(delta) / 100, TimeSpan.MaxValue.Ticks);
            return Drop(m, peer, DropReason.ClockSkew,
                $"sent {Duration.Format(TimeSpan.FromTicks(ticks))} {(delta < 0 ? "ahead of" : "behind")} our clock, outside allow_skew {Duration.Format(AllowSkew)}");
        }

        // 7. Replay.
        if (!latched && _replay is not null && !_replay.TryAccept(m.Hash, m.TimeNanos, nowNanos, out var replayReason))
            return Drop(m, peer, DropReason.Replay, replayReason);

        // 8. Size.
        if (m.PayloadBytes > _maxPayload)
            return Drop(m, peer, DropReason.Oversize, $"payload of {m.PayloadBytes} bytes exceeds max_payload {_maxPayload}");

        return new Verdict(m, peer, null, "");
    }

    /// <summary>Decodes a message and checks its signature: what depends on the bytes alone, done once per message
    /// however many waiters receive it (see <see cref="SignalHub"/>). Configured peers' keys come from the import cache;
    /// an unknown sender's key is imported just for this check.</summary>
    public static Envelope Open(byte[] raw)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(raw);
        if (!RemaphoreWire.TryDecode(raw, hash, out var m, out var problem)) return new Envelope(null, problem, false, raw.Length);
        var publicKey = PeerTable.Cached(m.SenderBase58) ?? PeerTable.ImportRaw(m.SenderKey);
        return new Envelope(m, "", publicKey is not null && PeerTable.Verify(publicKey, m.SignedBytes, m.Signature), raw.Length);
    }

    /// <summary>Whether a message addressed to <paramref name="messageDestination"/> is for <paramref name="ours"/>:
    /// our (concrete) destination matches the message's pattern, or (as the original's receive -D does) the two are the
    /// same text, which lets a waiter name a pattern and take exactly the messages sent to it.</summary>
    public static bool DestinationMatches(string ours, string messageDestination) =>
        string.Equals(ours, messageDestination, StringComparison.Ordinal) || DestinationPattern.Matches(ours, messageDestination);

    private static Verdict Drop(WireMessage? m, PeerEntry? peer, DropReason reason, string text)
    {
        var from = m is null ? "" : $" {Convert.ToHexStringLower(m.Hash.AsSpan(0, 6))} from {(peer is null ? m.SenderBase58 : Describe(peer))}";
        return new Verdict(m, peer, reason, $"Dropped message{from}: {text}.");
    }

    private static string Describe(PeerEntry peer) => peer.Destination.Length > 0 ? $"{peer.Destination} ({Short(peer.Public)})" : peer.Public;

    public static string Short(string key) => key.Length > 12 ? key[..8] + "…" : key;

    /// <summary>Attacker-supplied text, made safe to print: control characters escaped, length bounded.</summary>
    public static string Clean(string s)
    {
        var sb = new StringBuilder(Math.Min(s.Length, 80));
        foreach (var c in s)
        {
            if (sb.Length >= 64) { sb.Append('…'); break; }
            sb.Append(char.IsControl(c) ? $"\\x{(int)c:x2}" : c.ToString());
        }
        return sb.ToString();
    }
}
