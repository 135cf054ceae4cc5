using RemoteOps.Config;
using RemoteOps.Steward;

// The agent runs until SIGTERM (handled by the agent: drain, stop) or Ctrl+C; a SIGKILL is what the tests are for.
if (args.Length is < 1 or > 2)
{
    Console.Error.WriteLine("usage: RemoteOps.StewardNodeHost <config.yaml> [name]");
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
