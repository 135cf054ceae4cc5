namespace RemoteOps.Steward;

/// <summary>One line of a steward audit log (Get-StewardAudit): a message an agent received, or one a client sent. It
/// holds everything needed to send the same message again: its properties bind to Invoke-StewardMethod by name
/// (ToNode, Method, MethodArgs, the reply fields and the timeouts), so <c>Get-StewardAudit -MessageId X |
/// Invoke-StewardMethod</c> sends it again, under a new id. Output bodies are never logged: only their size and SHA-256.</summary>
public sealed class StewardAuditRecord
{
    public string MessageId { get; set; } = "";
    /// <summary>When the line was written (UTC): for a run, when the method ended.</summary>
    public DateTimeOffset Time { get; set; }
    /// <summary>Who wrote it: Agent (a message received) or Client (a message sent).</summary>
    public string Side { get; set; } = "";
    /// <summary>The sender's public key (base58).</summary>
    public string Sender { get; set; } = "";
    /// <summary>The sender's name as the writer knows it: a peer's destination, or its own.</summary>
    public string SenderName { get; set; } = "";
    /// <summary>The node the message is for.</summary>
    public string Node { get; set; } = "";
    /// <summary>The node again, named as Invoke-StewardMethod's -ToNode, so a record pipes into it.</summary>
    public string ToNode => Node;
    public string Method { get; set; } = "";
    public string[] MethodArgs { get; set; } = [];
    public string? ReplyMethod { get; set; }
    public string[] ReplyMethodArgs { get; set; } = [];
    public string? Directory { get; set; }
    public string? FileName { get; set; }
    public TimeSpan? AckTimeout { get; set; }
    public int? Retries { get; set; }
    public TimeSpan? MethodTimeout { get; set; }
    public TimeSpan? ReplyMethodTimeout { get; set; }
    /// <summary>Agent: run, denied, duplicate, dropped, noack or cancelled. Client: sent.</summary>
    public string Verdict { get; set; } = "";
    /// <summary>Why it was not run (denied, dropped, noack), or why a send failed.</summary>
    public string Reason { get; set; } = "";
    /// <summary>The outcome: the method's final status (Succeeded, Failed, TimedOut), the refusal's (Denied, NoAck), or
    /// the client's Queued (or Failed when it could not be queued).</summary>
    public string Status { get; set; } = "";
    public int? ExitCode { get; set; }
    public DateTimeOffset? Started { get; set; }
    /// <summary>How long the method ran (agent), or how long queueing took (client).</summary>
    public TimeSpan? Duration { get; set; }
    /// <summary>Bytes of the method's standard output (UTF-8), and their SHA-256 (hex; empty when there is none).</summary>
    public long OutputBytes { get; set; }
    public string OutputSha256 { get; set; } = "";
    /// <summary>Bytes of its error text (standard error), and their SHA-256.</summary>
    public long ErrorBytes { get; set; }
    public string ErrorSha256 { get; set; } = "";

    public override string ToString() => $"{Time:u} {Side} {Verdict} {Method} {Node} {MessageId}";
}
