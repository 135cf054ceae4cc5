using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RemoteOps.Config;
using RemoteOps.Herder;
using RemoteOps.Messaging;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Transforms;

namespace RemoteOps.HerderProxy;

/// <summary>What the proxy serves: the node's config (herder.token_issuers), how daemons are found, and where it listens.</summary>
public sealed record HerderProxyOptions
{
    public required RemoteOpsConfig Config { get; init; }
    public required IHerderDaemonResolver Resolver { get; init; }
    /// <summary>The node's name, in messages.</summary>
    public required string Node { get; init; }
    /// <summary>0: any free port (tests).</summary>
    public int Port { get; init; }
    /// <summary>Every interface by default: the proxy serves <c>http://&lt;node&gt;:&lt;port&gt;</c> to other machines.</summary>
    public IPAddress Address { get; init; } = IPAddress.Any;
    public Action<string> Log { get; init; } = _ => { };
    /// <summary>How long a forwarded request or an upgraded websocket may be idle before it is cut.</summary>
    public TimeSpan ActivityTimeout { get; init; } = TimeSpan.FromMinutes(15);
}

/// <summary>
/// The reverse proxy: Kestrel and YARP's direct forwarder (<see cref="IHttpForwarder"/>), which forwards HTTP/1.1 and
/// HTTP/2 requests, streams bodies both ways and carries websocket upgrades. Each request is checked before anything
/// is forwarded: a valid herder token (else 401), a <c>/daemon/&lt;name&gt;</c> path (else 404), a daemon of that name on
/// this node (else 404); a daemon that does not answer is 502.
/// </summary>
public sealed class HerderProxyHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpMessageInvoker _client;

    /// <summary>The port it listens on (the one assigned when 0 was asked).</summary>
    public int Port { get; }

    private HerderProxyHost(WebApplication app, HttpMessageInvoker client, int port) { _app = app; _client = client; Port = port; }

    public static async Task<HerderProxyHost> StartAsync(HerderProxyOptions options, CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "RemoteOps.HerderProxy", Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(options.Address, options.Port);
            k.AddServerHeader = false;
            // The daemon decides what it accepts: no cap of Kestrel's own (30 MB) on a forwarded upload.
            k.Limits.MaxRequestBodySize = null;
        });
        builder.Services.AddHttpForwarder();
        var app = builder.Build();
        // As YARP's direct-forwarding sample: no proxy, no redirects, no decompression, no cookies; the daemon's own answer goes back as it is.
        var client = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false, AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None, UseCookies = false,
            EnableMultipleHttp2Connections = true, ConnectTimeout = TimeSpan.FromSeconds(15),
            ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
        });
        var handler = new HerderProxyHandler(options, app.Services.GetRequiredService<IHttpForwarder>(), client);
        app.Run(handler.HandleAsync);
        await app.StartAsync(ct).ConfigureAwait(false);
        var port = options.Port;
        if (port == 0)
        {
            var addresses = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
                .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses;
            port = new Uri(addresses.First()).Port;
        }
        options.Log($"Herder proxy of node {options.Node} listening on {options.Address}:{port}.");
        return new HerderProxyHost(app, client, port);
    }

    /// <summary>Completes when the host stops (SIGTERM, Ctrl+C or <see cref="DisposeAsync"/>).</summary>
    public Task WaitForShutdownAsync(CancellationToken ct) => _app.WaitForShutdownAsync(ct);

    public async ValueTask DisposeAsync()
    {
        try { await _app.StopAsync(CancellationToken.None).ConfigureAwait(false); } catch (OperationCanceledException) { }
        await _app.DisposeAsync().ConfigureAwait(false);
        _client.Dispose();
    }
}

