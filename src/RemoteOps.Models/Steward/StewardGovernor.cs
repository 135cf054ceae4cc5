namespace RemoteOps.Steward;

/// <summary>A fleet governor, as Get-StewardGovernor and New-StewardGovernor write it: a named semaphore that methods sent
/// with Invoke-StewardMethod -Governor wait for on each node, so at most Capacity of them run at once.</summary>
public sealed class StewardGovernor
{
    public string Name { get; set; } = "";
    /// <summary>How many methods may run under it at once, across every node and sender.</summary>
    public int Capacity { get; set; }
    /// <summary>Slots held now (not expired).</summary>
    public int InUse { get; set; }
    /// <summary>The nodes holding a slot, oldest first (a node appears once per slot it holds).</summary>
    public string[] Holders { get; set; } = [];
    /// <summary>The messages holding those slots, in the same order.</summary>
    public string[] MessageIds { get; set; } = [];
    /// <summary>When its capacity was last set (UTC).</summary>
    public DateTimeOffset Updated { get; set; }

    public override string ToString() => $"{Name} ({InUse}/{Capacity})";
}
