namespace RemoteOps.Steward;

public static class StewardStatuses
{
    /// <summary>A final status never changes again.</summary>
    public static bool IsFinal(StewardStatus status) => status >= StewardStatus.Succeeded;

    /// <summary>Statuses only the sender (or another client with its rights) writes; every other status is the node's.</summary>
    public static bool IsSenderStatus(StewardStatus status) =>
        status is StewardStatus.Queued or StewardStatus.NoAck or StewardStatus.Cancelled;

    /// <summary>Whether a record may move from <paramref name="from"/> to <paramref name="to"/>: forward only, never out of
    /// a final status. The sender's NoAck and Cancelled only from Queued: once a node has taken a message, only the node
    /// decides how it ends (else a late NoAck would overwrite a running command and lose its result). The key-value
    /// revision (compare-and-set) makes the move atomic.</summary>
    public static bool MayMove(StewardStatus from, StewardStatus to) =>
        !IsFinal(from) && (IsSenderStatus(to)
            ? to != StewardStatus.Queued && from == StewardStatus.Queued
            : to > from || (from == to && to == StewardStatus.Running));
}
