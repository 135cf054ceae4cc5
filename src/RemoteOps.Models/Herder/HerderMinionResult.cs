namespace RemoteOps.Herder;

/// <summary>How a minion run ended, as Invoke-HerderMinion writes it.</summary>
public sealed class HerderMinionResult
{
    /// <summary>The node that ran it (this machine's destination for a local run).</summary>
    public string Node { get; set; } = "";
    public string Environment { get; set; } = "";
    /// <summary>The program's exit code (128 + signal when a signal ended it; -1 when killed and never reaped).</summary>
    public int ExitCode { get; set; }
    public string Stdout { get; set; } = "";
    public string Stderr { get; set; } = "";
    /// <summary>The -Output file asked for; empty when none.</summary>
    public string OutputName { get; set; } = "";
    /// <summary>The -Output file's bytes; null when none was asked for or the run did not write it.</summary>
    public byte[]? Output { get; set; }
    public TimeSpan Duration { get; set; }
    /// <summary>The timeout ran out and the whole process tree was killed.</summary>
    public bool TimedOut { get; set; }
    /// <summary>The run wanted more memory than its limit and was refused it (and died of that).</summary>
    public bool MemoryExceeded { get; set; }
    /// <summary>Whether it ran in the bubblewrap sandbox (false only where the config says sandbox: none).</summary>
    public bool Sandboxed { get; set; }
    /// <summary>Credits charged to the token's owner (0 without a token).</summary>
    public long CreditsSpent { get; set; }
    /// <summary>Why the run was stopped before it ended by itself (a timeout, the owner's credits running out); empty otherwise.</summary>
    public string StopReason { get; set; } = "";

    public override string ToString() => $"{Environment} on {Node}: exit {ExitCode}{(TimedOut ? " (timed out)" : "")}{(MemoryExceeded ? " (memory exceeded)" : "")}";
}

/// <summary>An environment a node offers, as Get-HerderEnvironment writes it.</summary>
public sealed class HerderEnvironment
{
    public string Name { get; set; } = "";
    /// <summary>The command run in the minion's directory, program first.</summary>
    public string[] Command { get; set; } = [];
    /// <summary>Whether the program is installed there.</summary>
    public bool Available { get; set; }
    /// <summary>Whether it is built in (false: from herder.environments, which may also replace a built-in).</summary>
    public bool BuiltIn { get; set; }
    /// <summary>The node it describes.</summary>
    public string Node { get; set; } = "";

    public override string ToString() => Name;
}
