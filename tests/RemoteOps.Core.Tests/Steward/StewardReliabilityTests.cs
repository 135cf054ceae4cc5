using System.Diagnostics;
using RemoteOps.Steward;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>The node agent as a separate OS process (tests/RemoteOps.StewardNodeHost), killed with SIGKILL and started
/// again, and the nats-server restarted, while 200 commands run: every command's effect happens exactly once.</summary>
public class StewardReliabilityTests
{
    private static readonly string HostDll = Path.Combine(Repo.Root, "tests", "RemoteOps.StewardNodeHost", "bin",
#if DEBUG
        "Debug",
#else
        "Release",
#endif
        "net10.0", "RemoteOps.StewardNodeHost.dll");

    /// <summary>An agent process; its output is kept for failure messages.</summary>
    private sealed class AgentProcess : IDisposable
    {
        private readonly Process _process;
        private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public System.Text.StringBuilder Output { get; } = new();

        public AgentProcess(string config)
        {
            var psi = new ProcessStartInfo("dotnet", [HostDll, config]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            _process = new Process { StartInfo = psi, EnableRaisingEvents = true };
            DataReceivedEventHandler onLine = (_, e) =>
            {
                if (e.Data is null) return;
                lock (Output) Output.AppendLine(e.Data);
                if (e.Data == "READY") _ready.TrySetResult();
            };
            _process.OutputDataReceived += onLine;
            _process.ErrorDataReceived += onLine;
            _process.Exited += (_, _) => _ready.TrySetException(new InvalidOperationException("agent exited:\n" + Output));
            _process.Start();
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public Task Ready => _ready.Task.WaitAsync(TimeSpan.FromSeconds(60));

        public Process Process => _process;

        public void KillHard()
        {
            Process.Start("kill", ["-KILL", _process.Id.ToString()])!.WaitForExit();
            _process.WaitForExit();
        }

        public void Dispose()
        {
            if (!_process.HasExited) KillHard();
            _process.Dispose();
        }
    }

    private static async Task<string> SendWithRetryAsync(StewardTestBed bed, StewardCommand command)
    {
        // The server may be restarting: a sender retries; the record is created once and the stream de-duplicates.
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                return await bed.SendAsync(command).WaitAsync(limit.Token);
            }
            catch (Exception) when (attempt < 100)
            {
                await Task.Delay(200);
            }
        }
    }

    [Fact]
    public async Task SIGTERM_drains_the_method_in_flight_and_stops_the_agent()
    {
        Assert.True(File.Exists(HostDll), $"{HostDll} is built with the tests");
        await using var server = await NatsServer.StartAsync();
        await using var bed = new StewardTestBed(server.Url);
        using var agent = new AgentProcess(bed.WriteNodeConfig());
        await agent.Ready;
        var id = await bed.SendAsync(bed.Command(StewardMethod.CliCommandCont, "sh", "-c", "echo started; exec sleep 300") with { MethodTimeout = TimeSpan.FromSeconds(60) });
        await bed.ChunksAsync(id, 1);
        Process.Start("kill", ["-TERM", agent.Process.Id.ToString()])!.WaitForExit();
        await agent.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(0, agent.Process.ExitCode);
        var output = agent.Output.ToString();
        Assert.Contains("stopping:", output);
        Assert.Contains("stopped.", output);
        // The streaming method ended with the agent (its tree killed) and says so; nothing is left Running.
        var record = await bed.AwaitAsync(id);
        Assert.Equal(StewardStatus.Succeeded, record.Status);
        Assert.Contains("shutting down", record.Error);
    }

    [Fact]
    public async Task Two_hundred_commands_each_take_effect_exactly_once_across_an_agent_SIGKILL_and_a_server_restart()
    {
        Assert.True(File.Exists(HostDll), $"{HostDll} is built with the tests");
        await using var server = await NatsServer.StartAsync();
        await using var bed = new StewardTestBed(server.Url);
        var config = bed.WriteNodeConfig();
        var ledger = Path.Combine(bed.WorkDirectory, "ledger");
        StewardCommand Append(int i) => bed.Command(StewardMethod.CliCommand, "sh", "-c", $"echo $0 >> '{ledger}'; sleep 0.{i % 4}", $"m{i:D3}") with
        {
            MessageId = $"m{i:D3}-" + Guid.NewGuid().ToString("N")[..8], AckTimeout = TimeSpan.FromMinutes(1), Retries = 3,
        };
        var commands = Enumerable.Range(0, 200).Select(Append).ToArray();
        // Each command appends its own tag; the argument after the script is $0.
        var ids = new List<string>();

        var first = new AgentProcess(config);
        try
        {
            await first.Ready;
            foreach (var c in commands[..70]) ids.Add(await SendWithRetryAsync(bed, c));
            // Some of those are running now: kill the agent under them.
            await bed.AwaitAsync(commands[60].MessageId, r => r.Status >= StewardStatus.Running);
            first.KillHard();
        }
        finally { first.Dispose(); }

        foreach (var c in commands[70..120]) ids.Add(await SendWithRetryAsync(bed, c));
        using var second = new AgentProcess(config);
        await second.Ready;
        foreach (var c in commands[120..150]) ids.Add(await SendWithRetryAsync(bed, c));
        await server.RestartAsync();
        foreach (var c in commands[150..]) ids.Add(await SendWithRetryAsync(bed, c));

        var finals = new Dictionary<string, StewardRecord>();
        foreach (var id in ids)
        {
            try { finals[id] = await bed.AwaitAsync(id, seconds: 90); }
            catch (TimeoutException e)
            {
                string Lines(AgentProcess a) => string.Join('\n', a.Output.ToString().Split('\n').Where(l => l.Contains(id[..4]) || l.Contains("Warning")));
                throw new TimeoutException($"{e.Message[..Math.Min(200, e.Message.Length)]}\nfirst agent:\n{Lines(first)}\nsecond agent:\n{Lines(second)}");
            }
        }
        var log = second.Output.ToString();
        Assert.All(finals.Values, r => Assert.True(r.Status == StewardStatus.Succeeded, $"{r.MessageId}: {r.Status} {r.Error}\n{log}"));
        var lines = File.ReadAllLines(ledger);
        var expected = commands.Select((_, i) => $"m{i:D3}").ToArray();
        Assert.Equal(expected.Order(), lines.Order());
    }
}
