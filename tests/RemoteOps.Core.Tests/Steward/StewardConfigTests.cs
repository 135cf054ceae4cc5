using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Steward;

namespace RemoteOps.Core.Tests.Steward;

public class StewardConfigTests
{
    private static readonly string CentralKey = SigningKey.Generate().PublicBase58;
    private static readonly string OpsKey = SigningKey.Generate().PublicBase58;

    private static RemoteOpsConfig Parse(string yaml) => ConfigLoader.Parse(yaml, "/cfg/config.yaml");

    private static string Peers => $"""
        peers:
          - destination: com.acme.central
            public: {CentralKey}
          - destination: com.acme.ops
            public: {OpsKey}
        """;

    [Fact]
    public void The_issues_contract_example_reads()
    {
        var config = Parse($"""
            destination: com.acme.web1
            replicas: 3
            {Peers.Replace("\n", "\n")}
            steward:
              central: com.acme.central
              stream: steward
              results_bucket: steward_results
              data_directory: /var/lib/remoteops/steward
              ack_timeout: 5s
              retries: 3
              method_timeout: 10s
              max_output: 1048576
              methods:
                Ping:          {"{"} allowed: ['*'] {"}"}
                CliCommand:    {"{"} allowed: [com.acme.central] {"}"}
                TailFile:      {"{"} allowed: [com.acme.central, com.acme.ops] {"}"}
            """);
        Assert.Equal(3, config.Replicas);
        var s = config.Steward;
        Assert.Equal("com.acme.central", s.Central);
        Assert.Equal("/var/lib/remoteops/steward", s.EffectiveDataDirectory);
        Assert.Equal(TimeSpan.FromSeconds(5), s.AckTimeout);
        Assert.Equal(TimeSpan.FromSeconds(10), s.MethodTimeout);
        Assert.Equal(1048576, s.MaxOutput);
        Assert.True(s.Serves(StewardMethod.Ping));
        Assert.False(s.Serves(StewardMethod.HttpGet));

        var trust = new TrustStore(config.Peers, config.TrustGrants);
        Assert.True(trust.IsAuthorized("steward.Ping", CentralKey));
        Assert.True(trust.IsAuthorized("steward.Ping", OpsKey));
        Assert.True(trust.IsAuthorized("steward.CliCommand", CentralKey));
        Assert.False(trust.IsAuthorized("steward.CliCommand", OpsKey));
        Assert.True(trust.IsAuthorized("steward.TailFile", OpsKey));
        Assert.False(trust.IsAuthorized("steward.TailFile", SigningKey.Generate().PublicBase58));
    }

    [Fact]
    public void Defaults()
    {
        var config = Parse("servers: [nats://127.0.0.1:4222]");
        var s = config.Steward;
        Assert.Equal(1, config.Replicas);
        Assert.Equal(("steward", "steward_results", 3, 1048576), (s.Stream, s.ResultsBucket, s.Retries, s.MaxOutput));
        Assert.Equal((TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10)), (s.AckTimeout, s.MethodTimeout));
        Assert.Null(s.Central);
        Assert.Empty(s.Methods);
        Assert.EndsWith(Path.Combine("remoteops", "steward"), s.EffectiveDataDirectory, StringComparison.OrdinalIgnoreCase);
        Assert.True(Path.IsPathRooted(s.EffectiveDataDirectory));
    }

    [Fact]
    public void Method_names_go_through_the_catalogue()
    {
        var s = Parse("steward:\n  methods:\n    reqnclicommandcont: { allowed: [com.acme.central] }\n    REQPing: { allowed: ['*'] }\n").Steward;
        Assert.Equal([StewardMethod.Ping, StewardMethod.CliCommandCont], s.Methods.Keys.Order());
    }

    [Fact]
    public void A_listed_method_whose_senders_are_no_peer_is_refused_to_everyone()
    {
        var config = Parse(Peers + "\nsteward:\n  methods:\n    HttpGet: { allowed: [com.acme.nobody] }\n    Ping: { allowed: [] }\n");
        var trust = new TrustStore(config.Peers, config.TrustGrants);
        Assert.False(StewardConfig.IsAllowed(config.Steward, trust, StewardMethod.HttpGet, CentralKey));
        Assert.False(StewardConfig.IsAllowed(config.Steward, trust, StewardMethod.Ping, CentralKey));
        Assert.False(StewardConfig.IsAllowed(config.Steward, trust, StewardMethod.CliCommand, CentralKey)); // not listed
        Assert.True(StewardConfig.IsAllowed(Parse(Peers + "\nsteward:\n  methods:\n    Ping: { allowed: ['*'] }\n").Steward,
            TrustStore.For(Parse(Peers + "\nsteward:\n  methods:\n    Ping: { allowed: ['*'] }\n")), StewardMethod.Ping, OpsKey));
    }

    [Theory]
    [InlineData("steward:\n  ack_timeout: 50ms\n", "steward.ack_timeout")]
    [InlineData("steward:\n  ack_timeout: 2h\n", "steward.ack_timeout")]
    [InlineData("steward:\n  retries: 101\n", "steward.retries")]
    [InlineData("steward:\n  retries: -1\n", "steward.retries")]
    [InlineData("steward:\n  method_timeout: 2d\n", "steward.method_timeout")]
    [InlineData("steward:\n  max_output: 10\n", "steward.max_output")]
    [InlineData("steward:\n  max_output: 999999999\n", "steward.max_output")]
    [InlineData("steward:\n  stream: 'a b'\n", "steward.stream")]
    [InlineData("steward:\n  results_bucket: 'a.b'\n", "steward.results_bucket")]
    [InlineData("steward:\n  central: 'com.*'\n", "steward.central")]
    [InlineData("steward:\n  colour: red\n", "steward.colour")]
    [InlineData("steward:\n  methods:\n    Launch: { allowed: ['*'] }\n", "steward.methods.Launch")]
    [InlineData("steward:\n  methods:\n    Ping: { allowed: ['*'] }\n    REQPing: { allowed: ['*'] }\n", "steward.methods.REQPing")]
    [InlineData("steward:\n  methods:\n    Ping: { who: ['*'] }\n", "steward.methods.Ping.who")]
    [InlineData("steward:\n  methods:\n    Ping: { allowed: ['com.acme.*'] }\n", "steward.methods.Ping.allowed")]
    [InlineData("steward:\n  methods: [Ping]\n", "steward.methods")]
    [InlineData("steward:\n  pwsh_command: [dotnet, '']\n", "steward.pwsh_command")]
    [InlineData("steward:\n  pwsh_command: { a: b }\n", "steward.pwsh_command")]
    [InlineData("steward:\n  pwsh_workers: -1\n", "steward.pwsh_workers")]
    [InlineData("steward:\n  pwsh_workers: 65\n", "steward.pwsh_workers")]
    [InlineData("steward:\n  pwsh_workers: two\n", "steward.pwsh_workers")]
    [InlineData("replicas: 6\n", "replicas")]
    [InlineData("replicas: 0\n", "replicas")]
    public void A_broken_section_is_a_located_config_error(string yaml, string key)
    {
        var e = Assert.Throws<ConfigException>(() => Parse(yaml));
        Assert.Contains(key, e.Message);
    }

    [Fact]
    public void Pwsh_command_is_a_command_line_list_and_unset_by_default()
    {
        Assert.Null(Parse("steward:\n  retries: 1\n").Steward.PwshCommand);
        Assert.Equal(["dotnet", "pwsh"], Parse("steward:\n  pwsh_command: [dotnet, pwsh]\n").Steward.PwshCommand);
        Assert.Equal(["/opt/microsoft/powershell/7/pwsh"], Parse("steward:\n  pwsh_command: [/opt/microsoft/powershell/7/pwsh]\n").Steward.PwshCommand);
    }

    [Fact]
    public void Pwsh_workers_is_0_to_64_and_2_by_default()
    {
        Assert.Equal(2, Parse("steward:\n  retries: 1\n").Steward.PwshWorkers);
        Assert.Equal(0, Parse("steward:\n  pwsh_workers: 0\n").Steward.PwshWorkers);
        Assert.Equal(64, Parse("steward:\n  pwsh_workers: 64\n").Steward.PwshWorkers);
    }
}

