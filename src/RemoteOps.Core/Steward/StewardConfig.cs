using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using RemoteOps.Config;
using RemoteOps.Messaging;
using YamlDotNet.RepresentationModel;

namespace RemoteOps.Steward;

/// <summary>The <c>steward:</c> section of the config file. Ranges (enforced by <see cref="StewardConfigReader"/>):
/// ack_timeout 100ms–1h, retries 0–100, method_timeout 100ms–1d, max_output 1 KiB–64 MiB.</summary>
public sealed record StewardConfig : ConfigSection
{
    /// <summary>The node that receives error reports; null: none.</summary>
    public string? Central { get; init; }
    /// <summary>The JetStream stream of the durable queue.</summary>
    public string Stream { get; init; } = "steward";
    /// <summary>The key-value bucket of status and results, keyed by message id.</summary>
    public string ResultsBucket { get; init; } = "steward_results";
    /// <summary>The key-value bucket of the node registry (each agent writes its own presence).</summary>
    public string NodesBucket { get; init; } = "steward_nodes";
    /// <summary>How often an agent rewrites its presence in the node registry; a node is offline after three.</summary>
    public TimeSpan HelloInterval { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>The agent's local store; null means <see cref="DefaultDataDirectory"/>.</summary>
    public string? DataDirectory { get; init; }
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(5);
    public int Retries { get; init; } = 3;
    public TimeSpan MethodTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public int MaxOutput { get; init; } = 1024 * 1024;
    /// <summary>The pwsh worker that runs PwshScript, as a command line (e.g. [dotnet, pwsh]); null: the pwsh running the
    /// agent, else pwsh from PATH.</summary>
    public IReadOnlyList<string>? PwshCommand { get; init; }
    /// <summary>How many warm pwsh workers wait for PwshScript (0: each script starts its own).</summary>
    public int PwshWorkers { get; init; } = 2;
    /// <summary>The methods this node serves and, for each, the senders allowed: peer destinations, or "*" for every
    /// configured peer. A method not listed is not served.</summary>
    public IReadOnlyDictionary<StewardMethod, IReadOnlyList<string>> Methods { get; init; } = new Dictionary<StewardMethod, IReadOnlyList<string>>();
    /// <summary>The seed's unix socket input (<c>steward.socket</c>): off unless true or a path.</summary>
    public bool Socket { get; init; }
    /// <summary>Where the socket goes: a directory (steward.sock in it) or a path ending in .sock; null: the node's data directory.</summary>
    public string? SocketPath { get; init; }
    /// <summary>The seed's TCP input (<c>steward.tcp_listener</c>), host:port; null: off.</summary>
    public string? TcpListener { get; init; }
    /// <summary>The seed's HTTP input (<c>steward.http_listener</c>), host:port, taking POST; null: off.</summary>
    public string? HttpListener { get; init; }

    // ---- fleet governors (Invoke-StewardMethod -Governor) ----
    /// <summary>Governors this config defines, name → capacity: written to the governors bucket by the first agent or
    /// sender that needs one missing there (the bucket's definition wins once it exists).</summary>
    public IReadOnlyDictionary<string, int> Governors { get; init; } = new Dictionary<string, int>();
    /// <summary>The key-value bucket of governor definitions and held slots.</summary>
    public string GovernorsBucket { get; init; } = "steward_governors";
    /// <summary>How long a held slot outlives its holder's last renewal (renewed every third of it while the method runs):
    /// the slot of a dead agent is free again after at most this plus allow_skew.</summary>
    public TimeSpan GovernorTimeout { get; init; } = TimeSpan.FromSeconds(30);
    // ---- audit log and metrics (issue 10) ----
    /// <summary>steward.audit_log: null (unset): on for the agent (audit.jsonl in its own data folder), off for clients;
    /// false: off for both; true: on for both at their default paths; a path: on for both, in that file.</summary>
    public bool? AuditLog { get; init; }
    /// <summary>The file steward.audit_log names, when it names one.</summary>
    public string? AuditPath { get; init; }
    /// <summary>steward.audit_max_size: bytes an audit file grows to before it is rotated.</summary>
    public long AuditMaxSize { get; init; } = 10L * 1024 * 1024;
    /// <summary>steward.audit_keep: rotated audit files kept (audit.1.jsonl … audit.N.jsonl), beside the current one.</summary>
    public int AuditKeep { get; init; } = 5;
    /// <summary>steward.metrics: host:port the agent serves Prometheus metrics on (/metrics); null: off.</summary>
    public string? Metrics { get; init; }

    public override void Describe(RemoteOpsConfigInfo info) => info.Steward = new RemoteOpsStewardInfo
    {
        Central = Central, Stream = Stream, ResultsBucket = ResultsBucket, NodesBucket = NodesBucket, GovernorsBucket = GovernorsBucket,
        DataDirectory = EffectiveDataDirectory, HelloInterval = HelloInterval, AckTimeout = AckTimeout, Retries = Retries,
        MethodTimeout = MethodTimeout, MaxOutput = MaxOutput, PwshCommand = PwshCommand?.ToArray() ?? [], PwshWorkers = PwshWorkers,
        Methods = Methods.ToDictionary(m => m.Key.ToString(), m => m.Value.ToArray(), StringComparer.Ordinal),
        Governors = Governors.ToDictionary(g => g.Key, g => g.Value, StringComparer.Ordinal), GovernorTimeout = GovernorTimeout,
        Socket = Socket, SocketPath = SocketPath, TcpListener = TcpListener, HttpListener = HttpListener,
        AuditLog = AuditLog, AuditPath = AuditPath, AuditMaxSize = AuditMaxSize, AuditKeep = AuditKeep, Metrics = Metrics,
    };

    /// <summary>The data directory in effect.</summary>
    public string EffectiveDataDirectory => DataDirectory ?? DefaultDataDirectory();

    /// <summary>A per-user state directory: $XDG_STATE_HOME/remoteops/steward (else ~/.local/state/remoteops/steward)
    /// on Unix, %LOCALAPPDATA%\RemoteOps\steward on Windows.</summary>
    public static string DefaultDataDirectory()
    {
        if (OperatingSystem.IsWindows())
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "RemoteOps", "steward");
        var state = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        // The XDG spec ignores a relative XDG_STATE_HOME.
        if (string.IsNullOrEmpty(state) || !Path.IsPathRooted(state))
            state = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
        return Path.Combine(state, "remoteops", "steward");
    }

