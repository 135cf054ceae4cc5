using RemoteOps.Config;
using RemoteOps.Steward;

// The agent runs until SIGTERM (handled by the agent: drain, stop) or Ctrl+C; a SIGKILL is what the tests are for.
// With --fleet, one process hosts an agent per config file listed (one path a line): a simulated fleet, as the
// benchmark runs it, whose agents share this process's one NATS connection; SIGKILL takes them all offline at once.
if (args is ["--fleet", var list])
    return await RunFleetAsync(list);
if (args.Length is < 1 or > 2)
{
    Console.Error.WriteLine("usage: RemoteOps.StewardNodeHost <config.yaml> [name] | --fleet <file listing config paths>");
    return 2;
}
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
try
{
    var config = ConfigLoader.Load(args[0], w => Console.Error.WriteLine("warning: " + w));
    await using var agent = await StewardAgent.StartAsync(config, args.Length > 1 ? args[1] : null,
        e => Console.Out.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {e}"), stop.Token);
    Console.Out.WriteLine("READY");
    await agent.Completion;
    return 0;
}
catch (Exception e) when (e is ConfigException or StewardArgumentException or StewardUnavailableException)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}

static async Task<int> RunFleetAsync(string list)
{
    using var stop = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
    var agents = new System.Collections.Concurrent.ConcurrentBag<StewardAgent>();
    try
    {
        var paths = File.ReadAllLines(list).Where(l => l.Trim().Length > 0).ToArray();
        // A few at a time: each start opens a SQLite store and a consumer; all at once only queues on two cores.
        await Parallel.ForEachAsync(paths, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = stop.Token }, async (path, ct) =>
        {
            var config = ConfigLoader.Load(path.Trim(), w => Console.Error.WriteLine("warning: " + w));
            agents.Add(await StewardAgent.StartAsync(config, null, null, ct));
        });
        Console.Out.WriteLine($"READY {agents.Count}");
        await Task.Delay(Timeout.Infinite, stop.Token).ContinueWith(_ => { });
        return 0;
    }
    catch (Exception e) when (e is ConfigException or StewardArgumentException or StewardUnavailableException or IOException)
    {
        Console.Error.WriteLine(e.Message);
        return 1;
    }
    finally
    {
        await Parallel.ForEachAsync(agents, async (a, _) => await a.DisposeAsync());
    }
}
