using System.Net;
using System.Net.Sockets;
using System.Text;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;

namespace RemoteOps.Steward;

/// <summary>The seed's input API on a node agent, for senders that are not PowerShell: a unix socket
/// (<c>steward.socket</c>), a TCP listener (<c>steward.tcp_listener</c>) and an HTTP listener (<c>steward.http_listener</c>,
/// POST), each off unless configured. Each takes one JSON document (a message or an array of the seed's messages),
/// signs every message with the node's own identity and queues it through <see cref="StewardClient.SendAsync"/>, the
/// path Invoke-StewardMethod -NoWait takes; then answers one JSON line per message and node (its id and Queued) or an
/// error line (<see cref="StewardInputReply"/>), and closes. Bad input is answered and never stops the listener.</summary>
public sealed class StewardInputListener : IAsyncDisposable
{
    public const string SocketFileName = "steward.sock";
    /// <summary>Connections (and HTTP requests) served at once; more are answered Busy.</summary>
    public const int MaxConcurrent = 32;
    /// <summary>Nodes a message is queued for at once.</summary>
    private const int Throttle = 16;

    private readonly StewardClient _client;
    private readonly Action<StewardLogLevel, string> _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _slots = new(MaxConcurrent, MaxConcurrent);
    private readonly List<Task> _loops = [];
    private Socket? _unix;
    private Socket? _tcp;
    private HttpListener? _http;
    private int _disposed;

    /// <summary>The unix socket's path, when it listens.</summary>
    public string? SocketPath { get; private set; }
    /// <summary>The TCP listener's bound endpoint (its port when 0 was configured).</summary>
    public IPEndPoint? TcpEndpoint { get; private set; }
    /// <summary>The HTTP listener's prefix, e.g. http://127.0.0.1:8090/.</summary>
    public string? HttpPrefix { get; private set; }

    private StewardInputListener(StewardClient client, Action<StewardLogLevel, string> log)
    {
        _client = client; _log = log;
    }

