namespace RemoteOps.Steward;

/// <summary>One error of the central error log (steward.central), as Get-StewardError writes it: a failed method, a
/// denied sender, a message never acknowledged, a dropped message, on some node.</summary>
public sealed class StewardError
{
    /// <summary>When it happened on the node (UTC).</summary>
    public DateTimeOffset Time { get; set; }
    /// <summary>The node it happened on.</summary>
    public string Node { get; set; } = "";
    public string MessageId { get; set; } = "";
    public string Method { get; set; } = "";
    /// <summary>What went wrong: Failed, TimedOut, Denied, NoAck, Dropped.</summary>
    public string Kind { get; set; } = "";
    public string Message { get; set; } = "";
    /// <summary>The peer that reported it to central (its destination and the start of its key).</summary>
    public string From { get; set; } = "";

    public override string ToString() => $"{Time:u} {Node} {Kind}: {Message}";
}
