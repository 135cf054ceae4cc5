using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;

namespace RemoteOps.Remaphore;

/// <summary>Judges incoming remaphore bytes with the shared <see cref="EnvelopeVerifier{TMessage}"/>'s ordered checks
/// (encoding, signature, known sender, permission, destination, time, replay, size), supplying remaphore's own two:
/// the sender's verbs (or, for replies, that it is a reply), and the destination the message addresses.</summary>
public sealed class RemaphoreVerifier
{
    private readonly EnvelopeVerifier<WireMessage> _verifier;

    public RemaphoreVerifier(TrustStore trust, TimeSpan allowSkew, int maxPayload, ReplayGuard? replay)
    {
        _verifier = new EnvelopeVerifier<WireMessage>(trust, allowSkew, maxPayload, replay);
    }

    public RemaphoreVerifier(RemoteOpsConfig config, ReplayGuard? replay)
        : this(TrustStore.For(config), config.AllowSkew, config.MaxPayload, replay) { }

    public TimeSpan AllowSkew => _verifier.AllowSkew;

    /// <summary>Verifies a message sent to a subject. <paramref name="destination"/>: the destination it must address
    /// (ours, or Wait-Remaphore -Destination); null accepts any (-AnyDestination).</summary>
    public Verdict<WireMessage> VerifyMessage(byte[] raw, string? destination, long nowNanos) => VerifyMessage(Open(raw), destination, nowNanos);

    /// <summary>Judges a message already opened by <see cref="Open"/> (the shared subscription does that once per message).</summary>
    public Verdict<WireMessage> VerifyMessage(Envelope<WireMessage> envelope, string? destination, long nowNanos) =>
        _verifier.Verify(envelope, nowNanos, Freshness.Live, destination, VerbAllowed, Addressed);

    /// <summary>Verifies a reply to our request: any configured peer may reply, whatever its verbs.</summary>
    public Verdict<WireMessage> VerifyReply(byte[] raw, long nowNanos) =>
        _verifier.Verify(Open(raw), nowNanos, Freshness.Live, (string?)null, IsReply, null);

    /// <summary>Verifies a message read from the latch bucket: as <see cref="VerifyMessage(byte[], string?, long)"/>,
    /// except that its age is bounded by the latch's own (signed) expiry instead of allow_skew, and it is not a replay (a
    /// latch is meant to be read by every late waiter). It must still not come from the future.</summary>
    public Verdict<WireMessage> VerifyLatched(byte[] raw, string? destination, long nowNanos) =>
        _verifier.Verify(Open(raw), nowNanos, Freshness.Stored, destination, VerbAllowed, Addressed);

    private static Refusal? VerbAllowed(WireMessage m, TrustedPeer peer, string? destination) =>
        peer.MayUse(m.Verb) ? null : new Refusal(DropReason.ForbiddenVerb,
            $"peer {UntrustedText.Describe(peer)} may not use verb '{UntrustedText.Clean(m.Verb)}' (allowed: {string.Join(", ", peer.Verbs)})");

    private static Refusal? IsReply(WireMessage m, TrustedPeer peer, string? _) =>
        m.RequestReply ? new Refusal(DropReason.NotAReply, "a request, not a reply, on the reply subject") : null;

    private static Refusal? Addressed(WireMessage m, string? destination) =>
        destination is null || DestinationMatches(destination, m.Destination) ? null
            : new Refusal(DropReason.WrongDestination, $"destination '{UntrustedText.Clean(m.Destination)}' does not match '{destination}'");

    /// <summary>Decodes a message and checks its signature, once per message however many waiters receive it.</summary>
    public static Envelope<WireMessage> Open(byte[] raw) => Envelope<WireMessage>.Open(RemaphoreCodec.Instance, raw);

    /// <summary>Whether a message addressed to <paramref name="messageDestination"/> is for <paramref name="ours"/>:
    /// our (concrete) destination matches the message's pattern, or (as the original's receive -D does) the two are the
    /// same text, which lets a waiter name a pattern and take exactly the messages sent to it.</summary>
    public static bool DestinationMatches(string ours, string messageDestination) =>
        string.Equals(ours, messageDestination, StringComparison.Ordinal) || DestinationPattern.Matches(ours, messageDestination);

}
