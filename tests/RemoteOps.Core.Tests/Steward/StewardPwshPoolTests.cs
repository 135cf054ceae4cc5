using System.Text;
using FsCheck;
using FsCheck.Fluent;
using System.Text.Json;
using RemoteOps.Core.Tests.Remaphore;
using RemoteOps.Steward;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>The pwsh the repository's tool manifest restores (dotnet tool restore), as a worker command line:
/// [dotnet, …/pwsh.dll] when the package is in the NuGet cache (no tool resolution per start), else [dotnet, pwsh].</summary>
internal static class TestPwsh
{
    public static IReadOnlyList<string> Command { get; } = Locate();

    private static IReadOnlyList<string> Locate()
    {
        var root = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, ".config", "dotnet-tools.json"))) dir = dir.Parent;
        if (dir is not null)
        {
            using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.FullName, ".config", "dotnet-tools.json")));
            var version = manifest.RootElement.GetProperty("tools").GetProperty("powershell").GetProperty("version").GetString();
            var tools = Path.Combine(root, "powershell", version ?? "", "tools");
            if (Directory.Exists(tools))
            {
                var dll = Directory.EnumerateFiles(tools, "pwsh.dll", SearchOption.AllDirectories)
                    .FirstOrDefault(f => f.Contains(OperatingSystem.IsWindows() ? $"{Path.DirectorySeparatorChar}win{Path.DirectorySeparatorChar}" : $"{Path.DirectorySeparatorChar}unix{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
                if (dll is not null) return ["dotnet", dll];
            }
        }
        return ["dotnet", "pwsh"];
    }

    /// <summary>Whether a process with <paramref name="pid"/> is alive (not gone, not a zombie).</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..][0];
            return state != 'Z' && state != 'X';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    public static async Task UntilAsync(Func<bool> condition, string what, int seconds = 120)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"not within {seconds}s: {what}");
            await Task.Delay(50);
        }
    }
}

/// <summary>The warm pwsh workers with a real pwsh: started ahead, one script each, replaced when they die idle, and
/// none left once the pool (or its agent) is gone.</summary>
public class StewardPwshPoolTests
{
    [Fact]
    public async Task Warm_workers_wait_ready_a_dead_idle_one_is_replaced_and_dispose_leaves_no_process()
    {
        var pool = new StewardPwshPool(2, TestPwsh.Command);
        await using (pool)
        {
            pool.Fill();
            await TestPwsh.UntilAsync(() => pool.ReadyCount == 2, "two warm workers");
            var first = pool.IdlePids.ToArray();
            Assert.Equal(2, first.Length);
            Assert.All(first, pid => Assert.True(TestPwsh.IsAlive(pid)));

            // One dies while idle (killed from outside): another takes its place.
            System.Diagnostics.Process.GetProcessById(first[0]).Kill();
            await TestPwsh.UntilAsync(() => pool.ReadyCount == 2 && !pool.IdlePids.Contains(first[0]), "a replacement for the killed worker");
            Assert.Contains(first[1], pool.IdlePids);

            var before = pool.IdlePids.ToArray();
            await pool.DisposeAsync();
            Assert.Empty(pool.IdlePids);
            Assert.All(before, pid => Assert.False(TestPwsh.IsAlive(pid), $"worker {pid} outlived its pool"));
            Assert.Null(pool.Take(out var problem));
            Assert.Contains("shutting down", problem);
        }
    }