    /// <summary>Starts the inputs <paramref name="config"/>'s steward section configures; null when none is.
    /// Throws <see cref="StewardUnavailableException"/> when one cannot listen (address in use, a socket path taken).</summary>
    public static Task<StewardInputListener?> StartAsync(RemoteOpsConfig config, string node, string dataDirectory, StewardStore store,
        SigningKey key, Action<StewardLogLevel, string> log, CancellationToken ct)
    {
        _ = ct;
        var section = config.Steward;
        if (!section.Socket && section.TcpListener is null && section.HttpListener is null) return Task.FromResult<StewardInputListener?>(null);
        var listener = new StewardInputListener(new StewardClient(config, store, key, m => log(StewardLogLevel.Verbose, m)), log);
        try
        {
            if (section.Socket) listener.StartSocket(SocketPathFor(section, dataDirectory));
            if (section.TcpListener is { } tcp) listener.StartTcp(Endpoint(tcp, allowPortZero: true));
            if (section.HttpListener is { } http) listener.StartHttp(Endpoint(http, allowPortZero: false));
        }
        catch
        {
            listener.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
        log(StewardLogLevel.Information, $"Steward node {node} takes the seed's JSON messages on: {string.Join(", ", listener.Describe())}; they are signed as {node}.");
        return Task.FromResult<StewardInputListener?>(listener);
    }

    /// <summary>steward.sock in the node's data directory; a configured path ending in .sock is the socket itself, any
    /// other is the directory it goes in.</summary>
    public static string SocketPathFor(StewardConfig section, string dataDirectory) =>
        section.SocketPath is not { } p ? Path.Combine(dataDirectory, SocketFileName)
        : p.EndsWith(".sock", StringComparison.Ordinal) ? p : Path.Combine(p, SocketFileName);

    private static StewardInputEndpoint Endpoint(string text, bool allowPortZero) =>
        StewardInputEndpoint.TryParse(text, allowPortZero, out var e, out var problem) ? e : throw new StewardArgumentException(problem);

    private IEnumerable<string> Describe()
    {
        if (SocketPath is not null) yield return $"unix socket {SocketPath}";
        if (TcpEndpoint is not null) yield return $"TCP {TcpEndpoint}";
        if (HttpPrefix is not null) yield return $"HTTP POST {HttpPrefix}";
    }

    private void WarnIfOpen(string key, StewardInputEndpoint endpoint)
    {
        if (!endpoint.IsLoopback)
            _log(StewardLogLevel.Warning, $"steward.{key} {endpoint} is not a loopback address: whoever can reach it sends messages signed by this node. Bind 127.0.0.1 unless a firewall guards it.");
    }

    // ---- unix socket ----

    private void StartSocket(string path)
    {
        var directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(directory);
        if (File.Exists(path) || Directory.Exists(path)) RemoveStale(path);
        // Bound under a temporary name, made 600, then renamed into place: no moment where others may connect.
        var temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid().ToString("N")[..8]}");
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(temporary));
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.Move(temporary, path, overwrite: true);
            socket.Listen(64);
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            socket.Dispose();
            try { File.Delete(temporary); } catch (IOException) { }
            throw new StewardUnavailableException($"steward.socket: cannot listen on {path}: {e.Message}", e);
        }
        _unix = socket;
        SocketPath = path;
        _loops.Add(Task.Run(() => AcceptLoopAsync(socket, "socket")));
    }

    /// <summary>A socket file left by an agent that died: removed; one another agent listens on is not.</summary>
    private static void RemoveStale(string path)
    {
        var attributes = File.GetAttributes(path);
        if (attributes.HasFlag(FileAttributes.Directory))
            throw new StewardUnavailableException($"steward.socket: {path} is a directory; give the socket's directory, or a path ending in .sock.");
        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
                throw new StewardUnavailableException($"steward.socket: another agent listens on {path} already.");
            }
            catch (SocketException) { /* nobody listens: stale */ }
        }
        File.Delete(path);
    }

    // ---- TCP ----

    private void StartTcp(StewardInputEndpoint endpoint)
    {
        var socket = new Socket(endpoint.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint.Address.Equals(IPAddress.IPv6Any)) socket.DualMode = true;
            socket.Bind(new IPEndPoint(endpoint.Address, endpoint.Port));
            socket.Listen(64);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new StewardUnavailableException($"steward.tcp_listener: cannot listen on {endpoint}: {e.Message}", e);
        }
        _tcp = socket;
        TcpEndpoint = (IPEndPoint)socket.LocalEndPoint!;
        WarnIfOpen("tcp_listener", endpoint);
        _loops.Add(Task.Run(() => AcceptLoopAsync(socket, "TCP")));
    }

    private async Task AcceptLoopAsync(Socket listener, string input)
    {
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            Socket connection;
            try { connection = await listener.AcceptAsync(ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException e)
            {
                // A connection that failed before it was accepted (reset): the listener goes on.
                _log(StewardLogLevel.Verbose, $"Input {input}: accept failed ({e.SocketErrorCode}).");
                continue;
            }
            _ = Task.Run(() => ServeConnectionAsync(connection, input));
        }
    }

    private async Task ServeConnectionAsync(Socket connection, string input)
    {
        using (connection)
        await using (var stream = new NetworkStream(connection, ownsSocket: false))
        {
            IReadOnlyList<StewardInputReply> replies;
            if (!await _slots.WaitAsync(0).ConfigureAwait(false))
                replies = [StewardInputReply.Failure(StewardInputError.Busy, $"{MaxConcurrent} inputs are being served; try again.")];
            else
            {
                try
                {
                    using var read = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                    read.CancelAfter(StewardInputReader.ReadTimeout);
                    byte[] document;
                    try { document = await StewardInputReader.ReadDocumentAsync(stream, StewardInputReader.MaxDocumentBytes, read.Token).ConfigureAwait(false); }
                    catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
                    {
                        throw new StewardInputException(StewardInputError.ReadTimeout, $"No complete JSON document within {Duration.Format(StewardInputReader.ReadTimeout)}.");
                    }
                    replies = await HandleAsync(document, input, _stop.Token).ConfigureAwait(false);
                }
                catch (StewardInputException e) { replies = [Refuse(e, input)]; }
                catch (OperationCanceledException) { return; }
                catch (IOException) { return; }
                catch (SocketException) { return; }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // Anything else (the agent stopping under it): the sender is told, and the listener goes on.
                    replies = [Refuse(new StewardInputException(StewardInputError.Unavailable, $"Not queued: {e.GetType().Name}: {UntrustedText.Clean(e.Message)}"), input)];
                }
                finally { _slots.Release(); }
            }
            try
            {
                var text = Encoding.UTF8.GetBytes(string.Concat(replies.Select(r => r.ToJson() + "\n")));
                await stream.WriteAsync(text, _stop.Token).ConfigureAwait(false);
                await stream.FlushAsync(_stop.Token).ConfigureAwait(false);
                connection.Shutdown(SocketShutdown.Send);
                // What the sender still sends (the rest of a refused document) is read and dropped until it closes: a TCP
                // close with unread data resets the connection, and the sender would lose its answer.
                using var drain = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                drain.CancelAfter(TimeSpan.FromSeconds(5));
                var sink = new byte[16 * 1024];
                long dropped = 0;
                while (dropped < 64L * StewardInputReader.MaxDocumentBytes && await stream.ReadAsync(sink, drain.Token).ConfigureAwait(false) is var n and > 0)
                    dropped += n;
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The sender went away before reading its answer: what was queued stays queued.
            }
        }
    }

    private StewardInputReply Refuse(StewardInputException e, string input)
    {
        _log(StewardLogLevel.Information, $"Input {input}: refused ({e.Error}): {e.Message}");
        return StewardInputReply.Failure(e.Error, e.Message);
    }

    // ---- HTTP ----

    private void StartHttp(StewardInputEndpoint endpoint)
    {
        // HttpListener (in the BCL, no dependency) matches the request's Host against the prefix: + takes any.
        var host = endpoint.IsAny ? "+" : endpoint.Host.Contains(':') ? $"[{endpoint.Host}]" : endpoint.Host;
        var prefix = $"http://{host}:{endpoint.Port}/";
        var http = new HttpListener { IgnoreWriteExceptions = true };
        http.Prefixes.Add(prefix);
        try { http.Start(); }
        catch (HttpListenerException e)
        {
            ((IDisposable)http).Dispose();
            throw new StewardUnavailableException($"steward.http_listener: cannot listen on {endpoint}: {e.Message}", e);
        }
        _http = http;
        HttpPrefix = prefix;
        WarnIfOpen("http_listener", endpoint);
        _loops.Add(Task.Run(() => HttpLoopAsync(http)));
    }

    private async Task HttpLoopAsync(HttpListener http)
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try { context = await http.GetContextAsync().ConfigureAwait(false); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                if (_stop.IsCancellationRequested || !http.IsListening) return;
                continue;
            }
            _ = Task.Run(() => ServeHttpAsync(context));
        }
    }

    private async Task ServeHttpAsync(HttpListenerContext context)
    {
        var response = context.Response;
        IReadOnlyList<StewardInputReply> replies;
        var status = 200;
        if (!await _slots.WaitAsync(0).ConfigureAwait(false))
        {
            replies = [StewardInputReply.Failure(StewardInputError.Busy, $"{MaxConcurrent} inputs are being served; try again.")];
            status = 503;
        }
        else
        {
            try
            {
                if (!string.Equals(context.Request.HttpMethod, "POST", StringComparison.OrdinalIgnoreCase))
                {
                    response.AddHeader("Allow", "POST");
                    throw new StewardInputException(StewardInputError.MethodNotAllowed, $"{UntrustedText.Clean(context.Request.HttpMethod)} is not taken: POST the JSON messages.");
                }
                if (context.Request.ContentLength64 > StewardInputReader.MaxDocumentBytes)
                    throw new StewardInputException(StewardInputError.TooLarge, $"The document is larger than {StewardInputReader.MaxDocumentBytes} bytes; send fewer messages at once.");
                using var read = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                read.CancelAfter(StewardInputReader.ReadTimeout);
                byte[] document;
                try { document = StewardInputReader.ReadDocument(await ReadBodyAsync(context.Request.InputStream, read.Token).ConfigureAwait(false)); }
                catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
                {
                    throw new StewardInputException(StewardInputError.ReadTimeout, $"No complete JSON document within {Duration.Format(StewardInputReader.ReadTimeout)}.");
                }
                replies = await HandleAsync(document, "HTTP", _stop.Token).ConfigureAwait(false);
            }
            catch (StewardInputException e)
            {
                replies = [Refuse(e, "HTTP")];
                status = e.Error switch
                {
                    StewardInputError.MethodNotAllowed => 405,
                    StewardInputError.TooLarge => 413,
                    StewardInputError.ReadTimeout => 408,
                    _ => 400,
                };
            }
            catch (Exception e) when (e is OperationCanceledException or HttpListenerException or IOException or ObjectDisposedException)
            {
                try { response.Abort(); } catch (Exception) { }
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                replies = [Refuse(new StewardInputException(StewardInputError.Unavailable, $"Not queued: {e.GetType().Name}: {UntrustedText.Clean(e.Message)}"), "HTTP")];
                status = 503;
            }
            finally { _slots.Release(); }
        }
        try
        {
            var body = Encoding.UTF8.GetBytes(string.Concat(replies.Select(r => r.ToJson() + "\n")));
            response.StatusCode = status;
            response.ContentType = "application/x-ndjson; charset=utf-8";
            response.ContentLength64 = body.Length;
            await response.OutputStream.WriteAsync(body, _stop.Token).ConfigureAwait(false);
            response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            try { response.Abort(); } catch (Exception) { }
        }
    }

    /// <summary>The whole body (it has an end, unlike a socket's stream), at most one byte over the limit.</summary>
    private static async Task<byte[]> ReadBodyAsync(Stream body, CancellationToken ct)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int n;
        while (buffer.Length <= StewardInputReader.MaxDocumentBytes && (n = await body.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
            buffer.Write(chunk, 0, n);
        return buffer.ToArray();
    }

    // ---- the messages ----

    /// <summary>Parses the document (nothing is sent when any message is bad), then queues each message for its nodes:
    /// a line per node queued, an error line per node or pattern that was not.</summary>
    internal async Task<IReadOnlyList<StewardInputReply>> HandleAsync(byte[] document, string input, CancellationToken ct)
    {
        var requests = StewardInputReader.Parse(document);
        for (int i = 0; i < requests.Count; i++)
        {
            try { StewardClient.Check(requests[i], _client.Section); }
            catch (Exception e) when (e is StewardArgumentException or DestinationPatternException)
            {
                throw new StewardInputException(StewardInputError.InvalidMessage, $"Message {i}: {e.Message} Nothing was sent.");
            }
        }
        var replies = new List<StewardInputReply>();
        for (int i = 0; i < requests.Count; i++)
        {
            // Nobody waits on this connection for the reply: this node's agent runs the reply method, as for -NoWait.
            var request = requests[i] with { ReplyByAgent = true };
            StewardTargetSet set;
            try { set = await _client.ResolveTargetsAsync(request.Targets, ct).ConfigureAwait(false); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                replies.Add(StewardInputReply.Failure(StewardInputError.Unavailable, $"The node registry could not be read: {e.Message}", i));
                continue;
            }
            foreach (var (pattern, nodes) in set.Expansions)
                if (nodes.Count == 0)
                    replies.Add(StewardInputReply.Failure(StewardInputError.NoLiveNode, $"'{pattern}' matches no live node; nothing was sent for it.", i, pattern));
            if (set.Nodes.Count == 0) continue;
            var failed = new List<StewardInputReply>();
            IReadOnlyList<StewardRecord> sent;
            try
            {
                sent = await _client.SendAsync(request, set.Nodes, Throttle,
                    (node, e) => { lock (failed) failed.Add(StewardInputReply.Failure(StewardInputError.Unavailable, e.Message, i, node)); }, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                replies.AddRange(set.Nodes.Select(n => StewardInputReply.Failure(StewardInputError.Unavailable, e.Message, i, n)));
                continue;
            }
            foreach (var r in sent)
                replies.Add(new StewardInputReply { Index = i, Node = r.Node, MessageId = r.MessageId, Status = r.Status.ToString() });
            replies.AddRange(failed);
        }
        _log(StewardLogLevel.Verbose, $"Input {input}: {requests.Count} message(s), {replies.Count(r => r.MessageId is not null)} queued, {replies.Count(r => r.MessageId is null)} not.");
        return replies;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stop.Cancel();
        _unix?.Dispose();
        _tcp?.Dispose();
        if (_http is not null)
        {
            try { _http.Stop(); } catch (Exception) { }
            try { _http.Close(); } catch (Exception) { }
        }
        try { await Task.WhenAll(_loops).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); } catch (Exception) { }
        if (SocketPath is not null)
            try { File.Delete(SocketPath); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        // _stop is not disposed: a connection still finishing may read its token.
    }
}
