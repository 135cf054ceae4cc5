using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using RemoteOps.Core.Tests.Remaphore;
using RemoteOps.Steward;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>The seed's input API on a real agent: the sender's agent listens on a unix socket, TCP and HTTP, signs
/// what comes in as itself and queues it; the node runs it and its result is in the results bucket. Bad input gets one
/// error line, and the listener serves the next sender.</summary>
public class StewardInputListenerTests(NatsFixture nats) : IClassFixture<NatsFixture>
{
    private static readonly string Node = StewardTestBed.NodeName;

    private async Task<(StewardTestBed Bed, StewardAgent Sender)> StartAsync()
    {
        var bed = new StewardTestBed(nats.Server.Url);
        await bed.StartAgentAsync();
        var section = bed.SenderConfig.Steward with
        {
            Socket = true, TcpListener = "127.0.0.1:0", HttpListener = $"127.0.0.1:{NatsServer.FreePort()}",
        };
        var sender = await bed.StartAgentAsync(bed.SenderConfig with { Sections = [section] });
        Assert.NotNull(sender.Input);
        return (bed, sender);
    }

    private static string CliCommand(string text) =>
        $$"""[{"toNode":"{{Node}}","method":"REQCliCommand","methodArgs":["sh","-c","echo {{text}}"],"ACKTimeout":10,"retries":3,"methodTimeout":20}]""";

    private static async Task<string[]> SendSocketAsync(EndPoint endpoint, byte[] body, bool closeWrite = false)
    {
        using var socket = endpoint is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await socket.ConnectAsync(endpoint, limit.Token);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        // Written on its own: the listener may answer (TooLarge) before the whole body is written.
        var writing = Task.Run(async () =>
        {
            try
            {
                await stream.WriteAsync(body, limit.Token);
                if (closeWrite) socket.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is IOException or SocketException) { }
        });
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(limit.Token);
        await writing;
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private static JsonElement Line(string line) => JsonDocument.Parse(line).RootElement.Clone();

    private static string QueuedId(string[] lines)
    {
        var line = Assert.Single(lines);
        var e = Line(line);
        Assert.True(e.GetProperty("status").GetString() == "Queued", line);
        Assert.Equal(Node, e.GetProperty("node").GetString());
        Assert.Equal(0, e.GetProperty("index").GetInt32());
        return e.GetProperty("messageId").GetString()!;
    }

    [Fact]
    public async Task A_message_on_the_unix_socket_runs_on_the_node_and_the_socket_is_mode_600()
    {
        var (bed, sender) = await StartAsync();
        await using var _ = bed;
        var path = sender.Input!.SocketPath!;
        Assert.Equal(Path.Combine(sender.DataDirectory, "steward.sock"), path);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));

