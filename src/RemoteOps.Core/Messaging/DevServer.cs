using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using RemoteOps.Processes;

namespace RemoteOps.Messaging;

/// <summary>A local nats-server for development (Start-RemoteOpsDevServer): JetStream on, listening on loopback only,
/// its store, config and log in one data directory. Servers started here are remembered per owner (a PowerShell
/// session) so that Stop-RemoteOpsDevServer without arguments stops exactly those, and each leaves a marker file in a
/// per-user state directory, so that Get-RemoteOpsDevServer finds servers started by earlier sessions and
/// Stop-RemoteOpsDevServer -ProcessId cleans up after them as after its own.</summary>
public static class DevServer
{
    public const int DefaultPort = 4222;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);
    private static readonly ConcurrentDictionary<int, (RemoteOpsDevServer Server, Guid Owner)> Started = new();

    /// <summary>Where nats-server is looked for after PATH: the sbin directories where Debian puts it (often not in
    /// a user's PATH), and those of other packagers.</summary>
    private static readonly string[] FallbackDirectories = OperatingSystem.IsWindows()
        ? []
        : ["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/local/bin", "/opt/homebrew/bin"];

    /// <summary>nats-server from PATH, else the sbin directories where Debian puts it.</summary>
    public static string? FindExecutable() =>
        ExecutableLocator.Find(OperatingSystem.IsWindows() ? "nats-server.exe" : "nats-server", FallbackDirectories);

    /// <summary>Starts nats-server on 127.0.0.1:<paramref name="port"/> (0 picks a free port) and returns once it
    /// accepts client connections. <paramref name="monitorPort"/> (0 = free port) also opens the HTTP monitoring
    /// endpoint (/varz, /connz) on loopback.</summary>
    /// <exception cref="DevServerException">nats-server is missing, the port is taken, or the server did not start.</exception>
    public static async Task<RemoteOpsDevServer> StartAsync(int port, string? dataDirectory, int? monitorPort, Guid owner, CancellationToken cancellationToken = default)
    {
        var exe = FindExecutable() ?? throw new DevServerException(
            "nats-server was not found on PATH (nor in /usr/sbin). Install it: apt-get install nats-server, brew install nats-server, "
            + "or download it from https://github.com/nats-io/nats-server/releases.");
        if (port is < 0 or > 65535) throw new DevServerException($"{port} is not a port number (1-65535, or 0 for a free port).");
        if (port == 0) port = FreePort();
        else if (!IsFree(port)) throw new DevServerException($"Port {port} on 127.0.0.1 is already in use (another nats-server?). Use -Port 0 to pick a free port.");
        int? monitor = monitorPort switch
        {
            null => null,
            0 => FreePort(),
            < 0 or > 65535 => throw new DevServerException($"{monitorPort} is not a port number (1-65535, or 0 for a free port)."),
            { } m when !IsFree(m) => throw new DevServerException($"Monitoring port {m} on 127.0.0.1 is already in use."),
            { } m => m,
        };

        bool temporary = string.IsNullOrEmpty(dataDirectory);
        var data = temporary ? Directory.CreateTempSubdirectory("remoteops-devserver-").FullName : Path.GetFullPath(dataDirectory!);
        Directory.CreateDirectory(data);
        var serverName = "remoteops-dev-" + Guid.NewGuid().ToString("N")[..12];
        var configPath = Path.Combine(data, "nats-server.conf");
        var logPath = Path.Combine(data, "nats-server.log");
        string Q(string p) => "\"" + p.Replace("\\", "/").Replace("\"", "\\\"") + "\"";
        var config = new StringBuilder()
            .Append("# Written by Start-RemoteOpsDevServer: a development server, loopback only, JetStream on.\n")
            .Append($"server_name: {serverName}\n")
            .Append($"listen: 127.0.0.1:{port}\n")
            .Append(monitor is { } mp ? $"http: 127.0.0.1:{mp}\n" : "")
            .Append($"jetstream {{\n  store_dir: {Q(Path.Combine(data, "jetstream"))}\n}}\n")
            .Append($"log_file: {Q(logPath)}\n");
        File.WriteAllText(configPath, config.ToString());

        // Started as a ProcessTree: on Linux in a session of its own, which keeps Ctrl+C at the terminal (SIGINT to the
        // foreground process group) from stopping the dev server along with whatever command the user interrupts.
        // setsid execs in place: the pid stays.
        var psi = new ProcessStartInfo(exe) { UseShellExecute = false, WorkingDirectory = data };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(configPath);

        ProcessTree tree;
        try { tree = ProcessTree.Start(psi); }
        catch (System.ComponentModel.Win32Exception e) { throw new DevServerException($"Cannot run {exe}: {e.Message}", e); }
        // The server object keeps the process for as long as the server runs: the tree is not disposed once started.
        var process = tree.Process;

        var server = new RemoteOpsDevServer
        {
            Url = $"nats://127.0.0.1:{port}",
            Port = port,
            ProcessId = process.Id,
            Process = process,
            DataDirectory = data,
            ConfigPath = configPath,
            LogPath = logPath,
            MonitorUrl = monitor is { } mu ? $"http://127.0.0.1:{mu}" : null,
            TemporaryDataDirectory = temporary,
            StartTime = DateTimeOffset.Now,
        };
        try
        {
            await WaitUntilReadyAsync(server, serverName, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await tree.KillAsync().ConfigureAwait(false);
            tree.Dispose();
            if (temporary) TryDelete(data);
            throw;
        }
        Started[process.Id] = (server, owner);
        WriteMarker(server, process);
        return server;
    }

    /// <summary>Ready means: a client connection gets this server's INFO (its own server_name), so it is ours and
    /// not another process on the port.</summary>
    private static async Task WaitUntilReadyAsync(RemoteOpsDevServer server, string serverName, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StartTimeout);
        while (true)
        {
            if (server.Process!.HasExited)
                throw new DevServerException($"nats-server exited with code {server.Process.ExitCode} while starting. {LogTail(server.LogPath)}");
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, server.Port, timeout.Token).ConfigureAwait(false);
                using var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
                var info = await reader.ReadLineAsync(timeout.Token).ConfigureAwait(false);
                if (info is not null && info.StartsWith("INFO", StringComparison.Ordinal) && info.Contains($"\"{serverName}\"", StringComparison.Ordinal))
                    return;
                if (info is not null && info.StartsWith("INFO", StringComparison.Ordinal))
                    throw new DevServerException($"Another NATS server answers on port {server.Port}.");
            }
            catch (SocketException) { /* not listening yet */ }
            catch (IOException) { /* closed while starting */ }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new DevServerException($"nats-server did not accept connections within {StartTimeout.TotalSeconds:0} s. {LogTail(server.LogPath)}");
            }
            // Nothing to await: the server gives no signal but the open port, so try again shortly.
            try { await Task.Delay(50, timeout.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new DevServerException($"nats-server did not accept connections within {StartTimeout.TotalSeconds:0} s. {LogTail(server.LogPath)}");
            }
        }
    }

    /// <summary>The servers started by <paramref name="owner"/> that are still remembered.</summary>
    public static IReadOnlyList<RemoteOpsDevServer> StartedBy(Guid owner) =>
        Started.Values.Where(v => v.Owner == owner).Select(v => v.Server).OrderBy(s => s.StartTime).ToList();

    /// <summary>Stops a dev server: SIGTERM (a clean JetStream shutdown), then a kill after 10 s. Removes a temporary
    /// data directory. A process id not started here must be a nats-server: nothing else is ever stopped.</summary>
    /// <returns>The server stopped, or null when that process had already exited.</returns>
    /// <exception cref="DevServerException">The process is not a nats-server.</exception>
    public static async Task<RemoteOpsDevServer?> StopAsync(int processId, CancellationToken cancellationToken = default)
    {
        Started.TryGetValue(processId, out var entry);
        var server = entry.Server ?? ReadMarker(processId);
        Process? process = entry.Server?.Process;
        if (process is null)
        {
            try { process = Process.GetProcessById(processId); }
            catch (ArgumentException) { process = null; }
            if (process is null && server is null)
                throw new DevServerNotFoundException($"No process with id {processId} is running, and no dev server is known by that id.");
            if (process is not null && !process.ProcessName.StartsWith("nats-server", StringComparison.OrdinalIgnoreCase))
            {
                // A recycled pid: the marker's server is gone; this process is someone else's.
                if (server is not null) { DeleteMarker(processId); TryDeleteTemporary(server); }
                throw new DevServerException($"Process {processId} is {process.ProcessName}, not a nats-server; it was not stopped.");
            }
        }
        bool wasRunning = false;
        if (process is not null)
        {
            try
            {
                if (!process.HasExited)
                {
                    wasRunning = true;
                    Terminate(process);
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    wait.CancelAfter(StopTimeout);
                    try { await process.WaitForExitAsync(wait.Token).ConfigureAwait(false); }
                    catch (OperationCanceledException) { Kill(process); }
                }
            }
            catch (InvalidOperationException) { /* exited and reaped meanwhile */ }
        }
        Started.TryRemove(processId, out _);
        DeleteMarker(processId);
        if (server is not null) TryDeleteTemporary(server);
        return wasRunning ? server ?? new RemoteOpsDevServer { ProcessId = processId } : null;
    }

    /// <summary>Removes a data directory Start-RemoteOpsDevServer made, and only such a one: it must be a
    /// remoteops-devserver-* directory holding the nats-server.conf it wrote.</summary>
    private static void TryDeleteTemporary(RemoteOpsDevServer server)
    {
        if (!server.TemporaryDataDirectory || string.IsNullOrEmpty(server.DataDirectory)) return;
        if (!Path.GetFileName(server.DataDirectory.TrimEnd(Path.DirectorySeparatorChar)).StartsWith("remoteops-devserver-", StringComparison.Ordinal)) return;
        if (!File.Exists(Path.Combine(server.DataDirectory, "nats-server.conf"))) return;
        TryDelete(server.DataDirectory);
    }

    /// <summary>Where the per-user markers of running dev servers are kept: $REMOTEOPS_STATE_DIR, else
    /// $XDG_STATE_HOME/remoteops (~/.local/state/remoteops), else the local application data folder; /devservers.</summary>
    public static string MarkerDirectory
    {
        get
        {
            var root = Environment.GetEnvironmentVariable("REMOTEOPS_STATE_DIR");
            if (string.IsNullOrEmpty(root))
            {
                var xdg = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
                root = !OperatingSystem.IsWindows() && !OperatingSystem.IsMacOS()
                    ? Path.Combine(string.IsNullOrEmpty(xdg) ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state") : xdg, "remoteops")
                    : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "RemoteOps");
            }
            return Path.Combine(root, "devservers");
        }
    }

    /// <summary>What a marker records: the server, and its process's start time, so that a recycled pid is not taken for it.</summary>
    private sealed record Marker(string Url, int Port, int ProcessId, string DataDirectory, string ConfigPath, string LogPath,
        string? MonitorUrl, bool TemporaryDataDirectory, DateTimeOffset StartTime, DateTime? ProcessStartTimeUtc);

    private static string MarkerPath(int processId) => Path.Combine(MarkerDirectory, processId.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".json");

    private static DateTime? ProcessStartUtc(Process process)
    {
        try { return process.StartTime.ToUniversalTime(); }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException) { return null; }
    }

    /// <summary>Best effort: a server whose marker cannot be written still runs; it is only not found by later sessions.</summary>
    private static void WriteMarker(RemoteOpsDevServer server, Process process)
    {
        try
        {
            Directory.CreateDirectory(MarkerDirectory);
            var marker = new Marker(server.Url, server.Port, server.ProcessId, server.DataDirectory, server.ConfigPath, server.LogPath,
                server.MonitorUrl, server.TemporaryDataDirectory, server.StartTime, ProcessStartUtc(process));
            var path = MarkerPath(server.ProcessId);
            File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(marker));
            File.Move(path + ".tmp", path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private static void DeleteMarker(int processId)
    {
        try { File.Delete(MarkerPath(processId)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>The server a marker describes, or null when there is no readable marker.</summary>
    private static RemoteOpsDevServer? ReadMarker(int processId) => ReadMarkerFile(MarkerPath(processId))?.Server;

    private static (RemoteOpsDevServer Server, DateTime? ProcessStartUtc)? ReadMarkerFile(string path)
    {
        try
        {
            var m = JsonSerializer.Deserialize<Marker>(File.ReadAllText(path));
            if (m is null || m.ProcessId <= 0) return null;
            return (new RemoteOpsDevServer
            {
                Url = m.Url, Port = m.Port, ProcessId = m.ProcessId, DataDirectory = m.DataDirectory, ConfigPath = m.ConfigPath,
                LogPath = m.LogPath, MonitorUrl = m.MonitorUrl, TemporaryDataDirectory = m.TemporaryDataDirectory, StartTime = m.StartTime,
            }, m.ProcessStartTimeUtc);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or NotSupportedException) { return null; }
    }

    /// <summary>Every dev server of this user that still runs: those started in this process and those whose marker an
    /// earlier session left, each checked against the running process (a nats-server with the recorded start time).
    /// Markers of servers that are gone are removed, with the temporary data directory they left.</summary>
    public static IReadOnlyList<RemoteOpsDevServer> List()
    {
        var found = new Dictionary<int, RemoteOpsDevServer>();
        foreach (var (pid, (server, _)) in Started)
            if (server.Process is { HasExited: false }) found[pid] = server;
        string[] files;
        try { files = Directory.Exists(MarkerDirectory) ? Directory.GetFiles(MarkerDirectory, "*.json") : []; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { files = []; }
        foreach (var file in files)
        {
            if (!int.TryParse(Path.GetFileNameWithoutExtension(file), out var pid) || found.ContainsKey(pid)) continue;
            var read = ReadMarkerFile(file);
            if (read is not { } marker) continue;
            var process = RunningNatsServer(pid, marker.ProcessStartUtc);
            if (process is null)
            {
                DeleteMarker(pid);
                TryDeleteTemporary(marker.Server);
                continue;
            }
            marker.Server.Process = process;
            found[pid] = marker.Server;
        }
        return found.Values.OrderBy(s => s.StartTime).ToList();
    }

    /// <summary>The process <paramref name="processId"/> when it is a running nats-server started at <paramref name="startUtc"/>
    /// (within a second); null otherwise.</summary>
    private static Process? RunningNatsServer(int processId, DateTime? startUtc)
    {
        Process process;
        try { process = Process.GetProcessById(processId); }
        catch (ArgumentException) { return null; }
        try
        {
            if (process.HasExited || !process.ProcessName.StartsWith("nats-server", StringComparison.OrdinalIgnoreCase)) return null;
            if (startUtc is { } recorded && ProcessStartUtc(process) is { } actual && Math.Abs((actual - recorded).TotalSeconds) > 1) return null;
            return process;
        }
        catch (InvalidOperationException) { return null; }
    }

    private static void Terminate(Process process)
    {
        if (ProcessTree.Terminate(process.Id)) return;
        Kill(process);
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
        }
        catch (InvalidOperationException) { }
        catch (System.ComponentModel.Win32Exception) { }
    }

    private static string LogTail(string logPath)
    {
        try
        {
            if (!File.Exists(logPath)) return "";
            var lines = File.ReadAllLines(logPath);
            return "Its log (" + logPath + ") ends: " + string.Join(" | ", lines.TakeLast(5));
        }
        catch (IOException) { return ""; }
    }

    private static void TryDelete(string directory)
    {
        try { Directory.Delete(directory, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException) { return false; }
    }
}

/// <summary>No process and no dev server has the process id given.</summary>
public sealed class DevServerNotFoundException(string message) : Exception(message);

/// <summary>The dev server could not be started or stopped.</summary>
public sealed class DevServerException(string message, Exception? inner = null) : Exception(message, inner);
