namespace RemoteOps.Remaphore;

/// <summary>One responder's verified reply to Invoke-Remaphore.</summary>
public sealed class RemaphoreResponse
{
    /// <summary>The responder's destination, from the peers in the config.</summary>
    public string Destination { get; set; } = "";
    /// <summary>The responder's public key, base58.</summary>
    public string Sender { get; set; } = "";
    /// <summary>The responder's name: its destination in the config's peers (the same as <see cref="Destination"/>).</summary>
    public string? SenderName { get; set; }
    /// <summary>The exit code the responder reported; null when it ran nothing (the original's NO_DATA).</summary>
    public int? ExitCode { get; set; }
    /// <summary>What the responder's command wrote (stdout and stderr).</summary>
    public string Output { get; set; } = "";
    /// <summary>From sending the request to receiving this reply.</summary>
    public TimeSpan Elapsed { get; set; }
    /// <summary>The reply payload as sent ("exitcode,output" or "NO_DATA").</summary>
    public string Payload { get; set; } = "";
    /// <summary>When the responder signed the reply (its clock), UTC.</summary>
    public DateTimeOffset Time { get; set; }

    public override string ToString() => $"{Destination},{Payload.Trim()}";
}