    /// <summary>True when this node serves <paramref name="method"/> (it is listed under methods:).</summary>
    public bool Serves(StewardMethod method) => Methods.ContainsKey(method);

    /// <summary>Whether this node runs <paramref name="method"/> for the peer with key <paramref name="sender"/>: the method
    /// is listed and the sender is among its resolved keys. Not TrustStore.IsAuthorized, which lets anyone use a scope
    /// with no keys (seaport's "no authorized list" meaning): for steward, no key means nobody.</summary>
    public static bool IsAllowed(StewardConfig section, Identity.TrustStore trust, StewardMethod method, string sender) =>
        section.Serves(method) && trust.Granted(StewardMethods.TrustScope(method)).Contains(sender);

    /// <summary>Every listed method grants the scope "steward.&lt;Method&gt;" to the public keys of the peers its
    /// <c>allowed</c> names: a destination grants the keys of the peers with that destination, '*' every configured
    /// peer's key, and a destination no peer has grants nothing. A listed method whose senders resolve to no key is then
    /// refused to everyone (an empty grant), while an unlisted method has no scope at all: check <see cref="Serves"/>
    /// first, since the trust store lets anyone use a scope nobody was granted.</summary>
    public override IEnumerable<KeyValuePair<string, IReadOnlyList<string>>> TrustGrantsFor(RemoteOpsConfig config) =>
        Methods.Select(m => KeyValuePair.Create(StewardMethods.TrustScope(m.Key), ResolveSenders(m.Value, config.Peers)));

