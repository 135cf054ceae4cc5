namespace RemoteOps.Steward;

/// <summary>A message sent to one node, as Invoke-StewardMethod -NoWait and Get-StewardMessage write it: its status in
/// the results bucket, readable from any session.</summary>
public sealed class StewardMessage
{
    public string MessageId { get; set; } = "";
    public string Node { get; set; } = "";
    public string Method { get; set; } = "";
    public StewardStatus Status { get; set; }
    /// <summary>When the sender queued it (UTC).</summary>
    public DateTimeOffset Created { get; set; }
    /// <summary>When its status last changed (UTC).</summary>
    public DateTimeOffset Updated { get; set; }
    /// <summary>How many times it was delivered to the node (0 while queued).</summary>
    public int Attempts { get; set; }
    /// <summary>The sender's public key (base58) and, when it is a configured peer or our identity, its name.</summary>
    public string Sender { get; set; } = "";
    public string SenderName { get; set; } = "";
    /// <summary>When its delivery window (ackTimeout × (retries + 1)) ends: a message still queued then is NoAck.</summary>
    public DateTimeOffset Expires { get; set; }

    public override string ToString() => $"{MessageId} {Method} -> {Node}: {Status}";
}

/// <summary>The result of one message on one node, as Invoke-StewardMethod and Receive-StewardReply write it (one per
/// node, as each finishes, like Invoke-Command).</summary>
public sealed class StewardReply
{
    public string Node { get; set; } = "";
    public string Method { get; set; } = "";
    public string MessageId { get; set; } = "";
    public StewardStatus Status { get; set; }
    /// <summary>The command's exit code (CliCommand); null for methods without one.</summary>
    public int? ExitCode { get; set; }
    /// <summary>The method's output (stdout for commands), capped by max_output; a marker at the end says how much was
    /// dropped.</summary>
    public string Output { get; set; } = "";
    /// <summary>Why it failed (stderr for commands, or the node's reason).</summary>
    public string Error { get; set; } = "";
    public DateTimeOffset? Started { get; set; }
    public DateTimeOffset? Finished { get; set; }
    public TimeSpan? Duration { get; set; }
    public int Attempts { get; set; }

    public override string ToString() => $"{Node} {Method}: {Status}";
}

/// <summary>One line of a streaming method's output (CliCommandCont, TailFile), written as it arrives.</summary>
public sealed class StewardOutput
{
    public string Node { get; set; } = "";
    public string MessageId { get; set; } = "";
    /// <summary>The line's number in this message's stream, from 1, without gaps.</summary>
    public long Sequence { get; set; }
    public string Line { get; set; } = "";
    /// <summary>When the node read the line (UTC).</summary>
    public DateTimeOffset Time { get; set; }

    public override string ToString() => Line;
}
