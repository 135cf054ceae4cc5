namespace RemoteOps.Remaphore;

/// <summary>A latched remaphore message still in the latch bucket (Get-RemaphoreLatch), waiting for a late
/// Wait-Remaphore -Uuid until it expires.</summary>
public sealed class RemaphoreLatch
{
    /// <summary>The NATS subject it was sent on (&lt;subject&gt;.&lt;-Subject, default all&gt;).</summary>
    public string Subject { get; set; } = "";
    /// <summary>The uuid as text when printable (as Wait-Remaphore -Uuid takes it), else hex.</summary>
    public string Uuid { get; set; } = "";
    public string UuidHex { get; set; } = "";
    /// <summary>Sender's Ed25519 public key, base58.</summary>
    public string Sender { get; set; } = "";
    /// <summary>The sender's destination from the config's peers; null when the sender is not a peer.</summary>
    public string? SenderName { get; set; }
    public string Verb { get; set; } = "";
    public string Payload { get; set; } = "";
    /// <summary>When the sender signed the message, UTC.</summary>
    public DateTimeOffset Time { get; set; }
    /// <summary>When the latch stops being seen (signed by the sender with the message), UTC.</summary>
    public DateTimeOffset Expires { get; set; }
    /// <summary>The key in the latch bucket: what Clear-RemaphoreLatch deletes.</summary>
    public string Key { get; set; } = "";
    /// <summary>True when it verifies as Wait-Remaphore would take it; Get-RemaphoreLatch shows only those.</summary>
    public bool Verified { get; set; }
    /// <summary>Why it does not verify; null when it does.</summary>
    public string? Problem { get; set; }

    public override string ToString() => Key;
}