        // No end of input: the document ends at its last bracket, as nc sends it.
        var id = QueuedId(await SendSocketAsync(new UnixDomainSocketEndPoint(path), Encoding.UTF8.GetBytes(CliCommand("from-the-socket"))));
        var record = await bed.AwaitAsync(id);
        Assert.True(record.Status == StewardStatus.Succeeded, $"{record.Status} {record.Error}");
        Assert.Equal("from-the-socket\n", record.Output);
        Assert.Equal(sender.PublicKey, record.Sender);
    }

    [Fact]
    public async Task Netcat_sends_a_message_file_to_the_socket_as_in_the_seed()
    {
        var nc = NatsServer.FindOnPath("nc");
        Assert.True(nc is not null, "nc (netcat-openbsd) is needed: .ci/run installs it");
        var (bed, sender) = await StartAsync();
        await using var _ = bed;
        var file = Path.Combine(bed.WorkDirectory, "toNode1-REQCliCommand.json");
        File.WriteAllText(file, CliCommand("from-netcat").Replace("[{", "[\n{\n").Replace(",\"", ",\n\"") + "\n");
        var psi = new ProcessStartInfo("sh", ["-c", $"\"$0\" -U \"$1\" < \"$2\"", nc!, sender.Input!.SocketPath!, file])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(process.ExitCode == 0, $"nc: exit {process.ExitCode}: {await stderr}");
        var id = QueuedId((await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var record = await bed.AwaitAsync(id);
        Assert.Equal("from-netcat\n", record.Output);
    }

    [Fact]
    public async Task TCP_and_HTTP_each_queue_a_Ping_that_the_node_answers()
    {
        var (bed, sender) = await StartAsync();
        await using var _ = bed;
        var ping = Encoding.UTF8.GetBytes($$"""{"toNode":"{{Node}}","method":"REQPing"}""");

        var tcpId = QueuedId(await SendSocketAsync(sender.Input!.TcpEndpoint!, ping));
        Assert.Equal("pong", (await bed.AwaitAsync(tcpId)).Output);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        using var response = await http.PostAsync(sender.Input.HttpPrefix, new ByteArrayContent(ping));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        var httpId = QueuedId(body.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("pong", (await bed.AwaitAsync(httpId)).Output);
        Assert.NotEqual(tcpId, httpId);

        // Two messages, the second to two nodes: a line per message and node.
        var many = Encoding.UTF8.GetBytes($$"""[{"toNode":"{{Node}}","method":"Ping"},{"toNodes":["{{Node}}","com.test.nobody"],"method":"Ping","ACKTimeout":1,"retries":0}]""");
        var lines = (await SendSocketAsync(sender.Input.TcpEndpoint!, many)).Select(Line).ToArray();
        Assert.Equal([0, 1, 1], lines.Select(l => l.GetProperty("index").GetInt32()));
        Assert.Equal([Node, Node, "com.test.nobody"], lines.Select(l => l.GetProperty("node").GetString()));
        Assert.All(lines, l => Assert.Equal("Queued", l.GetProperty("status").GetString()));
    }

    public static TheoryData<string> Inputs => ["socket", "tcp", "http"];

    [Theory]
    [MemberData(nameof(Inputs))]
    public async Task Bad_input_gets_one_error_line_and_the_listener_serves_the_next_sender(string input)
    {
        var (bed, sender) = await StartAsync();
        await using var _ = bed;
        var listener = sender.Input!;

        async Task<(string[] Lines, HttpStatusCode? Status)> Send(byte[] body, bool closeWrite = true)
        {
            switch (input)
            {
                case "socket": return (await SendSocketAsync(new UnixDomainSocketEndPoint(listener.SocketPath!), body, closeWrite), null);
                case "tcp": return (await SendSocketAsync(listener.TcpEndpoint!, body, closeWrite), null);
                default:
                    using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) })
                    {
                        HttpResponseMessage response;
                        try { response = await http.PostAsync(listener.HttpPrefix, new ByteArrayContent(body)); }
                        catch (HttpRequestException e) { throw new InvalidOperationException($"HTTP POST of {body.Length} bytes failed", e); }
                        using (response)
                            return ((await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries), response.StatusCode);
                    }
            }
        }

        async Task Refused(byte[] body, string error, string mentions, HttpStatusCode status)
        {
            var (lines, code) = await Send(body);
            var line = Assert.Single(lines);
            var e = Line(line);
            Assert.Equal("Error", e.GetProperty("status").GetString());
            Assert.True(e.GetProperty("error").GetString() == error, line);
            Assert.Contains(mentions, e.GetProperty("message").GetString());
            if (code is not null) Assert.Equal(status, code);
        }

        await Refused("[{\"toNode\": }"u8.ToArray(), "InvalidJson", "not valid JSON", HttpStatusCode.BadRequest);
        await Refused("[{\"toNode\": \"a\", \"method\": "u8.ToArray(), "InvalidJson", "not valid JSON", HttpStatusCode.BadRequest);
        await Refused(Encoding.UTF8.GetBytes($$"""[{"toNode":"{{Node}}","method":"Ping","retries":"three"}]"""), "InvalidMessage", "'retries'", HttpStatusCode.BadRequest);
        await Refused(Encoding.UTF8.GetBytes($$"""[{"toNode":"{{Node}}","method":"Ping","colour":"blue"}]"""), "InvalidMessage", "'colour'", HttpStatusCode.BadRequest);
        var tenThousand = "[" + string.Join(",", Enumerable.Repeat($$"""{"toNode":"{{Node}}","method":"Ping"}""", 10_000)) + "]";
        await Refused(Encoding.UTF8.GetBytes(tenThousand), "TooManyMessages", "10000 messages", HttpStatusCode.BadRequest);
        var huge = Encoding.UTF8.GetBytes($$"""[{"toNode":"{{Node}}","method":"Ping","data":["{{new string('x', 2 * StewardInputReader.MaxDocumentBytes)}}"]}]""");
        await Refused(huge, "TooLarge", "larger than", HttpStatusCode.RequestEntityTooLarge);
        await Refused("   \n"u8.ToArray(), "Empty", "empty", HttpStatusCode.BadRequest);
        // A body has an end: more after the document is refused (a stream's document ends at its last bracket).
        if (input == "http")
            await Refused(Encoding.UTF8.GetBytes($$"""{"toNode":"{{Node}}","method":"Ping"} {"toNode":"x"}"""), "ExtraData", "one object or one array", HttpStatusCode.BadRequest);

        // Nothing of those was queued, and the listener still serves.
        var (ok, status) = await Send(Encoding.UTF8.GetBytes($$"""[{"toNode":"{{Node}}","method":"Ping"}]"""), closeWrite: false);
        if (status is not null) Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("pong", (await bed.AwaitAsync(QueuedId(ok))).Output);
        var store = await bed.StoreAsync();
        var records = new List<StewardRecord>();
        await foreach (var r in store.ListAsync(default)) if (r.Record is { } record) records.Add(record);
        Assert.Single(records, r => r.Sender == sender.PublicKey);
    }

    [Fact]
    public async Task HTTP_answers_a_GET_with_405_and_the_listeners_stop_with_the_agent()
    {
        var (bed, sender) = await StartAsync();
        await using var _ = bed;
        var listener = sender.Input!;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        using (var response = await http.GetAsync(listener.HttpPrefix))
        {
            Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
            Assert.Contains("\"error\":\"MethodNotAllowed\"", await response.Content.ReadAsStringAsync());
        }
        var socketPath = listener.SocketPath!;
        var tcp = listener.TcpEndpoint!;
        await sender.StopAsync();
        Assert.False(File.Exists(socketPath));
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await Assert.ThrowsAsync<SocketException>(() => probe.ConnectAsync(tcp));
    }

    [Fact]
    public async Task Binding_beyond_loopback_is_logged_as_a_warning_and_loopback_is_not()
    {
        await using var bed = new StewardTestBed(nats.Server.Url);
        var open = bed.SenderConfig.Steward with { TcpListener = "0.0.0.0:0" };
        var sender = await bed.StartAgentAsync(bed.SenderConfig with { Sections = [open] });
        Assert.Contains("Warning: steward.tcp_listener 0.0.0.0:0 is not a loopback address", bed.LogText);
        Assert.Null(sender.Input!.SocketPath);
        Assert.Null(sender.Input.HttpPrefix);
        await sender.StopAsync();

        await using var quiet = new StewardTestBed(nats.Server.Url);
        var loopback = quiet.SenderConfig.Steward with { TcpListener = "127.0.0.1:0", HttpListener = $"localhost:{NatsServer.FreePort()}" };
        await quiet.StartAgentAsync(quiet.SenderConfig with { Sections = [loopback] });
        Assert.DoesNotContain("not a loopback", quiet.LogText);
        Assert.Contains("takes the seed's JSON messages on: TCP 127.0.0.1:", quiet.LogText);
    }

    [Fact]
    public async Task A_socket_left_by_a_dead_agent_is_replaced_and_a_listening_one_is_not()
    {
        await using var bed = new StewardTestBed(nats.Server.Url);
        var dir = Path.Combine(bed.WorkDirectory, "sock");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "steward.sock");
        // A socket file nobody listens on any more, as a killed agent leaves it (.NET removes its own on dispose).
        using (var python = Process.Start("python3", ["-c", "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", path]))
            await python.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(File.Exists(path));
        var section = bed.SenderConfig.Steward with { Socket = true, SocketPath = dir };
        var sender = await bed.StartAgentAsync(bed.SenderConfig with { Sections = [section] });
        Assert.Equal(path, sender.Input!.SocketPath);

        var again = bed.SenderConfig.Steward with { Socket = true, SocketPath = path };
        var e = await Assert.ThrowsAsync<StewardUnavailableException>(() =>
            StewardAgent.StartAsync(bed.SenderConfig with { Sections = [again] }, "com.test.other", null, default));
        Assert.Contains("listens on", e.Message);
    }
}
