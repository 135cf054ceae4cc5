using System.Security.Cryptography;
using RemoteOps.Messaging;

namespace RemoteOps.Steward;

/// <summary>A message changed in flight: Denied when its sender's genuine record says what was sent.</summary>
public sealed partial class StewardAgent
{
    /// <summary>A message whose signature fails is never believed: nothing in it is acted on. But when the results
    /// bucket holds the genuine Queued record of its message id (signed by that record's sender, a known peer, for
    /// this node) and that record's <see cref="StewardRecord.CommandHash"/> is not the hash of the body delivered, the
    /// sender did send a message with this id and what arrived is not it: the id is marked Denied, from the genuine
    /// record alone, with a reason saying it was altered in flight. True when it was; false leaves the message dropped
    /// (no genuine record, a sender that records no hash, a body that is what was signed, an id already taken here).</summary>
    private async Task<bool> DenyAlteredAsync(StewardCommand delivered, string subject, CancellationToken ct)
    {
        if (!StewardSubjects.IsMessageId(delivered.MessageId) || _local.Get(delivered.MessageId) is not null) return false;
        if (await _store.GetAsync(delivered.MessageId, ct).ConfigureAwait(false) is not { Valid: true, Record: { } genuine } stored) return false;
        if (genuine.Status != StewardStatus.Queued || stored.Signer != genuine.Sender || genuine.Node != Name
            || genuine.CommandHash.Length == 0 || _trust.Find(genuine.Sender) is not { } sender
            || string.Equals(genuine.CommandHash, StewardRecordHash.Of(delivered.Json), StringComparison.OrdinalIgnoreCase))
            return false;
        var reason = $"Denied: the message {genuine.MessageId} ({genuine.Method}) from {UntrustedText.Describe(sender)} was altered in flight: what arrived on {subject} is not what its sender signed (its sender's record holds the hash of the signed command). Nothing of it ran.";
        var now = DateTimeOffset.UtcNow;
        var denied = genuine with { Status = StewardStatus.Denied, Error = reason, Updated = now, Finished = now };
        if (await _store.TryMoveAsync(genuine, stored.Revision, denied, _key, ct).ConfigureAwait(false) is null) return false;
        Log(StewardLogLevel.Warning, $"{genuine.MessageId} {genuine.Method} from {UntrustedText.Describe(sender)}: Denied (bad signature: altered in flight).");
        ReportError(genuine.MessageId, genuine.Method, StewardStatus.Denied.ToString(), reason);
        return true;
    }
}

/// <summary>The hash a sender's record keeps of the command it signed (<see cref="StewardRecord.CommandHash"/>).</summary>
public static class StewardRecordHash
{
    /// <summary>Lower-case hex SHA-256 of the signed JSON body (the bytes the signature covers).</summary>
    public static string Of(ReadOnlySpan<byte> signedBody) => Convert.ToHexStringLower(SHA256.HashData(signedBody));

    /// <summary>The same, of a wire message (<c>signature '\n' json</c>); "" when it has no signature line.</summary>
    public static string OfWire(ReadOnlySpan<byte> wire)
    {
        var nl = wire.IndexOf((byte)'\n');
        return nl < 0 ? "" : Of(wire[(nl + 1)..]);
    }
}
