using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using RemoteOps.Config;
using YamlDotNet.RepresentationModel;

namespace RemoteOps.Herder;

/// <summary>How a minion or daemon is isolated: bubblewrap namespaces, or nothing (allowed only when the config says so).</summary>
public enum HerderSandboxKind { Bubblewrap, None }

/// <summary>The <c>herder:</c> section of the config file.</summary>
public sealed record HerderConfig : ConfigSection
{
    /// <summary>The seed's limit on a controlled minion, and the default timeout.</summary>
    public static readonly TimeSpan DefaultMaxTimeout = TimeSpan.FromSeconds(30);
    public const long DefaultMemoryLimit = 256L * 1024 * 1024;

    /// <summary>Configured environments (name → command run in the minion's directory), on top of the built-ins.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Environments { get; init; } = new Dictionary<string, IReadOnlyList<string>>();
    public HerderSandboxKind Sandbox { get; init; } = HerderSandboxKind.Bubblewrap;
    /// <summary>The longest a minion may run, and its timeout when none is given.</summary>
    public TimeSpan MaxTimeout { get; init; } = DefaultMaxTimeout;
    /// <summary>The memory a minion gets when none is given, in bytes; also the most it may ask for.</summary>
    public long MemoryLimit { get; init; } = DefaultMemoryLimit;
    /// <summary>Public keys (base58) whose tokens herder believes; nobody else may issue.</summary>
    public IReadOnlyList<string> TokenIssuers { get; init; } = [];
    /// <summary>Whether every run needs a token whose owner has credits left.</summary>
    public bool RequireToken { get; init; }
    /// <summary>Credits a running minion or daemon costs its owner per second.</summary>
    public int CreditsPerSecond { get; init; } = 1;
    /// <summary>The JetStream key-value bucket of owners' balances.</summary>
    public string LedgerBucket { get; init; } = "herder_ledger";
    /// <summary>The node agent's reverse proxy to daemons (<c>/daemon/&lt;name&gt;/…</c>) listens here; 0 = off.</summary>
    public int ProxyPort { get; init; }
    /// <summary>The Chromium golems run: a program name looked up in PATH, or a path (Debian's chromium package by default).</summary>
    public string Browser { get; init; } = DefaultBrowser;
    public const string DefaultBrowser = "chromium";
    /// <summary>How long a daemon's rotated logs (and the logs of a daemon that ended) are kept.</summary>
    public TimeSpan LogRetention { get; init; } = DefaultLogRetention;
    public static readonly TimeSpan DefaultLogRetention = TimeSpan.FromDays(7);

    public override void Describe(RemoteOpsConfigInfo info) => info.Herder = new RemoteOpsHerderInfo
    {
        Environments = Environments.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal), Sandbox = Sandbox.ToString(),
        MaxTimeout = MaxTimeout, MemoryLimit = MemoryLimit, TokenIssuers = TokenIssuers.ToArray(), RequireToken = RequireToken,
        CreditsPerSecond = CreditsPerSecond, LedgerBucket = LedgerBucket, ProxyPort = ProxyPort, Browser = Browser, LogRetention = LogRetention,
    };

    public bool Equals(HerderConfig? other) =>
        other is not null && Sandbox == other.Sandbox && MaxTimeout == other.MaxTimeout && MemoryLimit == other.MemoryLimit
        && TokenIssuers.SequenceEqual(other.TokenIssuers) && RequireToken == other.RequireToken
        && CreditsPerSecond == other.CreditsPerSecond && LedgerBucket == other.LedgerBucket
        && ProxyPort == other.ProxyPort
        && Browser == other.Browser
        && LogRetention == other.LogRetention
        && Environments.Count == other.Environments.Count
        && Environments.All(kv => other.Environments.TryGetValue(kv.Key, out var c) && c.SequenceEqual(kv.Value));

    public override int GetHashCode() => HashCode.Combine(Sandbox, MaxTimeout, MemoryLimit, Environments.Count);

    /// <summary>With herder.proxy_port set: whether this machine can run the proxy (the dotnet host, the ASP.NET Core
    /// runtime, the proxy in the module folder), and whether any token can pass it.</summary>
    public override IEnumerable<RemoteOpsConfigCheck> Check(RemoteOpsConfig config)
    {
        if (ProxyPort == 0) yield break;
        var launch = HerderProxyService.Locate(out var problem);
        yield return new RemoteOpsConfigCheck
        {
            Path = config.SourcePath, Check = "HerderProxy", Target = $"herder.proxy_port {ProxyPort}", Passed = launch is not null,
            Message = launch is not null ? $"the node agent can run the proxy: ASP.NET Core {launch.AspNetCoreVersion} beside {launch.Dotnet}." : problem,
        };
        if (TokenIssuers.Count == 0)
            yield return new RemoteOpsConfigCheck
            {
                Path = config.SourcePath, Check = "HerderProxy", Target = "herder.token_issuers", Passed = false,
                Message = "empty: the proxy refuses every request (401) until an issuer is listed.",
            };
    }
}

