using System.Collections;
using System.Diagnostics;
using System.Management.Automation;
using System.Net.Sockets;
using System.Text;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

public class FoundationDevServerTests
{
    private static async Task<string> ReadInfoAsync(int port)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port);
        using var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
        return await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)) ?? "";
    }

    private static bool Accepts(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect("127.0.0.1", port);
            return true;
        }
        catch (SocketException) { return false; }
    }

    [Fact]
    public async Task Start_gives_a_server_with_JetStream_that_cmdlets_can_use_and_Stop_ends_it()
    {
        using var pwsh = new Pwsh();
        using var dir = new TempDir();
        var r = pwsh.Run("Start-RemoteOpsDevServer -Port 0 -MonitorPort 0");
        Assert.False(r.HadErrors, r.ErrorText);
        var server = Assert.Single(r.Output);
        Assert.Equal("RemoteOps.RemoteOpsDevServer", server.BaseObject.GetType().FullName);
        var port = (int)server.Properties["Port"].Value;
        var pid = (int)server.Properties["ProcessId"].Value;
        var data = (string)server.Properties["DataDirectory"].Value;
        Assert.Equal($"nats://127.0.0.1:{port}", server.Properties["Url"].Value);
        Assert.True((bool)server.Properties["TemporaryDataDirectory"].Value);
        Assert.True(Directory.Exists(data));
        using var process = Process.GetProcessById(pid);
        Assert.Equal("nats-server", process.ProcessName);
        try
        {
            var info = await ReadInfoAsync(port);
            Assert.StartsWith("INFO", info);
            Assert.Contains("\"jetstream\":true", info);

            // A config made from it (pipeline: Url binds -Server) connects, JetStream included.
            var config = dir.File("config.yaml");
            var c = pwsh.Run("param($s, $p) $s | New-RemoteOpsConfig -Path $p | Out-Null; (Get-RemoteOpsConfig -ConfigPath $p -TestConnection).Connection",
                new Hashtable { ["s"] = server, ["p"] = config });
            Assert.False(c.HadErrors, c.ErrorText);
            var connection = Assert.Single(c.Output);
            Assert.True((bool)connection.Properties["Connected"].Value);
            Assert.True((bool)connection.Properties["JetStream"].Value);
            Assert.False(pwsh.Run("param($p) Disconnect-RemoteOps -ConfigPath $p", new Hashtable { ["p"] = config }).HadErrors);
        }
        finally
        {
            var s = pwsh.Run("param($s) $s | Stop-RemoteOpsDevServer -PassThru", new Hashtable { ["s"] = server });
            Assert.False(s.HadErrors, s.ErrorText);
            Assert.Equal(pid, (int)Assert.Single(s.Output).Properties["ProcessId"].Value);
        }
        Assert.True(process.WaitForExit(30_000));
        Assert.False(Accepts(port));
        Assert.False(Directory.Exists(data)); // a temporary data directory goes with the server
    }

    [Fact]
    public void Stop_without_arguments_stops_every_server_this_session_started_and_no_other()
    {
        using var mine = new Pwsh();
        using var other = new Pwsh();
        using var dir = new TempDir();
        var a = mine.Run("Start-RemoteOpsDevServer -Port 0").Output.Single();
        var b = mine.Run("param($d) Start-RemoteOpsDevServer -Port 0 -DataDirectory $d", new Hashtable { ["d"] = dir.File("data") }).Output.Single();
        var theirs = other.Run("Start-RemoteOpsDevServer -Port 0").Output.Single();
        using var pa = Process.GetProcessById((int)a.Properties["ProcessId"].Value);
        using var pb = Process.GetProcessById((int)b.Properties["ProcessId"].Value);
        using var pt = Process.GetProcessById((int)theirs.Properties["ProcessId"].Value);
        try
        {
            var s = mine.Run("Stop-RemoteOpsDevServer -PassThru");
            Assert.False(s.HadErrors, s.ErrorText);
            Assert.Equal(2, s.Output.Count);
            Assert.True(pa.WaitForExit(30_000));
            Assert.True(pb.WaitForExit(30_000));
            Assert.False(pt.HasExited);
            // A -DataDirectory given by the user is kept, JetStream store and all.
            Assert.True(Directory.Exists(dir.File("data/jetstream")));
            Assert.True(File.Exists(dir.File("data/nats-server.conf")));
            // Nothing left to stop in this session.
            var again = mine.Run("Stop-RemoteOpsDevServer -PassThru");
            Assert.False(again.HadErrors, again.ErrorText);
            Assert.Empty(again.Output);
        }
        finally
        {
            Assert.False(other.Run("Stop-RemoteOpsDevServer").HadErrors);
        }
        Assert.True(pt.WaitForExit(30_000));
    }

    [Fact]
    public async Task A_taken_port_is_a_clear_error()
    {
        await using var server = await NatsServer.StartAsync();
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($p) Start-RemoteOpsDevServer -Port $p", new Hashtable { ["p"] = server.Port });
        var error = Assert.Single(r.Errors);
        Assert.StartsWith("RemoteOps.DevServerFailed,", error.FullyQualifiedErrorId);
        Assert.Contains($"Port {server.Port}", error.ToString());
        Assert.Empty(r.Output);
    }

    [Fact]
    public void Stop_by_process_id_refuses_what_is_not_a_nats_server()
    {
        using var pwsh = new Pwsh();
        using var sleeper = Process.Start(new ProcessStartInfo("sleep", "300") { UseShellExecute = false })!;
        try
        {
            var r = pwsh.Run("param($id) Stop-RemoteOpsDevServer -ProcessId $id", new Hashtable { ["id"] = sleeper.Id });
            var error = Assert.Single(r.Errors);
            Assert.StartsWith("RemoteOps.DevServerNotStopped,", error.FullyQualifiedErrorId);
            Assert.Contains("not a nats-server", error.ToString());
            Assert.False(sleeper.HasExited);
        }
        finally
        {
            sleeper.Kill();
            sleeper.WaitForExit();
        }
    }

    [Fact]
    public void Stop_by_process_id_stops_a_dev_server()
    {
        using var pwsh = new Pwsh();
        var server = pwsh.Run("Start-RemoteOpsDevServer -Port 0").Output.Single();
        var pid = (int)server.Properties["ProcessId"].Value;
        using var process = Process.GetProcessById(pid);
        var r = pwsh.Run("param($id) Stop-RemoteOpsDevServer -ProcessId $id", new Hashtable { ["id"] = pid });
        Assert.False(r.HadErrors, r.ErrorText);
        Assert.True(process.WaitForExit(30_000));
        Assert.False(Directory.Exists((string)server.Properties["DataDirectory"].Value));
    }
}