/// <summary>The input API's keys: steward.socket (true, false or a path), steward.tcp_listener and
/// steward.http_listener (host:port), each off unless set; bad values are config errors naming the key.</summary>
public class StewardInputConfigTests
{
    private static StewardConfig Parse(string steward) => ConfigLoader.Parse($"steward:\n{steward}\n", "/cfg/config.yaml").Steward;

    [Fact]
    public void The_inputs_are_off_unless_set_and_read_as_written()
    {
        var off = Parse("  retries: 3");
        Assert.Equal((false, null, null, null), (off.Socket, off.SocketPath, off.TcpListener, off.HttpListener));
        Assert.Equal((true, (string?)null), (Parse("  socket: true").Socket, Parse("  socket: true").SocketPath));
        Assert.False(Parse("  socket: false").Socket);
        var custom = Parse("  socket: run/steward");
        Assert.Equal((true, "/cfg/run/steward"), (custom.Socket, custom.SocketPath));
        Assert.Equal("/run/x/steward.sock", StewardInputListener.SocketPathFor(custom with { SocketPath = "/run/x" }, "/data"));
        Assert.Equal("/run/x/api.sock", StewardInputListener.SocketPathFor(custom with { SocketPath = "/run/x/api.sock" }, "/data"));
        Assert.Equal("/data/steward.sock", StewardInputListener.SocketPathFor(Parse("  socket: true"), "/data"));
        Assert.Equal("127.0.0.1:8091", Parse("  tcp_listener: 127.0.0.1:8091").TcpListener);
        Assert.Equal("[::1]:8092", Parse("  http_listener: '[::1]:8092'").HttpListener);
        Assert.Equal("127.0.0.1:0", Parse("  tcp_listener: 127.0.0.1:0").TcpListener);
    }

    [Theory]
    [InlineData("tcp_listener: 127.0.0.1", "no port")]
    [InlineData("tcp_listener: 127.0.0.1:99999", "is not a port")]
    [InlineData("tcp_listener: web.example.com:80", "is not an IP address")]
    [InlineData("tcp_listener: ::1:80", "in brackets")]
    [InlineData("http_listener: 127.0.0.1:0", "is not a port")]
    [InlineData("socket: [a, b]", "single value")]
    public void A_bad_input_setting_is_a_config_error_naming_the_key(string line, string problem)
    {
        var key = line[..line.IndexOf(':')];
        var e = Assert.Throws<ConfigException>(() => Parse("  " + line));
        Assert.Contains($"steward.{key}", e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void Endpoints_say_whether_they_are_loopback()
    {
        bool Loopback(string text) => StewardInputEndpoint.TryParse(text, true, out var e, out _) && e.IsLoopback;
        Assert.True(Loopback("127.0.0.1:1"));
        Assert.True(Loopback("localhost:1"));
        Assert.True(Loopback("[::1]:1"));
        Assert.False(Loopback("0.0.0.0:1"));
        Assert.False(Loopback(":1"));
        Assert.False(Loopback("10.1.2.3:1"));
        Assert.True(StewardInputEndpoint.TryParse(":2112", false, out var any, out _) && any.IsAny);
    }
}
