namespace RemoteOps.Steward;

/// <summary>Where a message is in its life. Queued (the sender stored it), Delivered (the node recorded it durably and
/// acknowledged), Running, then one final status. NoAck: its delivery window (ackTimeout × (retries + 1)) passed before
/// a node took it. Denied: the node refused the sender or the method, running nothing. Cancelled: Remove-StewardMessage
/// withdrew it while it was still queued.</summary>
public enum StewardStatus
{
    Queued,
    Delivered,
    Running,
    Succeeded,
    Failed,
    TimedOut,
    NoAck,
    Denied,
    Cancelled,
}