    [Fact]
    public async Task A_worker_runs_one_script_and_is_recycled_so_nothing_leaks_to_the_next()
    {
        await using var pool = new StewardPwshPool(1, TestPwsh.Command);
        pool.Fill();
        await TestPwsh.UntilAsync(() => pool.ReadyCount == 1, "a warm worker");
        async Task<(MethodOutcome Outcome, List<string> Chunks)> Run(string script)
        {
            var chunks = new List<string>();
            var outcome = await StewardPwsh.RunAsync(pool, [script, JsonSerializer.Serialize(new { args = Array.Empty<string>(), @using = new Dictionary<string, string>(), input = Array.Empty<string>(), hasInput = false })],
                1024 * 1024, TimeSpan.FromSeconds(60), (_, chunk, _) => { lock (chunks) chunks.Add(chunk); return Task.CompletedTask; }, default);
            return (outcome, chunks);
        }
        var warmPid = pool.IdlePids.Single();
        // The worker starts with the runtime settings for one short script, and its script (and what it starts) never sees them.
        if (OperatingSystem.IsLinux())
            Assert.Contains("DOTNET_TC_CallCountThreshold=65535", File.ReadAllText($"/proc/{warmPid}/environ").Split('\0'));
        var (one, oneChunks) = await Run("$global:leak = 'from the first caller'; $PID");
        Assert.Equal(StewardStatus.Succeeded, one.Status);
        Assert.Equal(0, one.ExitCode);
        Assert.Contains($"<I32>{warmPid}</I32>", Assert.Single(oneChunks));
        // The used worker is killed; the next script runs in another process, without the first one's state.
        await TestPwsh.UntilAsync(() => !TestPwsh.IsAlive(warmPid), "the used worker killed");
        var (two, twoChunks) = await Run("if ($null -eq $global:leak) { 'clean' } else { $global:leak }; $PID");
        Assert.Equal(StewardStatus.Succeeded, two.Status);
        Assert.Contains("<S>clean</S>", twoChunks[0]);
        Assert.DoesNotContain($"<I32>{warmPid}</I32>", twoChunks[1]);

        var env = await Run("'[' + $env:DOTNET_TC_CallCountThreshold + $env:DOTNET_TC_CallCountingDelayMs + ']'; @(@(if ($IsWindows) { cmd /c set } else { env }) -like 'DOTNET_TC_*').Count");
        Assert.Equal(StewardStatus.Succeeded, env.Outcome.Status);
        Assert.Contains("<S>[]</S>", env.Chunks[0]);
        Assert.True(env.Chunks[1].Contains("<I32>0</I32>"), string.Join("\n", env.Chunks));

        // Exit codes and terminating errors still come back, and the pool keeps serving.
        var exit = await Run("'before'; exit 3");
        Assert.Equal(StewardStatus.Failed, exit.Outcome.Status);
        Assert.Equal(3, exit.Outcome.ExitCode);
        var thrown = await Run("throw 'boom'");
        Assert.Equal(StewardStatus.Failed, thrown.Outcome.Status);
        Assert.Equal("boom", thrown.Outcome.Error);
        Assert.StartsWith("T:", Assert.Single(thrown.Chunks));
        // A script that reads the console sees its end (the job was the only line), rather than waiting for methodTimeout.
        var read = await Run("if ($null -eq [Console]::In.ReadLine()) { 'end of input' }");
        Assert.Equal(StewardStatus.Succeeded, read.Outcome.Status);
        Assert.Contains("<S>end of input</S>", Assert.Single(read.Chunks));
    }

    [Fact]
    public async Task With_no_warm_workers_each_script_starts_its_own_and_methodTimeout_kills_the_tree()
    {
        await using var pool = new StewardPwshPool(0, TestPwsh.Command);
        pool.Fill();
        Assert.Empty(pool.IdlePids);
        var chunks = new List<string>();
        var outcome = await StewardPwsh.RunAsync(pool, ["$c = Start-Process sleep 300 -PassThru; $c.Id; while ($true) { }"], 1024 * 1024, TimeSpan.FromSeconds(20),
            (_, chunk, _) => { lock (chunks) chunks.Add(chunk); return Task.CompletedTask; }, default);
        Assert.Equal(StewardStatus.TimedOut, outcome.Status);
        var child = int.Parse(System.Text.RegularExpressions.Regex.Match(Assert.Single(chunks), "<I32>(\\d+)</I32>").Groups[1].Value);
        Assert.False(TestPwsh.IsAlive(child), "the script's child outlived methodTimeout");
        Assert.Empty(pool.IdlePids);
    }
}