    /// <summary>The public keys of the peers <paramref name="allowed"/> names.</summary>
    public static IReadOnlyList<string> ResolveSenders(IReadOnlyList<string> allowed, IReadOnlyList<PeerConfig> peers)
    {
        var everyone = allowed.Contains(StewardConfigReader.AnyPeer);
        return peers.Where(p => everyone || allowed.Contains(p.Destination, StringComparer.Ordinal))
                    .Select(p => p.Public).Distinct(StringComparer.Ordinal).ToArray();
    }

    // The record's generated equality would compare the method map by reference.
    public bool Equals(StewardConfig? other) =>
        other is not null && Central == other.Central && Stream == other.Stream && ResultsBucket == other.ResultsBucket
        && NodesBucket == other.NodesBucket && HelloInterval == other.HelloInterval
        && DataDirectory == other.DataDirectory && AckTimeout == other.AckTimeout && Retries == other.Retries
        && MethodTimeout == other.MethodTimeout && MaxOutput == other.MaxOutput
        && (PwshCommand ?? []).SequenceEqual(other.PwshCommand ?? [])
        && AuditLog == other.AuditLog && AuditPath == other.AuditPath && AuditMaxSize == other.AuditMaxSize && AuditKeep == other.AuditKeep && Metrics == other.Metrics
        && Socket == other.Socket && SocketPath == other.SocketPath && TcpListener == other.TcpListener && HttpListener == other.HttpListener
        && PwshWorkers == other.PwshWorkers
        && Methods.Count == other.Methods.Count
        && Methods.All(m => other.Methods.TryGetValue(m.Key, out var allowed) && allowed.SequenceEqual(m.Value))
        && GovernorsBucket == other.GovernorsBucket && GovernorTimeout == other.GovernorTimeout
        && Governors.Count == other.Governors.Count && Governors.All(g => other.Governors.TryGetValue(g.Key, out var c) && c == g.Value);

    public override int GetHashCode() => HashCode.Combine(Central, Stream, ResultsBucket, DataDirectory, AckTimeout, Retries, MethodTimeout, MaxOutput);
}

/// <summary>Reads <c>steward:</c> (central, stream, results_bucket, data_directory, ack_timeout, retries,
/// method_timeout, max_output, methods).</summary>
public sealed class StewardConfigReader : ConfigSectionReader<StewardConfig>
{
    public override string Tool => "steward";
    public override string? SectionName => "steward";
    public override IReadOnlyList<string> Keys { get; } =
        ["central", "stream", "results_bucket", "nodes_bucket", "hello_interval", "data_directory", "ack_timeout", "retries", "method_timeout", "max_output", "methods", "pwsh_command",
         "governors", "governors_bucket", "governor_timeout",
         "audit_log", "audit_max_size", "audit_keep", "metrics",
         "socket", "tcp_listener", "http_listener",
         "pwsh_workers"];

    /// <summary>The allowed entry that means every configured peer.</summary>
    public const string AnyPeer = "*";

    /// <summary>An ack faster than 100ms is lost to ordinary latency; one slower than an hour is not an ack timeout.</summary>
    public static readonly TimeSpan MinAckTimeout = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan MaxAckTimeout = TimeSpan.FromHours(1);
    public const int MaxRetries = 100;
    /// <summary>A method runs for at least 100ms and at most a day (streaming methods run exactly this long).</summary>
    public static readonly TimeSpan MinMethodTimeout = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan MaxMethodTimeout = TimeSpan.FromDays(1);
    /// <summary>Results live in a key-value bucket: at least 1 KiB, at most 64 MiB (the server's largest payload).</summary>
    public const int MinMaxOutput = 1024;
    public const int MaxMaxOutput = 64 * 1024 * 1024;
    /// <summary>Each warm worker is a waiting pwsh process (tens of MB): a few are plenty.</summary>
    public const int MaxPwshWorkers = 64;
    /// <summary>A JetStream stream name: like a bucket name, letters, digits, _ and -.</summary>
    private const string MethodsKey = "steward.methods";

