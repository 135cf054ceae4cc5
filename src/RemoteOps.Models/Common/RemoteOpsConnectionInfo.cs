namespace RemoteOps;

/// <summary>The result of Get-RemoteOpsConfig -TestConnection: whether the session's shared connection for this
/// config is up, and what it is connected to.</summary>
public sealed class RemoteOpsConnectionInfo
{
    public bool Connected { get; set; }
    /// <summary>The server connected to (host:port as it reports itself).</summary>
    public string? Server { get; set; }
    public string? ServerName { get; set; }
    public string? ServerVersion { get; set; }
    /// <summary>Whether JetStream (needed by latches and seaport) is enabled on the server.</summary>
    public bool JetStream { get; set; }
    /// <summary>One PING/PONG round trip on the connection.</summary>
    public TimeSpan RoundTrip { get; set; }
    /// <summary>Why the connection failed, when it did.</summary>
    public string? Error { get; set; }

    public override string ToString() => Connected ? $"connected to {Server} ({ServerName} {ServerVersion})" : $"not connected: {Error}";
}
