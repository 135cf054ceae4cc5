namespace RemoteOps.Herder;

/// <summary>When a daemon that exited is started again (the seed's and PM2's restart policies).</summary>
public enum HerderDaemonRestart
{
    /// <summary>Never: an exit ends it (State Exited).</summary>
    Never,
    /// <summary>After an exit with a non-zero code (or an unknown one: a daemon adopted after an agent crash).</summary>
    OnFailure,
    /// <summary>After every exit, with a doubling delay (1 s to 30 s).</summary>
    Always,
}

/// <summary>Where a daemon is in its life.</summary>
public enum HerderDaemonState
{
    /// <summary>Its process runs.</summary>
    Running,
    /// <summary>It exited and will be started again after a delay (its restart policy).</summary>
    Restarting,
    /// <summary>It exited by itself and is not restarted; ExitCode says how.</summary>
    Exited,
    /// <summary>Stop-HerderDaemon (or its owner's credits running out, or its session ending) stopped it.</summary>
    Stopped,
}

/// <summary>A named long-lived process, as Start-/Get-/Stop-HerderDaemon write it.</summary>
public sealed class HerderDaemon
{
    public string Name { get; set; } = "";
    /// <summary>The node whose agent runs it; this machine's destination (or host name) for a daemon of the session.</summary>
    public string Node { get; set; } = "";
    /// <summary>Whose it is: the token's owner when started with -Token, else the sender's identity name.</summary>
    public string Owner { get; set; } = "";
    public HerderDaemonState State { get; set; }
    /// <summary>The pid of its process (the wrapper that leads its process group); 0 when none runs.</summary>
    public int ProcessId { get; set; }
    /// <summary>Port name → port, as passed in PORT_&lt;NAME&gt; (the first also in PORT).</summary>
    public Dictionary<string, int> Ports { get; set; } = [];
    public DateTimeOffset Started { get; set; }
    /// <summary>How many times it was started again after an exit.</summary>
    public int Restarts { get; set; }
    /// <summary>The last exit code (kept across restarts: with Restarts it says why it was started again); null while
    /// none is known (its first run, or a run that ended while nobody watched).</summary>
    public int? ExitCode { get; set; }
    /// <summary>The restart policy it runs under.</summary>
    public HerderDaemonRestart Restart { get; set; }
    /// <summary>Why it stopped (Stop-HerderDaemon, credits, the session ending); empty otherwise.</summary>
    public string StopReason { get; set; } = "";
    /// <summary>Whether it runs in the bubblewrap sandbox.</summary>
    public bool Sandboxed { get; set; }

    public override string ToString() => $"{Name} ({State})";
}

/// <summary>Which stream a daemon's line came from.</summary>
public enum HerderDaemonStream { Output, Error }

/// <summary>One line a daemon wrote, as Connect-HerderDaemon and Receive-HerderDaemonLog write it.</summary>
public sealed class HerderDaemonOutput
{
    public string Name { get; set; } = "";
    public HerderDaemonStream Stream { get; set; }
    public string Line { get; set; } = "";
    /// <summary>When herder saw the line (it reads the daemon's log files as they grow); null for a line read back from
    /// the log, whose time was not recorded.</summary>
    public DateTimeOffset? Time { get; set; }

    public override string ToString() => Line;
}
