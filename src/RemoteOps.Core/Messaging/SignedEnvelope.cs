using System.Text;
using RemoteOps.Identity;

namespace RemoteOps.Messaging;

/// <summary>What the verifier needs of any signed message, whatever its wire format.</summary>
public interface ISignedMessage
{
    /// <summary>The sender's public key, base58, as it appears on the wire (the trust store's key).</summary>
    string SenderBase58 { get; }
    byte[] SenderKey { get; }
    byte[] Signature { get; }
    /// <summary>The bytes the signature covers (without the codec's domain prefix, if any).</summary>
    ReadOnlySpan<byte> SignedBytes { get; }
    /// <summary>What the message asks for (a remaphore verb, a steward method): what permissions are about.</summary>
    string Action { get; }
    /// <summary>When it was signed, unix nanoseconds.</summary>
    long TimeNanos { get; }
    /// <summary>SHA-256 of the whole message: its identity for replay protection.</summary>
    byte[] Hash { get; }
    int PayloadBytes { get; }
}

/// <summary>A wire format: bytes to a message (no judgement), and the signature domain the format signs under
/// (null when the format is its own domain, as remaphore's wire is, byte-compatible with the original).</summary>
public interface IEnvelopeCodec<TMessage> where TMessage : class, ISignedMessage
{
    SignatureDomain? Domain { get; }
    bool TryDecode(byte[] raw, byte[] hash, out TMessage message, out string problem);
}

/// <summary>A decoded message (null when the bytes are not one, with the reason) and whether its signature holds:
/// what depends on the bytes alone, worked out once per message however many waiters receive it.</summary>
public sealed record Envelope<TMessage>(TMessage? Message, string Error, bool SignatureValid, int Length) where TMessage : class, ISignedMessage
{
    /// <summary>Decodes <paramref name="raw"/> and checks its signature. Configured peers' keys come from the import cache;
    /// an unknown sender's key is imported just for this check.</summary>
    public static Envelope<TMessage> Open(IEnvelopeCodec<TMessage> codec, byte[] raw)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(raw);
        if (!codec.TryDecode(raw, hash, out var m, out var problem)) return new Envelope<TMessage>(null, problem, false, raw.Length);
        var key = VerificationKey.For(m.SenderBase58, m.SenderKey);
        var valid = key is not null && (codec.Domain is { } domain
            ? VerificationKey.Verify(key, domain, m.SignedBytes, m.Signature)
            : VerificationKey.Verify(key, m.SignedBytes, m.Signature));
        return new Envelope<TMessage>(m, "", valid, raw.Length);
    }
}

/// <summary>Why a message was dropped: which of the verifier's checks failed.</summary>
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

/// <summary>The outcome of verifying one message.</summary>
public readonly record struct Verdict<TMessage>(TMessage? Message, TrustedPeer? Peer, DropReason? Drop, string Reason) where TMessage : class
{
    public bool Accepted => Drop is null;
}

/// <summary>A tool's own check (permission or destination) failing: the reason and what to say.</summary>
public readonly record struct Refusal(DropReason Reason, string Text);

/// <summary>How old a message may be: within allow_skew either side of our clock and never seen before (live
/// messages), or only not from the future (a stored message whose age its own signed expiry bounds; read by every late
/// reader, so never a replay).</summary>
public enum Freshness { Live, Stored }

/// <summary>Judges incoming messages before anything acts on them, in a fixed order: encoding, signature (always before
/// anything else is believed), known sender, the tool's permission check, the tool's destination check, time within
/// allow_skew, replay, payload size. Thread-safe: replies are verified on all cores at once. Tools supply the two checks
/// that are theirs as static functions with a state argument (no allocation per message).</summary>
public sealed class EnvelopeVerifier<TMessage> where TMessage : class, ISignedMessage
{
    private readonly TrustStore _trust;
    private readonly long _skewNanos;
    private readonly int _maxPayload;
    private readonly ReplayGuard? _replay;

    public EnvelopeVerifier(TrustStore trust, TimeSpan allowSkew, int maxPayload, ReplayGuard? replay)
    {
        _trust = trust;
        _skewNanos = (long)Math.Min(allowSkew.TotalNanoseconds, long.MaxValue / 4);
        _maxPayload = maxPayload;
        _replay = replay;
        AllowSkew = allowSkew;
    }

    public TimeSpan AllowSkew { get; }

    public Verdict<TMessage> Verify<TState>(Envelope<TMessage> envelope, long nowNanos, Freshness freshness, TState state,
        Func<TMessage, TrustedPeer, TState, Refusal?> permission, Func<TMessage, TState, Refusal?>? destination)
    {
        // 1. Encoding and 2. signature, before anything in the message is believed.
        if (envelope.Message is not { } m)
            return Drop(null, null, DropReason.BadEncoding, $"bad encoding ({envelope.Error}; {envelope.Length} bytes)");
        var peer = _trust.Find(m.SenderBase58);
        if (!envelope.SignatureValid)
            return Drop(m, peer, DropReason.BadSignature, "bad signature");

        // 3. Known sender.
        if (peer is null)
            return Drop(m, null, DropReason.UnknownSender, "unknown sender (not a configured peer)");

        // 4. Permission, the tool's rule.
        if (permission(m, peer, state) is { } denied)
            return Drop(m, peer, denied.Reason, denied.Text);

        // 5. Destination, the tool's rule.
        if (destination?.Invoke(m, state) is { } elsewhere)
            return Drop(m, peer, elsewhere.Reason, elsewhere.Text);

        // 6. Time (128-bit arithmetic: no time on the wire can overflow it).
        Int128 delta = (Int128)nowNanos - m.TimeNanos;
        if (freshness == Freshness.Stored ? -delta > _skewNanos : delta > _skewNanos || -delta > _skewNanos)
        {
            var ticks = (long)Int128.Min(Int128.Abs(delta) / 100, TimeSpan.MaxValue.Ticks);
            return Drop(m, peer, DropReason.ClockSkew,
                $"sent {Config.Duration.Format(TimeSpan.FromTicks(ticks))} {(delta < 0 ? "ahead of" : "behind")} our clock, outside allow_skew {Config.Duration.Format(AllowSkew)}");
        }

        // 7. Replay.
        if (freshness == Freshness.Live && _replay is not null && !_replay.TryAccept(m.Hash, m.TimeNanos, nowNanos, out var replayReason))
            return Drop(m, peer, DropReason.Replay, replayReason);

        // 8. Size.
        if (m.PayloadBytes > _maxPayload)
            return Drop(m, peer, DropReason.Oversize, $"payload of {m.PayloadBytes} bytes exceeds max_payload {_maxPayload}");

        return new Verdict<TMessage>(m, peer, null, "");
    }

    private static Verdict<TMessage> Drop(TMessage? m, TrustedPeer? peer, DropReason reason, string text)
    {
        var from = m is null ? "" : $" {Convert.ToHexStringLower(m.Hash.AsSpan(0, 6))} from {(peer is null ? m.SenderBase58 : UntrustedText.Describe(peer))}";
        return new Verdict<TMessage>(m, peer, reason, $"Dropped message{from}: {text}.");
    }
}

/// <summary>Text from messages, made safe and short to print.</summary>
public static class UntrustedText
{
    /// <summary>A peer as "destination (key…)", or its key when it has no destination.</summary>
    public static string Describe(TrustedPeer peer) => peer.Destination.Length > 0 ? $"{peer.Destination} ({Short(peer.Public)})" : peer.Public;

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
