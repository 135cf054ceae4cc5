using System.Diagnostics;
using System.Globalization;
using RemoteOps.Config;
using RemoteOps.Herder;
using RemoteOps.HerderProxy;

// The node agent's herder proxy (herder.proxy_port), started and owned by the agent (HerderProxyService):
//   RemoteOps.HerderProxy --config <config.yaml> --node <name> [--parent-pid <pid>] [--port <port>]
// It reads the agent's config file (herder.token_issuers, the NATS servers of seaport's registry), and exits when the
// agent's process is gone, so a killed agent leaves no proxy behind. Exit codes: 0 stopped, 2 bad arguments or config,
// 3 the port cannot be bound, 4 the agent is gone.
string? configPath = null, node = null;
int? parentPid = null, portOverride = null;
for (var i = 0; i < args.Length; i++)
{
    var value = i + 1 < args.Length ? args[i + 1] : null;
    switch (args[i])
    {
        case "--config" when value is not null: configPath = value; i++; break;
        case "--node" when value is not null: node = value; i++; break;
        case "--parent-pid" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var p): parentPid = p; i++; break;
        case "--port" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is > 0 and < 65536: portOverride = p; i++; break;
        default:
            Console.Error.WriteLine($"RemoteOps.HerderProxy: unexpected argument '{args[i]}'. Usage: --config <config.yaml> --node <name> [--parent-pid <pid>] [--port <port>]");
            return 2;
    }
}
if (configPath is null)
{
    Console.Error.WriteLine("RemoteOps.HerderProxy: --config <config.yaml> is required (the node agent passes its own).");
    return 2;
}
RemoteOpsConfig config;
try { config = ConfigLoader.Load(configPath, w => Console.Error.WriteLine("warning: " + w)); }
catch (ConfigException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
var port = portOverride ?? config.Herder.ProxyPort;
if (port == 0)
{
    Console.Error.WriteLine($"RemoteOps.HerderProxy: herder.proxy_port is 0 (off) in {configPath}.");
    return 2;
}
node ??= config.Destination ?? Environment.MachineName;

using var stop = new CancellationTokenSource();
Process? parent = null;
if (parentPid is { } pid)
{
    try { parent = Process.GetProcessById(pid); }
    catch (ArgumentException)
    {
        Console.Error.WriteLine($"RemoteOps.HerderProxy: the agent (pid {pid}) is gone.");
        return 4;
    }
}
HerderProxyHost host;
try
{
    host = await HerderProxyHost.StartAsync(new HerderProxyOptions
    {
        Config = config, Node = node, Port = port, Resolver = new SeaportDaemonResolver(config), Log = Console.Out.WriteLine,
    }, stop.Token);
}
catch (IOException e)
{
    Console.Error.WriteLine($"RemoteOps.HerderProxy: cannot listen on port {port}: {e.Message}");
    return 3;
}
await using (host)
{
    var exitCode = 0;
    if (parent is not null)
    {
        // Polled rather than a parent-death signal: Linux's PR_SET_PDEATHSIG follows the forking thread, not the
        // process, and the agent forks from any thread-pool thread. Polling also works on Windows and macOS.
        _ = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (parent.WaitForExit(TimeSpan.Zero))
                {
                    Console.Out.WriteLine($"The agent (pid {parent.Id}) is gone; the herder proxy stops.");
                    exitCode = 4;
                    await stop.CancelAsync();
                    return;
                }
                try { await Task.Delay(TimeSpan.FromMilliseconds(500), stop.Token); } catch (OperationCanceledException) { return; }
            }
        });
    }
    try { await host.WaitForShutdownAsync(stop.Token); } catch (OperationCanceledException) { }
    return exitCode;
}
