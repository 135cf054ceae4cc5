namespace RemoteOps.Herder;

/// <summary>A golem: a headless Chromium kept on a page, as Start-HerderGolem and Get-HerderGolem write it.</summary>
public sealed class HerderGolem
{
    /// <summary>Unique among the golems of its owner (this session's, or a node agent's).</summary>
    public string Name { get; set; } = "";
    /// <summary>The node whose agent owns it; null for a golem this PowerShell session owns (so piping it to
    /// Stop-/Invoke-HerderGolem stays on this machine).</summary>
    public string? Node { get; set; }
    /// <summary>The page it was started on.</summary>
    public string Url { get; set; } = "";
    /// <summary>The browser's main process (the leader of its process group).</summary>
    public int ProcessId { get; set; }
    public DateTimeOffset Started { get; set; }
    /// <summary>Whether the page had a <c>.golem, #emet</c> element whose code was run at start.</summary>
    public bool Bootstrapped { get; set; }
    /// <summary>The JavaScript exception the bootstrap code threw; null when it ran through (or there was none).</summary>
    public string? BootstrapError { get; set; }

    public override string ToString() => $"{Name} ({Url})";
}