/// <summary>One request: the token, the path, the daemon, then YARP forwards it.</summary>
internal sealed class HerderProxyHandler(HerderProxyOptions options, IHttpForwarder forwarder, HttpMessageInvoker client)
{
    private readonly ForwarderRequestConfig _requestConfig = new() { ActivityTimeout = options.ActivityTimeout };
    private readonly HerderProxyAuthorizer _authorizer = new(options.Config.Herder);

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var headerToken = request.Headers[HerderProxyRoutes.TokenHeader].FirstOrDefault();
        var authorization = request.Headers.Authorization.FirstOrDefault();
        var token = HerderProxyRoutes.FindToken(headerToken, authorization, HerderProxyRoutes.QueryToken(request.QueryString.Value), out var source);
        // The token first: a caller without one learns nothing, not even which daemons exist.
        if (_authorizer.Authorize(token, DateTimeOffset.UtcNow, out var reason) != HerderProxyVerdict.Forward)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"herder\"";
            await WriteAsync(context, StatusCodes.Status401Unauthorized, reason).ConfigureAwait(false);
            return;
        }
        if (!HerderProxyRoutes.TryParsePath(request.Path.Value, out var name, out var rest, out var problem))
        {
            await WriteAsync(context, StatusCodes.Status404NotFound, problem).ConfigureAwait(false);
            return;
        }
        HerderDaemonEndpoint? endpoint;
        try { endpoint = await options.Resolver.ResolveAsync(name, context.RequestAborted).ConfigureAwait(false); }
        catch (RemoteOpsUnavailableException e)
        {
            await WriteAsync(context, StatusCodes.Status503ServiceUnavailable, $"The daemon registry cannot be read: {e.Message}").ConfigureAwait(false);
            return;
        }
        if (endpoint is null)
        {
            await WriteAsync(context, StatusCodes.Status404NotFound,
                $"No daemon '{name}' is registered on node {options.Node} (seaport role {name}@0.0.0 on this host).").ConfigureAwait(false);
            return;
        }
        var destination = $"http://{(endpoint.Host.Contains(':') ? $"[{endpoint.Host}]" : endpoint.Host)}:{endpoint.Port}";
        var error = await forwarder.SendAsync(context, destination, client, _requestConfig,
            new StripTransformer(name, rest, source)).ConfigureAwait(false);
        if (error == ForwarderError.None) return;
        var cause = context.GetForwarderErrorFeature()?.Exception?.Message ?? error.ToString();
        options.Log($"{request.Method} /daemon/{name}{rest} -> {destination}: {error}: {cause}");
        // YARP has set the status (502 when the daemon did not answer); say why when nothing has been sent yet.
        if (!context.Response.HasStarted && error is ForwarderError.Request or ForwarderError.RequestTimedOut or ForwarderError.NoAvailableDestinations)
            await WriteAsync(context, context.Response.StatusCode is >= 500 ? context.Response.StatusCode : StatusCodes.Status502BadGateway,
                $"The daemon '{name}' did not answer at {destination}: {cause}").ConfigureAwait(false);
    }

    private static Task WriteAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(message + "\n", context.RequestAborted);
    }

    /// <summary>Forwards <c>/rest?query</c> without the token (the X-Herder-Token header always; the bearer or the query
    /// parameter when the token came from there: a daemon's own are kept), and says where the
    /// daemon is mounted (X-Forwarded-Prefix, so that it can write links that come back through the proxy) and for
    /// whom (X-Forwarded-For, -Host, -Proto).</summary>
    private sealed class StripTransformer(string name, string rest, HerderTokenSource source) : HttpTransformer
    {
        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);
            proxyRequest.Headers.Remove(HerderProxyRoutes.TokenHeader);
            if (source == HerderTokenSource.Bearer) proxyRequest.Headers.Authorization = null;
            proxyRequest.Headers.Remove("X-Forwarded-Prefix");
            proxyRequest.Headers.TryAddWithoutValidation("X-Forwarded-Prefix", HerderProxyRoutes.PathPrefix + name);
            var query = source == HerderTokenSource.Query ? HerderProxyRoutes.StripToken(httpContext.Request.QueryString.Value) : httpContext.Request.QueryString.Value ?? "";
            proxyRequest.RequestUri = RequestUtilities.MakeDestinationAddress(destinationPrefix, new PathString(rest), new QueryString(query.Length == 0 ? null : query));
            // The daemon sees its own address as the Host (as a direct client would send it); who asked, and for
            // which host and scheme, it reads from the X-Forwarded headers, as behind any reverse proxy.
            proxyRequest.Headers.Host = null;
            var request = httpContext.Request;
            var forwardedFor = request.Headers["X-Forwarded-For"].ToString();
            var client = httpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown";
            proxyRequest.Headers.Remove("X-Forwarded-For");
            proxyRequest.Headers.TryAddWithoutValidation("X-Forwarded-For", forwardedFor.Length > 0 ? $"{forwardedFor}, {client}" : client);
            proxyRequest.Headers.Remove("X-Forwarded-Host");
            proxyRequest.Headers.TryAddWithoutValidation("X-Forwarded-Host", request.Host.Value);
            proxyRequest.Headers.Remove("X-Forwarded-Proto");
            proxyRequest.Headers.TryAddWithoutValidation("X-Forwarded-Proto", request.Scheme);
        }
    }
}
