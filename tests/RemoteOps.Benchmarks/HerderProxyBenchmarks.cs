using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using RemoteOps.Config;
using RemoteOps.Herder;
using RemoteOps.HerderProxy;
using RemoteOps.Identity;
using RemoteOps.Messaging;
using RemoteOps.Seaport;
using RemoteOps.TestSupport;

namespace RemoteOps.Benchmarks;

/// <summary>The herder reverse proxy: a GET and a websocket round trip through it against the same request straight
/// to the daemon (a Kestrel app registered in seaport as bench@0.0.0), one at a time and 16 at once; and how long the
/// proxy process takes from its start to its first accepted connection (what an agent's start adds).</summary>
public static class HerderProxyBenchmarks
{
    public static async Task RunAsync(Report report)
    {
        await using var server = await NatsServer.StartAsync();
        using var dir = new TempDir();
        using var issuer = SigningKey.Generate();
        var path = dir.File("node.yaml");
        File.WriteAllText(path, $"""
            servers: [{server.Url}]
            destination: bench.proxy
            default_identity: {issuer.PublicBase58}
            identities:
              - public: {issuer.PublicBase58}
                private: {issuer.ExportSeedBase58()}
                verbs: ["*"]
            herder:
              token_issuers: [{issuer.PublicBase58}]
              proxy_port: {FreePort()}
            """);
        var config = ConfigLoader.Load(path);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var daemon = builder.Build();
        daemon.UseWebSockets();
        daemon.Run(async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest) { await context.Response.WriteAsync("ok"); return; }
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var buffer = new byte[1024];
            while (true)
            {
                var r = await socket.ReceiveAsync(buffer, default);
                if (r.MessageType == WebSocketMessageType.Close) break;
                await socket.SendAsync(buffer.AsMemory(0, r.Count), r.MessageType, r.EndOfMessage, default);
            }
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", default);
        });
        await daemon.StartAsync();
        var daemonPort = new Uri(daemon.Urls.First()).Port;
        await SeaportRegistrar.RegisterAsync(config, new SeaportRegistration
        {
            Role = "bench@0.0.0", Port = daemonPort, HostName = SeaportRegistrar.LocalHostName, AlreadyListening = true,
        }, default);
        await using var proxy = await HerderProxyHost.StartAsync(new HerderProxyOptions
        {
            Config = config, Node = "bench.proxy", Resolver = new SeaportDaemonResolver(config), Address = IPAddress.Loopback,
        }, default);
        var token = HerderTokens.Issue("bench", 1, null, issuer, DateTimeOffset.UtcNow);

        using var http = new HttpClient();
        var direct = new Uri($"http://127.0.0.1:{daemonPort}/hello");
        var proxied = new Uri($"http://127.0.0.1:{proxy.Port}/daemon/bench/hello");
        async Task Get(Uri uri, bool withToken)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            if (withToken) request.Headers.Add(HerderProxyRoutes.TokenHeader, token);
            using var response = await http.SendAsync(request);
            if (response.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"{uri}: {(int)response.StatusCode}");
            await response.Content.ReadAsByteArrayAsync();
        }

        var directGet = await Sequential(2000, () => Get(direct, false));
        var proxiedGet = await Sequential(2000, () => Get(proxied, true));
        report.Add("GET through the herder proxy, p50", Samples.Micros(proxiedGet.Percentile(50)), "direct " + Samples.Micros(directGet.Percentile(50)),
            proxiedGet.Percentile(50) / directGet.Percentile(50));
        report.Add("GET through the herder proxy, p99", Samples.Micros(proxiedGet.Percentile(99)), "direct " + Samples.Micros(directGet.Percentile(99)),
            proxiedGet.Percentile(99) / directGet.Percentile(99));

        // What the proxy does per request before YARP forwards: the token check and the daemon lookup.
        var resolver = new SeaportDaemonResolver(config);
        var check = await Sequential(2000, () => { HerderProxyRoutes.Authorize(token, config.Herder, DateTimeOffset.UtcNow, out _); return Task.CompletedTask; });
        var authorizer = new HerderProxyAuthorizer(config.Herder);
        var remembered = await Sequential(2000, () => { authorizer.Authorize(token, DateTimeOffset.UtcNow, out _); return Task.CompletedTask; });
        var lookup = await Sequential(2000, async () => { _ = await resolver.ResolveAsync("bench", default) ?? throw new InvalidOperationException("bench not found"); });
        report.Add("token check, first sight (Ed25519 verify), p50", Samples.Micros(check.Percentile(50)));
        report.Add("token check, a token seen before (remembered), p50", Samples.Micros(remembered.Percentile(50)));
        report.Add("daemon lookup in seaport's index, p50", Samples.Micros(lookup.Percentile(50)));

        var directRate = await Rate(16, TimeSpan.FromSeconds(4), () => Get(direct, false));
        var proxiedRate = await Rate(16, TimeSpan.FromSeconds(4), () => Get(proxied, true));
        report.Add("GETs per second through the proxy, 16 at once", $"{proxiedRate:0}/s", $"direct {directRate:0}/s", proxiedRate / directRate);

        var directWs = await WebSocketRoundTrips(new Uri($"ws://127.0.0.1:{daemonPort}/ws"), 2000);
        var proxiedWs = await WebSocketRoundTrips(new Uri($"ws://127.0.0.1:{proxy.Port}/daemon/bench/ws?token={Uri.EscapeDataString(token)}"), 2000);
        report.Add("websocket echo round trip through the proxy, p50", Samples.Micros(proxiedWs.Percentile(50)), "direct " + Samples.Micros(directWs.Percentile(50)),
            proxiedWs.Percentile(50) / directWs.Percentile(50));

        var start = await ProcessStartToAccept(path, 3);
        report.Add("proxy process start to first accepted connection, p50", Samples.Micros(start.Percentile(50)));
        await ConnectionPool.DisconnectAsync(config);
    }

    private static async Task<Samples> Sequential(int n, Func<Task> run)
    {
        for (var i = 0; i < 200; i++) await run();
        var samples = new Samples();
        for (var i = 0; i < n; i++)
        {
            var t = Stopwatch.GetTimestamp();
            await run();
            samples.AddTicks(Stopwatch.GetTimestamp() - t);
        }
        return samples;
    }

    private static async Task<double> Rate(int parallel, TimeSpan duration, Func<Task> run)
    {
        var watch = Stopwatch.StartNew();
        var done = 0;
        await Task.WhenAll(Enumerable.Range(0, parallel).Select(async _ =>
        {
            while (watch.Elapsed < duration) { await run(); Interlocked.Increment(ref done); }
        }));
        return done / watch.Elapsed.TotalSeconds;
    }

    private static async Task<Samples> WebSocketRoundTrips(Uri uri, int n)
    {
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(uri, default);
        var message = new byte[64];
        var buffer = new byte[1024];
        var samples = new Samples();
        for (var i = 0; i < n + 200; i++)
        {
            var t = Stopwatch.GetTimestamp();
            await socket.SendAsync(message, WebSocketMessageType.Binary, true, default);
            var got = 0;
            while (got < message.Length) got += (await socket.ReceiveAsync(buffer, default)).Count;
            if (i >= 200) samples.AddTicks(Stopwatch.GetTimestamp() - t);
        }
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", default);
        return samples;
    }

    /// <summary>The proxy as the agent runs it (the dotnet host and the assembly HerderProxyService finds), from start
    /// to the first connection its port accepts.</summary>
    private static async Task<Samples> ProcessStartToAccept(string configPath, int n)
    {
        var launch = HerderProxyService.Locate(out var problem) ?? throw new InvalidOperationException(problem);
        var samples = new Samples();
        for (var i = 0; i < n; i++)
        {
            var port = FreePort();
            var t = Stopwatch.GetTimestamp();
            using var process = Process.Start(new ProcessStartInfo(launch.Dotnet, [launch.Assembly, "--config", configPath, "--node", "bench.proxy", "--port", port.ToString()])
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            })!;
            try
            {
                while (true)
                {
                    if (process.HasExited) throw new InvalidOperationException($"the proxy exited with {process.ExitCode}: {await process.StandardError.ReadToEndAsync()}");
                    try
                    {
                        using var client = new TcpClient();
                        await client.ConnectAsync(IPAddress.Loopback, port);
                        break;
                    }
                    catch (SocketException) { await Task.Delay(5); }
                }
                samples.AddTicks(Stopwatch.GetTimestamp() - t);
            }
            finally
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
        return samples;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