    protected override StewardConfig Read(StewardConfig current, string key, YamlNode value, ConfigReader reader) => key switch
    {
        "steward.central" => current with { Central = reader.DestinationName(value, key) },
        "steward.stream" => current with { Stream = reader.BucketName(value, key) ?? current.Stream },
        "steward.results_bucket" => current with { ResultsBucket = reader.BucketName(value, key) ?? current.ResultsBucket },
        "steward.nodes_bucket" => current with { NodesBucket = reader.BucketName(value, key) ?? current.NodesBucket },
        "steward.hello_interval" => current with { HelloInterval = reader.Duration(value, key, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1)) },
        "steward.data_directory" => current with { DataDirectory = reader.PathValue(value, key) },
        "steward.ack_timeout" => current with { AckTimeout = reader.Duration(value, key, MinAckTimeout, MaxAckTimeout) },
        "steward.retries" => current with { Retries = reader.Int(value, key, 0, MaxRetries) },
        "steward.method_timeout" => current with { MethodTimeout = reader.Duration(value, key, MinMethodTimeout, MaxMethodTimeout) },
        "steward.max_output" => current with { MaxOutput = reader.Int(value, key, MinMaxOutput, MaxMaxOutput) },
        "steward.pwsh_command" => current with { PwshCommand = ReadPwshCommand(value, key, reader) },
        "steward.pwsh_workers" => current with { PwshWorkers = reader.Int(value, key, 0, MaxPwshWorkers) },
        MethodsKey => current with { Methods = ReadMethods(value, reader) },
        "steward.governors" => current with { Governors = ReadGovernors(value, reader) },
        "steward.governors_bucket" => current with { GovernorsBucket = reader.BucketName(value, key) ?? current.GovernorsBucket },
        "steward.governor_timeout" => current with { GovernorTimeout = reader.Duration(value, key, StewardGovernors.MinTimeout, StewardGovernors.MaxTimeout) },
        "steward.audit_log" => ReadAuditLog(current, value, key, reader),
        "steward.audit_max_size" => current with { AuditMaxSize = reader.Int(value, key, StewardAuditLog.MinMaxSize, int.MaxValue) },
        "steward.audit_keep" => current with { AuditKeep = reader.Int(value, key, 0, StewardAuditLog.MaxKeep) },
        "steward.metrics" => current with { Metrics = ReadEndpoint(value, key, reader) },
        "steward.socket" => ReadSocket(current, value, key, reader),
        "steward.tcp_listener" => current with { TcpListener = ReadListener(value, key, reader, allowPortZero: true) },
        "steward.http_listener" => current with { HttpListener = ReadListener(value, key, reader, allowPortZero: false) },
        _ => throw new ArgumentOutOfRangeException(nameof(key), key, "not a steward key"),
    };

    private static StewardConfig ReadAuditLog(StewardConfig current, YamlNode value, string key, ConfigReader reader)
    {
        if (value is YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain, Value: { } flag } && bool.TryParse(flag, out var on))
            return current with { AuditLog = on, AuditPath = null };
        return reader.PathValue(value, key) is { } path ? current with { AuditLog = true, AuditPath = path } : current with { AuditLog = null, AuditPath = null };
    }

    private static string? ReadEndpoint(YamlNode value, string key, ConfigReader reader)
    {
        if (reader.String(value, key) is not { } text) return null;
        return StewardMetricsEndpoint.TryParse(text, out var endpoint, out var problem) ? endpoint.ToString() : throw reader.Error(value, key, problem);
    }

    /// <summary>true / false, or a path: a directory for steward.sock, or the socket's own path when it ends in .sock.</summary>
    private static StewardConfig ReadSocket(StewardConfig current, YamlNode value, string key, ConfigReader reader)
    {
        var text = reader.String(value, key);
        if (text is null || text.Equals("false", StringComparison.OrdinalIgnoreCase) || text.Equals("no", StringComparison.OrdinalIgnoreCase))
            return current with { Socket = false, SocketPath = null };
        if (text.Equals("true", StringComparison.OrdinalIgnoreCase) || text.Equals("yes", StringComparison.OrdinalIgnoreCase))
            return current with { Socket = true, SocketPath = null };
        return current with { Socket = true, SocketPath = reader.PathValue(value, key) };
    }

    private static string? ReadListener(YamlNode value, string key, ConfigReader reader, bool allowPortZero)
    {
        var text = reader.String(value, key);
        if (text is null) return null;
        if (!StewardInputEndpoint.TryParse(text, allowPortZero, out _, out var problem)) throw reader.Error(value, key, problem);
        return text;
    }

    private static IReadOnlyList<string>? ReadPwshCommand(YamlNode value, string key, ConfigReader reader)
    {
        if (value is YamlScalarNode { Value: null or "" }) return null;
        var command = reader.StringList(value, key);
        if (command.Count == 0 || command.Any(string.IsNullOrWhiteSpace))
            throw reader.Error(value, key, "expected a command line as a list, e.g. [dotnet, pwsh] or [/usr/bin/pwsh].");
        return command;
    }

    private static Dictionary<StewardMethod, IReadOnlyList<string>> ReadMethods(YamlNode value, ConfigReader reader)
    {
        var methods = new Dictionary<StewardMethod, IReadOnlyList<string>>();
        if (value is YamlScalarNode { Value: null or "" }) return methods;
        foreach (var (nameNode, grant) in reader.Mapping(value, MethodsKey).Children)
        {
            var name = reader.Key(nameNode);
            var key = $"{MethodsKey}.{name}";
            if (!StewardMethods.TryParse(name, out var method))
                throw reader.Error(nameNode, key, $"'{name}' is not a steward method; expected one of: {StewardMethods.Known}.");
            if (methods.ContainsKey(method))
                throw reader.Error(nameNode, key, $"{method} is listed twice (names are case-insensitive, with or without REQ).");
            IReadOnlyList<string> allowed = [];
            foreach (var (k, v) in reader.Mapping(grant, key).Children)
            {
                var field = reader.Key(k);
                if (field != "allowed") throw reader.Unknown(k, $"{key}.{field}", ["allowed"]);
                allowed = reader.StringList(v, key + ".allowed");
                foreach (var sender in allowed)
                    if (sender != AnyPeer && !DestinationPattern.TryValidateName(sender, out var problem))
                        throw reader.Error(v, key + ".allowed", $"'{sender}' is neither a peer destination nor '*': {problem}");
            }
            methods[method] = allowed;
        }
        return methods;
    }

    /// <summary>steward.governors: a mapping of governor names (letters, digits, _ and -) to capacities (1–1000).</summary>
    private static Dictionary<string, int> ReadGovernors(YamlNode value, ConfigReader reader)
    {
        const string key = "steward.governors";
        var governors = new Dictionary<string, int>(StringComparer.Ordinal);
        if (value is YamlScalarNode { Value: null or "" }) return governors;
        foreach (var (nameNode, capacity) in reader.Mapping(value, key).Children)
        {
            var name = reader.Key(nameNode);
            if (!StewardGovernors.TryValidateName(name, out var problem))
                throw reader.Error(nameNode, $"{key}.{name}", $"'{name}' is not a governor name: {problem}.");
            if (governors.ContainsKey(name)) throw reader.Error(nameNode, $"{key}.{name}", $"governor '{name}' is listed twice.");
            governors[name] = reader.Int(capacity, $"{key}.{name}", 1, StewardGovernors.MaxCapacity);
        }
        return governors;
    }

    // Registered when the assembly loads, before any config is read, so the loader never names the tool.
#pragma warning disable CA2255 // a library's module initializer is exactly what this is for
    [ModuleInitializer]
    internal static void Register() => ConfigSections.Register(new StewardConfigReader());
#pragma warning restore CA2255
}

/// <summary><c>config.Steward</c>, as <c>config.Seaport</c>.</summary>
public static class StewardConfigAccess
{
    extension([NotNull] RemoteOpsConfig config)
    {
        /// <summary>The <c>steward:</c> section; its defaults when the file has none.</summary>
        public StewardConfig Steward => config.Section<StewardConfig>();
    }
}