/// <summary>PwshScript on a real agent with a real pwsh worker pool: a script altered in flight is Denied from its
/// sender's genuine record and never runs; the agent's stop kills its waiting workers.</summary>
public class StewardPwshAlteredTests(NatsFixture nats) : IClassFixture<NatsFixture>
{
    [Fact]
    public async Task A_script_altered_in_flight_is_Denied_never_runs_and_the_agent_stop_leaves_no_worker()
    {
        var bed = new StewardTestBed(nats.Server.Url, s => s with
        {
            PwshCommand = TestPwsh.Command, PwshWorkers = 1,
            Methods = new Dictionary<StewardMethod, IReadOnlyList<string>>(s.Methods) { [StewardMethod.PwshScript] = [StewardTestBed.SenderName] },
        });
        int[] idle;
        await using (bed)
        {
            var agent = await bed.StartAgentAsync();
            var store = await bed.StoreAsync();
            var genuineMarker = Path.Combine(bed.WorkDirectory, "genuine");
            var alteredMarker = Path.Combine(bed.WorkDirectory, "altered");

            // Sent as StewardClient sends: the Queued record (with the hash of the signed body), then the command, whose
            // script text is changed on the way under the sender's genuine signature.
            var request = StewardPwsh.Request([StewardTestBed.NodeName], $"New-Item -ItemType File '{genuineMarker}'", [], new Dictionary<string, string>(), [], false, null, null, null);
            var o = StewardClient.Build(request, StewardTestBed.NodeName, bed.SenderConfig.Steward, bed.SenderKey, DateTimeOffset.UtcNow);
            Assert.Equal(StewardRecordHash.OfWire(o.Wire), o.Record.CommandHash);
            var altered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(o.Wire).Replace(genuineMarker, alteredMarker));
            Assert.NotEqual(o.Wire, altered);
            Assert.NotNull(await store.TryCreateAsync(o.Record, bed.SenderKey, default));
            await store.PublishCommandAsync(o.Command, altered, default);

            var denied = await bed.AwaitAsync(o.Record.MessageId);
            Assert.Equal(StewardStatus.Denied, denied.Status);
            Assert.Contains("altered in flight", denied.Error);
            var stored = (await store.GetAsync(o.Record.MessageId, default))!.Value;
            Assert.Equal(bed.NodeKey.PublicBase58, stored.Signer);
            // The genuine record is what was moved: its hash and method, nothing of the altered body.
            Assert.Equal(o.Record.CommandHash, denied.CommandHash);
            Assert.DoesNotContain(alteredMarker, denied.Error);

            // The same id's genuine message arriving later does not run either: the id is final.
            // (Published without the de-duplication id, which would refuse it as the same message.)
            await bed.PublishRawAsync(o.Wire);
            var r = await bed.AwaitAsync(await bed.SendAsync(StewardMethod.PwshScript, "'still serving'"));
            Assert.Equal(StewardStatus.Succeeded, r.Status);
            Assert.Equal(StewardStatus.Denied, (await store.GetAsync(o.Record.MessageId, default))!.Value.Record!.Status);
            Assert.False(File.Exists(genuineMarker));
            Assert.False(File.Exists(alteredMarker));

            await TestPwsh.UntilAsync(() => agent.PwshPool.ReadyCount == 1, "the agent's warm worker");
            idle = agent.PwshPool.IdlePids.ToArray();
            Assert.All(idle, pid => Assert.True(TestPwsh.IsAlive(pid)));
        }
        // The bed stopped its agent: no worker is left.
        Assert.NotEmpty(idle);
        Assert.All(idle, pid => Assert.False(TestPwsh.IsAlive(pid), $"worker {pid} outlived its agent"));
    }
}

/// <summary>PwshScript's statuses: Running is written once a script has run for <see cref="StewardAgent.RunningAfter"/>;
/// a script done before goes from Delivered to its result.</summary>
public class StewardPwshStatusTests(NatsFixture nats) : IClassFixture<NatsFixture>
{
    [Fact]
    public async Task A_script_done_before_RunningAfter_goes_from_Delivered_to_its_result_and_a_longer_one_is_Running_first()
    {
        await using var bed = new StewardTestBed(nats.Server.Url, s => s with
        {
            PwshCommand = TestPwsh.Command, PwshWorkers = 1,
            Methods = new Dictionary<StewardMethod, IReadOnlyList<string>>(s.Methods) { [StewardMethod.PwshScript] = [StewardTestBed.SenderName] },
        });
        var agent = await bed.StartAgentAsync();
        var store = await bed.StoreAsync();
        var client = await StewardClient.OpenAsync(bed.SenderConfig, null, default);

        // Every write of the message's record, in order, until its result.
        async Task<StewardStatus[]> StatusesAsync(string script)
        {
            await TestPwsh.UntilAsync(() => agent.PwshPool.ReadyCount == 1, "the agent's warm worker");
            var request = StewardPwsh.Request([StewardTestBed.NodeName], script, [], new Dictionary<string, string>(), [], false, null, null, null);
            var o = StewardClient.Build(request, StewardTestBed.NodeName, bed.SenderConfig.Steward, bed.SenderKey, DateTimeOffset.UtcNow);
            await using var writes = await store.Connection.SubscribeCoreAsync<byte[]>(store.RecordSubject(o.Record.MessageId));
            await store.Connection.PingAsync(); // the server has the subscription before anything is written
            await client.SendOneAsync(o, bed.SenderKey, default);
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var statuses = new List<StewardStatus>();
            while (statuses.Count == 0 || !StewardStatuses.IsFinal(statuses[^1]))
            {
                var write = await writes.Msgs.ReadAsync(limit.Token);
                if (store.Open(write.Data, 0, o.Record.MessageId) is { Valid: true, Record: { } r }) statuses.Add(r.Status);
            }
            return [.. statuses];
        }

        // Done long before a threshold of ten minutes: no Running at all.
        agent.RunningAfter = TimeSpan.FromMinutes(10);
        Assert.Equal([StewardStatus.Queued, StewardStatus.Delivered, StewardStatus.Succeeded], await StatusesAsync("1"));
        // Running for 1.5 s, past the default 100 ms: Running is written while it runs.
        agent.RunningAfter = TimeSpan.FromMilliseconds(100);
        Assert.Equal([StewardStatus.Queued, StewardStatus.Delivered, StewardStatus.Running, StewardStatus.Succeeded],
            await StatusesAsync("Start-Sleep -Milliseconds 1500; 1"));
    }
}

