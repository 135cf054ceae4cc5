using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
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

namespace RemoteOps.Core.Tests.Herder;

/// <summary>The herder reverse proxy on a real nats-server: a real Kestrel daemon registered in seaport as
/// <c>web@0.0.0</c>, reached through the proxy (YARP) over HTTP and a websocket; tokens checked before anything is
/// forwarded, the prefix and the token removed, unknown daemons 404, a daemon that does not answer 502.</summary>
public sealed class HerderProxyTests : IAsyncLifetime
{
    private NatsServer _server = null!;
    private readonly TempDir _dir = new();
    private readonly SigningKey _issuer = SigningKey.Generate();
    private readonly SigningKey _stranger = SigningKey.Generate();
    private RemoteOpsConfig _config = null!;
    private WebApplication _daemon = null!;
    private int _daemonRequests;
    private HerderProxyHost _proxy = null!;
    private HttpClient _http = null!;
    private readonly string _name = $"web{Guid.NewGuid():N}"[..12];

    public async Task InitializeAsync()
    {
        _server = await NatsServer.StartAsync();
        var path = _dir.File("node.yaml");
        File.WriteAllText(path, $"""
            servers: [{_server.Url}]
            destination: com.acme.proxy
            default_identity: {_issuer.PublicBase58}
            identities:
              - public: {_issuer.PublicBase58}
                private: {_issuer.ExportSeedBase58()}
                verbs: ["*"]
            seaport:
              bucket: seaport{Guid.NewGuid():N}
            herder:
              token_issuers: [{_issuer.PublicBase58}]
              proxy_port: 18080
            """);
        _config = ConfigLoader.Load(path);
        _daemon = await StartDaemonAsync();
        await SeaportRegistrar.RegisterAsync(_config, new SeaportRegistration
        {
            Role = $"{_name}@0.0.0", Port = DaemonPort, HostName = SeaportRegistrar.LocalHostName, AlreadyListening = true,
        }, default);
        _proxy = await HerderProxyHost.StartAsync(new HerderProxyOptions
        {
            Config = _config, Node = "com.acme.proxy", Resolver = new SeaportDaemonResolver(_config), Address = IPAddress.Loopback,
        }, default);
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_proxy.Port}"), Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _proxy.DisposeAsync();
        await _daemon.DisposeAsync();
        await ConnectionPool.DisconnectAsync(_config);
        await _server.DisposeAsync();
        _dir.Dispose();
        _issuer.Dispose();
        _stranger.Dispose();
    }

    private int DaemonPort => new Uri(_daemon.Urls.First()).Port;

    /// <summary>The daemon: says what it was sent (path, query, the headers the proxy must strip or set), and echoes websockets.</summary>
    private async Task<WebApplication> StartDaemonAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.UseWebSockets();
        app.Run(async context =>
        {
            Interlocked.Increment(ref _daemonRequests);
            if (context.WebSockets.IsWebSocketRequest)
            {
                using var socket = await context.WebSockets.AcceptWebSocketAsync();
                var buffer = new byte[4096];
                while (true)
                {
                    var received = await socket.ReceiveAsync(buffer, default);
                    if (received.MessageType == WebSocketMessageType.Close) break;
                    await socket.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType, received.EndOfMessage, default);
                }
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", default);
                return;
            }
            var r = context.Request;
            await context.Response.WriteAsync(
                $"path={r.Path}{r.QueryString}|auth={r.Headers.Authorization}|xtoken={r.Headers["X-Herder-Token"]}|prefix={r.Headers["X-Forwarded-Prefix"]}|host={r.Host}"
                + $"|for={r.Headers["X-Forwarded-For"]}|fhost={r.Headers["X-Forwarded-Host"]}|proto={r.Headers["X-Forwarded-Proto"]}");
        });
        await app.StartAsync();
        return app;
    }

    private string Token(SigningKey? issuer = null, DateTimeOffset? expires = null, DateTimeOffset? now = null) =>
        HerderTokens.Issue("alice@example.com", 100, expires, issuer ?? _issuer, now ?? DateTimeOffset.UtcNow);

    private async Task<(HttpStatusCode Status, string Body)> GetAsync(string path, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        configure?.Invoke(request);
        using var response = await _http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_request_with_a_token_header_reaches_the_daemon_without_the_prefix_or_the_token()
    {
        var token = Token();
        var (status, body) = await GetAsync($"/daemon/{_name}/api/items?x=1&y=two", r => r.Headers.Add("X-Herder-Token", token));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal($"path=/api/items?x=1&y=two|auth=|xtoken=|prefix=/daemon/{_name}|host=127.0.0.1:{DaemonPort}"
            + $"|for=127.0.0.1|fhost=127.0.0.1:{_proxy.Port}|proto=http", body);
    }

    [Fact]
    public async Task The_daemon_root_is_reached_with_and_without_a_trailing_slash()
    {
        var token = Token();
        Assert.StartsWith("path=/|", (await GetAsync($"/daemon/{_name}", r => r.Headers.Add("X-Herder-Token", token))).Body);
        Assert.StartsWith("path=/|", (await GetAsync($"/daemon/{_name}/", r => r.Headers.Add("X-Herder-Token", token))).Body);
    }

    [Fact]
    public async Task A_bearer_token_or_a_token_query_parameter_is_accepted_and_not_forwarded()
    {
        var token = Token();
        var (status, body) = await GetAsync($"/daemon/{_name}/p", r => r.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith($"path=/p|auth=|xtoken=|prefix=/daemon/{_name}|host=127.0.0.1:{DaemonPort}|", body);

        (status, body) = await GetAsync($"/daemon/{_name}/p?a=1&token={Uri.EscapeDataString(token)}&b=2");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith("path=/p?a=1&b=2|auth=|", body);
    }

    [Fact]
    public async Task The_daemons_own_authorization_header_is_kept_when_the_token_comes_in_the_herder_header()
    {
        var token = Token();
        var (status, body) = await GetAsync($"/daemon/{_name}/p", r =>
        {
            r.Headers.Add("X-Herder-Token", token);
            r.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", "dXNlcjpwdw==");
        });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("|auth=Basic dXNlcjpwdw==|", body);
    }

    [Fact]
    public async Task A_daemons_own_bearer_token_and_token_parameter_pass_through_beside_a_herder_token()
    {
        var token = Token();
        var (status, body) = await GetAsync($"/daemon/{_name}/p?token={Uri.EscapeDataString(token)}", r =>
            r.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "daemons-own-jwt"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith("path=/p|auth=Bearer daemons-own-jwt|", body);

        (status, body) = await GetAsync($"/daemon/{_name}/p?token=daemons-own&x=1", r => r.Headers.Add("X-Herder-Token", token));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith("path=/p?token=daemons-own&x=1|", body);

        // A bearer that is not a herder token, and no other: refused with the token check's reason.
        (status, body) = await GetAsync($"/daemon/{_name}/p", r => r.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "daemons-own-jwt"));
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Contains("not a herder token", body);
    }

    [Fact]
    public async Task An_earlier_proxys_x_forwarded_for_is_kept_and_this_client_appended()
    {
        var token = Token();
        var (_, body) = await GetAsync($"/daemon/{_name}/", r => { r.Headers.Add("X-Herder-Token", token); r.Headers.Add("X-Forwarded-For", "203.0.113.7"); });
        Assert.Contains("|for=203.0.113.7, 127.0.0.1|", body);
    }

    [Fact]
    public async Task Missing_forged_expired_and_foreign_tokens_get_401_and_never_reach_the_daemon()
    {
        var valid = Token();
        var forged = valid[..^3] + (valid[^3] == 'A' ? "B" : "A") + valid[^2..];
        var expired = Token(expires: DateTimeOffset.UtcNow.AddHours(-1), now: DateTimeOffset.UtcNow.AddHours(-2));
        var foreign = Token(_stranger);
        var before = Volatile.Read(ref _daemonRequests);
        foreach (var token in new string?[] { null, "", "nonsense", forged, expired, foreign })
        {
            var (status, body) = await GetAsync($"/daemon/{_name}/secret", r => { if (token is not null) r.Headers.Add("X-Herder-Token", token); });
            Assert.Equal(HttpStatusCode.Unauthorized, status);
            Assert.False(string.IsNullOrWhiteSpace(body));
            Assert.DoesNotContain("path=", body);
        }
        // Unauthenticated callers do not learn which daemons exist: an unknown one is 401 too.
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync("/daemon/nosuchdaemon/")).Status);
        Assert.Equal(before, Volatile.Read(ref _daemonRequests));
    }

    [Fact]
    public async Task An_unknown_daemon_or_a_path_outside_daemon_is_404_with_a_clear_body()
    {
        var token = Token();
        var (status, body) = await GetAsync("/daemon/nosuchdaemon/x", r => r.Headers.Add("X-Herder-Token", token));
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("No daemon 'nosuchdaemon' is registered on node com.acme.proxy", body);

        (status, body) = await GetAsync("/elsewhere", r => r.Headers.Add("X-Herder-Token", token));
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("/daemon/<name>/", body);

        (status, body) = await GetAsync("/daemon/bad%20name/", r => r.Headers.Add("X-Herder-Token", token));
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("not a daemon name", body);
    }

    [Fact]
    public async Task A_registered_daemon_that_does_not_answer_is_502()
    {
        int deadPort;
        using (var listener = new TcpListener(IPAddress.Loopback, 0)) { listener.Start(); deadPort = ((IPEndPoint)listener.LocalEndpoint).Port; }
        var dead = $"dead{Guid.NewGuid():N}"[..12];
        await SeaportRegistrar.RegisterAsync(_config, new SeaportRegistration
        {
            Role = $"{dead}@0.0.0", Port = deadPort, HostName = SeaportRegistrar.LocalHostName, AlreadyListening = true,
        }, default);
        var token = Token();
        var (status, body) = await GetAsync($"/daemon/{dead}/", r => r.Headers.Add("X-Herder-Token", token));
        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.Contains($"The daemon '{dead}' did not answer at http://127.0.0.1:{deadPort}", body);
    }

    [Fact]
    public async Task A_daemon_registered_on_another_host_is_not_proxied()
    {
        var elsewhere = $"away{Guid.NewGuid():N}"[..12];
        await SeaportRegistrar.RegisterAsync(_config, new SeaportRegistration
        {
            Role = $"{elsewhere}@0.0.0", Port = DaemonPort, HostName = "some-other-host.example", AlreadyListening = true,
        }, default);
        var token = Token();
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync($"/daemon/{elsewhere}/", r => r.Headers.Add("X-Herder-Token", token))).Status);
    }

    [Fact]
    public async Task A_websocket_echoes_through_the_proxy_with_the_token_in_the_query()
    {
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{_proxy.Port}/daemon/{_name}/ws?token={Uri.EscapeDataString(Token())}"), default);
        foreach (var text in new[] { "hello", "herder", new string('x', 3000) })
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, default);
            var buffer = new byte[8192];
            var got = new StringBuilder();
            WebSocketReceiveResult received;
            do
            {
                received = await socket.ReceiveAsync(buffer, default);
                got.Append(Encoding.UTF8.GetString(buffer, 0, received.Count));
            } while (!received.EndOfMessage);
            Assert.Equal(text, got.ToString());
        }
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", default);
    }

    [Fact]
    public async Task A_websocket_without_a_token_is_refused_with_401()
    {
        using var socket = new ClientWebSocket();
        var e = await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(new Uri($"ws://127.0.0.1:{_proxy.Port}/daemon/{_name}/ws"), default));
        Assert.Contains("401", e.Message);
    }

    [Fact]
    public void The_node_has_what_the_proxy_process_needs_and_it_is_found()
    {
        // This machine has the dotnet host and ASP.NET Core 10; the test's own output has the proxy's assembly.
        var launch = HerderProxyService.Locate(out var problem);
        Assert.True(launch is not null, problem);
        Assert.True(File.Exists(launch.Dotnet));
        Assert.EndsWith(HerderProxyService.AssemblyName, launch.Assembly);
        Assert.True(Version.Parse(launch.AspNetCoreVersion).Major >= HerderProxyService.MinAspNetCoreMajor);
        using var empty = new TempDir();
        Assert.Empty(HerderProxyService.AspNetCoreVersions(empty.Path));
    }

    [Fact]
    public void A_node_without_the_aspnet_core_runtime_or_dotnet_is_told_what_to_install()
    {
        using var root = new TempDir();
        var dotnet = root.File("dotnet");
        File.WriteAllText(dotnet, "");
        Directory.CreateDirectory(Path.Combine(root.Path, "shared", "Microsoft.NETCore.App", "10.0.1"));
        Assert.Null(HerderProxyService.Locate(dotnet, "/x/RemoteOps.HerderProxy.dll", out var problem));
        Assert.Contains("no ASP.NET Core runtime 9 or later", problem);
        Assert.Contains("found: none", problem);
        Assert.Contains("aspnetcore-runtime", problem);

        Directory.CreateDirectory(Path.Combine(root.Path, "shared", "Microsoft.AspNetCore.App", "8.0.11"));
        Assert.Null(HerderProxyService.Locate(dotnet, "/x/RemoteOps.HerderProxy.dll", out problem));
        Assert.Contains("found: 8.0.11", problem);

        Directory.CreateDirectory(Path.Combine(root.Path, "shared", "Microsoft.AspNetCore.App", "9.0.3"));
        Assert.Equal("9.0.3", HerderProxyService.Locate(dotnet, "/x/RemoteOps.HerderProxy.dll", out _)?.AspNetCoreVersion);

        Assert.Null(HerderProxyService.Locate(null, "/x/RemoteOps.HerderProxy.dll", out problem));
        Assert.Contains("dotnet host is not found", problem);
        Assert.Null(HerderProxyService.Locate(dotnet, null, out problem));
        Assert.Contains("HerderProxy/", problem);
    }

    [Fact]
    public void Test_RemoteOpsConfig_says_whether_the_node_can_run_the_proxy()
    {
        var check = Assert.Single(ConfigChecker.Check(_config), c => c.Check == "HerderProxy");
        Assert.True(check.Passed, check.Message);
        Assert.Equal("herder.proxy_port 18080", check.Target);
        Assert.Contains("ASP.NET Core", check.Message);
        var noIssuers = _config.WithSection(_config.Herder with { TokenIssuers = [] });
        Assert.Contains(ConfigChecker.Check(noIssuers), c => c is { Check: "HerderProxy", Target: "herder.token_issuers", Passed: false });
        Assert.DoesNotContain(ConfigChecker.Check(_config.WithSection(_config.Herder with { ProxyPort = 0 })), c => c.Check == "HerderProxy");
    }

    [Fact]
    public void The_example_config_documents_proxy_port_and_its_herder_block_loads_uncommented()
    {
        using var key = SigningKey.Generate();
        var text = ExampleConfig.Text(["nats://127.0.0.1:4222"], "local.me", key.PublicBase58, "keys/x.key");
        Assert.Matches(new System.Text.RegularExpressions.Regex(@"^#   proxy_port ", System.Text.RegularExpressions.RegexOptions.Multiline), text);
        var start = text.IndexOf("#herder:", StringComparison.Ordinal);
        var block = text[start..].Split("\n\n")[0].TrimEnd('\n');
        var config = ConfigLoader.Parse(text.Replace(block, string.Join("\n", block.Split('\n').Select(l => l[1..]))), "/etc/remoteops/config.yaml");
        Assert.Equal(8080, config.Herder.ProxyPort);
        Assert.Equal([key.PublicBase58], config.Herder.TokenIssuers);
    }

    [Fact]
    public void Proxy_port_is_read_and_a_bad_one_is_refused_with_its_line()
    {
        Assert.Equal(18080, _config.Herder.ProxyPort);
        var path = _dir.File("bad.yaml");
        File.WriteAllText(path, "herder:\n  proxy_port: 70000\n");
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        Assert.Contains("herder.proxy_port", e.Message);
        Assert.Contains("line 2", e.Message);
        Assert.Equal(0, new HerderConfig().ProxyPort);
    }
}
