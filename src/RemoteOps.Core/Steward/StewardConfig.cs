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
        && PwshWorkers == other.PwshWorkers
        && Methods.Count == other.Methods.Count
        && Methods.All(m => other.Methods.TryGetValue(m.Key, out var allowed) && allowed.SequenceEqual(m.Value));

    public override int GetHashCode() => HashCode.Combine(Central, Stream, ResultsBucket, DataDirectory, AckTimeout, Retries, MethodTimeout, MaxOutput);
}

/// <summary>Reads <c>steward:</c> (central, stream, results_bucket, data_directory, ack_timeout, retries,
/// method_timeout, max_output, methods).</summary>
public sealed class StewardConfigReader : ConfigSectionReader<StewardConfig>
{
    public override string Tool => "steward";
    public override string? SectionName => "steward";
    public override IReadOnlyList<string> Keys { get; } =
        ["central", "stream", "results_bucket", "nodes_bucket", "hello_interval", "data_directory", "ack_timeout", "retries", "method_timeout", "max_output", "methods", "pwsh_command", "pwsh_workers"];

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
        _ => throw new ArgumentOutOfRangeException(nameof(key), key, "not a steward key"),
    };

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