/// <summary>max_output holds for every record: the terminating error and the dropped-records warning included.</summary>
public class StewardPwshCapTests
{
    private const string Nonce = "0123456789ABCDEF";
    private static string Line(char tag, string xml) => Nonce + tag + ":" + Convert.ToBase64String(Encoding.UTF8.GetBytes(xml));

    [Fact]
    public async Task A_huge_terminating_error_after_full_output_still_travels_within_the_cap_with_the_warning()
    {
        const int cap = 2048;
        var published = new List<string>();
        var records = new StewardPwsh.Records(Nonce, cap, (_, chunk, _) => { published.Add(chunk); return Task.CompletedTask; });
        var big = StewardPwsh.CliXmlString(new string('x', 600));
        for (var i = 0; i < 5; i++) await records.AddAsync(Line('O', big), default);
        // One record larger than the whole cap, then a small one: past the cap the objects stop.
        await records.AddAsync(Line('O', StewardPwsh.CliXmlString(new string('y', 5000))), default);
        await records.AddAsync(Line('O', StewardPwsh.CliXmlString("small")), default);
        var message = "boom <" + new string('z', 10_000);
        await records.AddAsync(Line('M', message), default);
        await records.AddAsync(Line('T', StewardPwsh.CliXmlString(message)), default);
        Assert.True(await records.AddAsync(Line('Z', ""), default));
        await records.FinishAsync(default);

        Assert.True(published.Sum(c => Encoding.UTF8.GetByteCount(c)) <= cap, $"{published.Sum(c => Encoding.UTF8.GetByteCount(c))} bytes published");
        Assert.Equal(2, records.Objects);
        Assert.DoesNotContain(published, c => c.Contains("small", StringComparison.Ordinal));
        var t = Assert.Single(published, c => c.StartsWith("T:", StringComparison.Ordinal));
        Assert.Contains("<S N=\"Message\">boom &lt;zz", t);
        Assert.StartsWith("W:", published[^1]);
        Assert.Contains("5 object(s) or stream record(s)", published[^1]);
        Assert.StartsWith("boom <", records.Terminating);
        Assert.True(records.Terminating!.Length <= StewardPwsh.MaxErrorChars + 1);
    }

    [Fact]
    public void A_compact_error_never_exceeds_its_room_and_keeps_a_prefix_of_the_message()
    {
        var gen = from msg in ArbMap.Default.ArbFor<string>().Generator
                  from room in Gen.Choose(0, 400)
                  select (msg: new string((msg ?? "").Where(c => !char.IsSurrogate(c)).ToArray()), room);
        Check.One(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(gen.ToArbitrary(), t =>
        {
            var xml = StewardPwsh.CompactError(t.msg, t.room);
            var value = System.Xml.Linq.XDocument.Parse(xml);
            var overhead = Encoding.UTF8.GetByteCount(StewardPwsh.CompactError("", 0));
            return Encoding.UTF8.GetByteCount(xml) <= overhead + Math.Max(t.room, 0) && value.Root is not null;
        }));
    }
}
