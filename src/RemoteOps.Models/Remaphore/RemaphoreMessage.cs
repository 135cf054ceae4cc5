namespace RemoteOps.Remaphore;

/// <summary>A verified remaphore message, as Wait-Remaphore writes it (and Send-Remaphore -PassThru).</summary>
public sealed class RemaphoreMessage
{
    /// <summary>Sender's Ed25519 public key, base58.</summary>
    public string Sender { get; set; } = "";
    /// <summary>The sender's name: its destination in the config's peers (for a message we sent, our own). Null when unknown.</summary>
    public string? SenderName { get; set; }
    public string Verb { get; set; } = "";
    /// <summary>When the sender signed the message (the sender's clock), UTC.</summary>
    public DateTimeOffset Time { get; set; }
    /// <summary>The uuid as text when its bytes are printable UTF-8 (what the sender gave, if 12 bytes or fewer), else hex.</summary>
    public string Uuid { get; set; } = "";
    /// <summary>The uuid bytes, hex: REMAPHORE_UUID, and what the original remaphore prints.</summary>
    public string UuidHex { get; set; } = "";
    public string Payload { get; set; } = "";
    /// <summary>The destination pattern the sender addressed.</summary>
    public string Destination { get; set; } = "";
    /// <summary>Our destination when it matches <see cref="Destination"/> (REMAPHORE_DESTMATCH), else null.</summary>
    public string? DestinationMatch { get; set; }
    /// <summary>The sender asked for a reply (Invoke-Remaphore / remaphore -r).</summary>
    public bool ReplyRequested { get; set; }
    /// <summary>The NATS subject it travelled on.</summary>
    public string Subject { get; set; } = "";
    /// <summary>SHA-256 of the signed wire message, hex; the reply subject's last token and the replay key.</summary>
    public string Hash { get; set; } = "";
    /// <summary>True when it was read from the latch bucket (sent with -Latch before this waiter started).</summary>
    public bool Latched { get; set; }
    /// <summary>With Wait-Remaphore -Command: the command's exit code; otherwise null.</summary>
    public int? ExitCode { get; set; }
    /// <summary>With Wait-Remaphore -Command: the command's combined stdout and stderr; otherwise null.</summary>
    public string? Output { get; set; }

    public override string ToString() => $"{Verb} {Uuid} {Payload}".Trim();
}
