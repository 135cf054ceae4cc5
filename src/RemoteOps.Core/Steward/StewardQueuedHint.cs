using System.Globalization;
using System.Text;
using RemoteOps.Identity;

namespace RemoteOps.Steward;

/// <summary>The revision of a message's Queued record, sent beside its command in a NATS header and signed by the
/// sender, so that the node moves the record to Delivered without reading it first: it rebuilds the record from the
/// command (<see cref="StewardRecord.Queued"/>) and compares-and-sets on this revision, one round trip instead of two.
/// The signature binds the revision to the message id, so a header that was altered, or copied onto a republished
/// command, does not verify; a compare-and-set that fails (the record moved since: cancelled, expired, taken) falls
/// back to reading the record. Either way the node acts only on what the sender signed and the bucket holds.</summary>
public static class StewardQueuedHint
{
    public const string Header = "Steward-Queued";
    private static readonly SignatureDomain Domain = new("steward-queued");

    /// <summary>The header's value: <c>revision replyMethodTimeoutTicks|- base64(signature)</c>.</summary>
    public static string Encode(SigningKey key, string messageId, ulong revision, TimeSpan? replyMethodTimeout)
    {
        var fields = Fields(revision, replyMethodTimeout);
        return fields + " " + Convert.ToBase64String(key.Sign(Domain, Signed(messageId, fields)));
    }

    /// <summary>The revision and reply-method timeout of <paramref name="command"/>'s Queued record, when
    /// <paramref name="value"/> is a hint its sender signed for its message id; false otherwise (absent, malformed,
    /// or not signed by that sender for that id).</summary>
    public static bool TryOpen(string? value, StewardCommand command, out ulong revision, out TimeSpan? replyMethodTimeout)
    {
        revision = 0;
        replyMethodTimeout = null;
        if (value is null || value.Length > 200) return false;
        var parts = value.Split(' ');
        if (parts.Length != 3) return false;
        if (!ulong.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var rev) || rev == 0) return false;
        TimeSpan? timeout = null;
        if (parts[1] != "-")
        {
            if (!long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)) return false;
            timeout = TimeSpan.FromTicks(ticks);
        }
        var signature = new byte[64];
        // One spelling here too: base64 decoding skips white space, which would let an edited hint pass.
        if (!Convert.TryFromBase64String(parts[2], signature, out var length) || length != 64
            || !string.Equals(Convert.ToBase64String(signature), parts[2], StringComparison.Ordinal)) return false;
        var fields = Fields(rev, timeout);
        // The fields as written are the fields as signed (one spelling per value: no leading zeros, no sign, no spaces).
        if (!string.Equals(fields, parts[0] + " " + parts[1], StringComparison.Ordinal)) return false;
        if (!VerificationKey.Verify(command.Sender, Domain, Signed(command.MessageId, fields), signature)) return false;
        revision = rev;
        replyMethodTimeout = timeout;
        return true;
    }

    private static string Fields(ulong revision, TimeSpan? replyMethodTimeout) =>
        revision.ToString(CultureInfo.InvariantCulture) + " " + (replyMethodTimeout is { } t ? t.Ticks.ToString(CultureInfo.InvariantCulture) : "-");

    private static byte[] Signed(string messageId, string fields) => Encoding.UTF8.GetBytes(messageId + "\n" + fields);
}
