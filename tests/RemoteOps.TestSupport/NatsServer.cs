using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace RemoteOps.TestSupport;

/// <summary>A real nats-server (from PATH) on a free loopback port with JetStream in a temp store.
/// Dispose stops it and removes the store. <see cref="RestartAsync"/> keeps the port and the store.</summary>
public sealed class NatsServer : IAsyncDisposable, IDisposable
{
    private Process? _process;
    private readonly string? _extraConfig;
    private readonly System.Text.StringBuilder _log = new();

    public int Port { get; }
    public string Url => $"nats://127.0.0.1:{Port}";
    public string StoreDirectory { get; }
    public string ConfigFile { get; }

    private NatsServer(int port, string? extraConfig)
    {
        Port = port;
        _extraConfig = extraConfig;
        StoreDirectory = Directory.CreateTempSubdirectory("remoteops-nats-").FullName;
        ConfigFile = Path.Combine(StoreDirectory, "nats.conf");
    }

    /// <summary>Starts a server. <paramref name="extraConfig"/> is appended to its config file (e.g. an authorization block).</summary>
    public static async Task<NatsServer> StartAsync(string? extraConfig = null, bool jetStream = true)
    {
        var server = new NatsServer(FreePort(), extraConfig);
        var js = jetStream ? $"jetstream {{ store_dir: \"{server.StoreDirectory.Replace("\\", "/")}/js\" }}\n" : "";
        File.WriteAllText(server.ConfigFile, $"listen: 127.0.0.1:{server.Port}\n{js}{extraConfig}\n");
        await server.StartProcessAsync();
        return server;
    }

    /// <summary>Starts a server on <paramref name="port"/> whose whole config is <paramref name="config"/> given its
    /// store directory (a cluster member: see <see cref="NatsCluster"/>).</summary>
    public static async Task<NatsServer> StartWithConfigAsync(int port, Func<string, string> config)
    {
        var server = new NatsServer(port, null);
        File.WriteAllText(server.ConfigFile, config(server.StoreDirectory.Replace("\\", "/")));
        await server.StartProcessAsync();
        return server;
    }

    /// <summary>The server process's id while it runs (the benchmarks read its CPU time from /proc).</summary>
    public int? ProcessId => _process is { HasExited: false } p ? p.Id : null;

    /// <summary>What the server has printed so far (all its runs).</summary>
    public string LogText { get { lock (_log) return _log.ToString(); } }

    /// <summary>Whether the server's process is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts the server again after <see cref="Kill"/>, on the same port, config and store.</summary>
    public Task StartAgainAsync() => _process is null ? StartProcessAsync() : Task.CompletedTask;

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private async Task StartProcessAsync()
    {
        var exe = FindOnPath("nats-server") ?? throw new InvalidOperationException("nats-server is not on PATH (apt-get install -y nats-server).");
        var psi = new ProcessStartInfo(exe, ["-c", ConfigFile])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = _log;
        var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
        DataReceivedEventHandler onLine = (_, e) =>
        {
            if (e.Data is null) return;
            lock (log) log.AppendLine(e.Data);
            if (e.Data.Contains("Server is ready")) ready.TrySetResult();
        };
        p.OutputDataReceived += onLine;
        p.ErrorDataReceived += onLine;
        p.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("nats-server exited: " + LogText));
        p.Start();
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        _process = p;
        // A bound, generous limit: a server that has not started in this time will not.
        await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Stops the server (as a crash would: SIGKILL) and starts it again on the same port and store.</summary>
    public async Task RestartAsync()
    {
        Kill();
        await StartProcessAsync();
    }

    public void Kill()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }
        _process?.Dispose();
        _process = null;
    }

    public static string? FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Concat(["/usr/sbin", "/usr/local/sbin", "/sbin"]))
        {
            var candidate = Path.Combine(dir, OperatingSystem.IsWindows() ? name + ".exe" : name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    public void Dispose()
    {
        Kill();
        try { Directory.Delete(StoreDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
