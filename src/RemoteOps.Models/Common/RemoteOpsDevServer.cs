namespace RemoteOps;

/// <summary>A local nats-server started by Start-RemoteOpsDevServer (JetStream on, loopback only).</summary>
public sealed class RemoteOpsDevServer
{
    /// <summary>The client URL, e.g. nats://127.0.0.1:4222: put it under <c>servers:</c>.</summary>
    public string Url { get; set; } = "";
    public int Port { get; set; }
    public int ProcessId { get; set; }
    /// <summary>The nats-server process.</summary>
    public System.Diagnostics.Process? Process { get; set; }
    /// <summary>The JetStream store and the server's config and log.</summary>
    public string DataDirectory { get; set; } = "";
    /// <summary>The nats-server config file written for it.</summary>
    public string ConfigPath { get; set; } = "";
    /// <summary>The server's log file.</summary>
    public string LogPath { get; set; } = "";
    /// <summary>The HTTP monitoring endpoint (/varz, /connz), when -MonitorPort was given.</summary>
    public string? MonitorUrl { get; set; }
    /// <summary>True when Start-RemoteOpsDevServer made the data directory (a temp one), so Stop removes it.</summary>
    public bool TemporaryDataDirectory { get; set; }
    public DateTimeOffset StartTime { get; set; }

    public override string ToString() => Url;
}
