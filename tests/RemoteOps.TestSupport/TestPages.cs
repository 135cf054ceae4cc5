using System.Net;
using System.Text;

namespace RemoteOps.TestSupport;

/// <summary>Web pages served by the test itself on a free loopback port (HttpListener), for golems to open: each path
/// maps to its HTML; anything else is a 404.</summary>
public sealed class TestPages : IAsyncDisposable
{
    /// <summary>A page with a title and a <c>.golem</c> element (not a script the browser runs itself) whose code
    /// sets a global and appends " (golem)" to the title: what the tests check the bootstrap by.</summary>
    public const string GolemPage = """
        <!doctype html>
        <html><head><title>Golem test</title></head>
        <body>
          <p id="greeting">hello</p>
          <script type="text/golem" class="golem">
            window.bootstrapped = 42;
            document.title = document.title + ' (golem)';
          </script>
        </body></html>
        """;

    private readonly HttpListener _listener = new();
    private readonly IReadOnlyDictionary<string, string> _pages;
    private readonly Task _loop;

    public TestPages(IReadOnlyDictionary<string, string> pages)
    {
        _pages = pages;
        Port = NatsServer.FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public int Port { get; }

    /// <summary>The URL of <paramref name="path"/> ("/page.html").</summary>
    public string Url(string path) => $"http://127.0.0.1:{Port}{path}";

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            try
            {
                var found = _pages.TryGetValue(context.Request.Url!.AbsolutePath, out var html);
                context.Response.StatusCode = found ? 200 : 404;
                context.Response.ContentType = "text/html; charset=utf-8";
                var body = Encoding.UTF8.GetBytes(found ? html! : "<title>not found</title>");
                await context.Response.OutputStream.WriteAsync(body);
                context.Response.Close();
            }
            catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException) { }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