/// <summary>Reads <c>herder:</c> (environments, sandbox, max_timeout, memory_limit, token_issuers, require_token,
/// credits_per_second, ledger_bucket, proxy_port, browser, log_retention).</summary>
public sealed class HerderConfigReader : ConfigSectionReader<HerderConfig>
{
    public override string Tool => "herder";
    public override string? SectionName => "herder";
    public override IReadOnlyList<string> Keys { get; } =
        ["environments", "sandbox", "max_timeout", "memory_limit", "token_issuers", "require_token", "credits_per_second", "ledger_bucket", "proxy_port",
         "browser", "log_retention"];

    /// <summary>A second is the least a run can be given; a day is far past any short-lived minion.</summary>
    public static readonly TimeSpan MinTimeout = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxMaxTimeout = TimeSpan.FromDays(1);
    /// <summary>Less than 16 MiB and no interpreter starts; past 1 TiB is a typo.</summary>
    /// <summary>Less than a minute of logs helps nobody; past ten years is a typo.</summary>
    public static readonly TimeSpan MinLogRetention = TimeSpan.FromMinutes(1), MaxLogRetention = TimeSpan.FromDays(3650);
    public const long MinMemoryLimit = 16L * 1024 * 1024, MaxMemoryLimit = 1L << 40;

    protected override HerderConfig Read(HerderConfig current, string key, YamlNode value, ConfigReader reader) => key switch
    {
        "herder.environments" => current with { Environments = ReadEnvironments(value, key, reader) },
        "herder.sandbox" => current with { Sandbox = ReadSandbox(value, key, reader) },
        "herder.max_timeout" => current with { MaxTimeout = reader.Duration(value, key, MinTimeout, MaxMaxTimeout) },
        "herder.memory_limit" => current with { MemoryLimit = ReadBytes(value, key, reader) },
        "herder.token_issuers" => current with { TokenIssuers = reader.Sequence(value, key).Select(n => reader.PublicKey(n, key) ?? throw reader.Error(n, key, "empty entry.")).ToArray() },
        "herder.require_token" => current with { RequireToken = ReadBool(value, key, reader) },
        "herder.credits_per_second" => current with { CreditsPerSecond = reader.Int(value, key, 0, 1_000_000) },
        "herder.ledger_bucket" => current with { LedgerBucket = reader.BucketName(value, key) ?? current.LedgerBucket },
        "herder.proxy_port" => current with { ProxyPort = reader.Int(value, key, 0, 65535) },
        "herder.browser" => current with { Browser = reader.String(value, key) ?? HerderConfig.DefaultBrowser },
        "herder.log_retention" => current with { LogRetention = reader.Duration(value, key, MinLogRetention, MaxLogRetention) },
        _ => throw new ArgumentOutOfRangeException(nameof(key), key, "not a herder key"),
    };

    private static Dictionary<string, IReadOnlyList<string>> ReadEnvironments(YamlNode value, string key, ConfigReader reader)
    {
        var result = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase);
        if (value is YamlScalarNode { Value: null or "" }) return result;
        foreach (var (nameNode, commandNode) in reader.Mapping(value, key).Children)
        {
            var name = reader.Key(nameNode);
            if (!HerderEnvironments.TryValidateName(name, out var problem)) throw reader.Error(nameNode, key, problem);
            var command = reader.Sequence(commandNode, $"{key}.{name}")
                .Select(n => reader.String(n, $"{key}.{name}") ?? throw reader.Error(n, $"{key}.{name}", "empty command word.")).ToArray();
            if (command.Length == 0)
                throw reader.Error(commandNode, $"{key}.{name}", "give the command as a list, program first, e.g. [python3, main.py].");
            if (!result.TryAdd(name, command)) throw reader.Error(nameNode, key, $"the environment '{name}' is listed twice.");
        }
        return result;
    }

    private static HerderSandboxKind ReadSandbox(YamlNode value, string key, ConfigReader reader) => reader.String(value, key) switch
    {
        "bubblewrap" => HerderSandboxKind.Bubblewrap,
        "none" => HerderSandboxKind.None,
        var other => throw reader.Error(value, key, $"'{other}' is not a sandbox: give bubblewrap, or none to allow unsandboxed runs."),
    };

    private static bool ReadBool(YamlNode value, string key, ConfigReader reader) => reader.String(value, key)?.ToLowerInvariant() switch
    {
        "true" or "yes" or "on" => true,
        "false" or "no" or "off" => false,
        var other => throw reader.Error(value, key, $"'{other}' is not true or false."),
    };

    private static long ReadBytes(YamlNode value, string key, ConfigReader reader)
    {
        var text = reader.String(value, key);
        if (!long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var bytes)
            || bytes < MinMemoryLimit || bytes > MaxMemoryLimit)
            throw reader.Error(value, key, $"'{text}' is not a memory limit: give bytes, from {MinMemoryLimit} to {MaxMemoryLimit} (268435456 is 256 MiB).");
        return bytes;
    }

    // Registered when the assembly loads, before any config is read, so the loader never names the tool.
#pragma warning disable CA2255 // a library's module initializer is exactly what this is for
    [ModuleInitializer]
    internal static void Register() => ConfigSections.Register(new HerderConfigReader());
#pragma warning restore CA2255
}

/// <summary><c>config.Herder</c>, as the other tools' sections are reached.</summary>
public static class HerderConfigAccess
{
    extension([NotNull] RemoteOpsConfig config)
    {
        /// <summary>The <c>herder:</c> section; its defaults when the file has none.</summary>
        public HerderConfig Herder => config.Section<HerderConfig>();
    }
}
