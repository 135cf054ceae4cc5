using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace RemoteOps.Config;

/// <summary>Finds and reads the YAML config. Every problem becomes one <see cref="ConfigException"/>
/// naming the file, line and key, never a parser stack trace.</summary>
public static class ConfigLoader
{
    public const string EnvironmentVariable = "REMOTEOPS_CONFIG";

    /// <summary>The per-user default: ~/.config/remoteops/config.yaml, or %APPDATA%\RemoteOps\config.yaml on Windows.</summary>
    public static string DefaultPath =>
        OperatingSystem.IsWindows()
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData), "RemoteOps", "config.yaml")
            : Path.Combine(Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } xdg ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config"), "remoteops", "config.yaml");

    /// <summary>-ConfigPath, else $env:REMOTEOPS_CONFIG, else the per-user default.</summary>
    public static string ResolvePath(string? explicitPath) =>
        !string.IsNullOrEmpty(explicitPath) ? explicitPath
        : Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } env ? env
        : DefaultPath;

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, (DateTime WriteTime, long Length, RemoteOpsConfig Config)> Cache = new();

    /// <summary>As <see cref="Load"/>, but re-reads a file only when it changed (write time or length): a loop of
    /// 1,000 Send-Remaphore parses it once, and imports the peer keys it lists once. Warnings come with each (re)read.</summary>
    public static RemoteOpsConfig LoadCached(string? explicitPath, Action<string>? warn = null)
    {
        var file = new FileInfo(Path.GetFullPath(ResolvePath(explicitPath)));
        if (file.Exists && Cache.TryGetValue(file.FullName, out var cached) && cached.WriteTime == file.LastWriteTimeUtc && cached.Length == file.Length)
            return cached.Config;
        var config = Load(explicitPath, warn);
        if (file.Exists) Cache[file.FullName] = (file.LastWriteTimeUtc, file.Length, config);
        return config;
    }

    /// <summary>Loads the config at the resolved path. A missing default file yields the built-in defaults
    /// (local server, no identities); a missing file that was asked for by name is an error.</summary>
    public static RemoteOpsConfig Load(string? explicitPath, Action<string>? warn = null)
    {
        var path = Path.GetFullPath(ResolvePath(explicitPath));
        if (!File.Exists(path))
        {
            if (string.IsNullOrEmpty(explicitPath) && Environment.GetEnvironmentVariable(EnvironmentVariable) is not { Length: > 0 })
                return new RemoteOpsConfig { SourcePath = null };
            throw new ConfigException(path, 0, null, "the config file does not exist (New-RemoteOpsConfig writes one).");
        }
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(path, 0, null, e.Message);
        }
        return Parse(text, path, warn);
    }

    public static RemoteOpsConfig Parse(string yaml, string path, Action<string>? warn = null)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(yaml)); }
        catch (YamlException e) when (e.Message.StartsWith("Duplicate key ", StringComparison.Ordinal))
        {
            throw new ConfigException(path, (int)e.Start.Line, e.Message["Duplicate key ".Length..].Trim(), "the key appears more than once; give each key once (servers: takes a list).");
        }
        catch (YamlException e)
        {
            throw new ConfigException(path, (int)e.Start.Line, null, "not valid YAML: " + FirstLine(e.InnerException?.Message ?? e.Message));
        }
        var config = new RemoteOpsConfig { SourcePath = path };
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
            return config;
        var reader = new Reader(path);
        var root = reader.Mapping(stream.Documents[0].RootNode, "(top level)");
        int defaultIdentityLine = 0;
        foreach (var (keyNode, value) in root.Children)
        {
            var key = reader.Key(keyNode);
            switch (key)
            {
                case "servers": config.Servers = reader.StringList(value, key); break;
                case "server": config.Servers = reader.StringList(value, key); break;
                case "credentials": config.Credentials = reader.PathValue(value, key, path); break;
                case "nkey_seed_file": config.NkeySeedFile = reader.PathValue(value, key, path); break;
                case "user": config.User = reader.String(value, key); break;
                case "password": config.Password = reader.String(value, key); break;
                case "token": config.Token = reader.String(value, key); break;
                case "tls":
                    var tls = new TlsConfig();
                    foreach (var (k, v) in reader.Mapping(value, key).Children)
                    {
                        var tk = reader.Key(k);
                        switch (tk)
                        {
                            case "ca": tls.Ca = reader.PathValue(v, "tls.ca", path); break;
                            case "cert": tls.Cert = reader.PathValue(v, "tls.cert", path); break;
                            case "key": tls.Key = reader.PathValue(v, "tls.key", path); break;
                            default: throw reader.Unknown(k, "tls." + tk, "ca, cert, key");
                        }
                    }
                    config.Tls = tls;
                    break;
                case "subject": config.Subject = reader.Subject(value, key); break;
                case "destination": config.Destination = reader.String(value, key); break;
                case "allow_skew": config.AllowSkew = reader.Duration(value, key); break;
                case "default_identity":
                    config.DefaultIdentity = reader.PublicKey(value, key);
                    defaultIdentityLine = (int)value.Start.Line;
                    break;
                case "latch_bucket": config.LatchBucket = reader.String(value, key) ?? config.LatchBucket; break;
                case "max_payload": config.MaxPayload = reader.Int(value, key, 1, 8 * 1024 * 1024); break;
                case "identities":
                    foreach (var item in reader.Sequence(value, key))
                    {
                        var id = new IdentityConfig { Line = (int)item.Start.Line };
                        foreach (var (k, v) in reader.Mapping(item, key).Children)
                        {
                            var ik = reader.Key(k);
                            switch (ik)
                            {
                                case "public": id.Public = reader.PublicKey(v, "identities.public") ?? ""; break;
                                case "private": id.Private = reader.String(v, "identities.private"); break;
                                case "private_file": id.PrivateFile = reader.PathValue(v, "identities.private_file", path); break;
                                case "verbs": id.Verbs = reader.StringList(v, "identities.verbs"); break;
                                default: throw reader.Unknown(k, "identities." + ik, "public, private, private_file, verbs");
                            }
                        }
                        if (id.Public.Length == 0) throw new ConfigException(path, id.Line, "identities.public", "every identity needs a public key.");
                        if (id.Private is null && id.PrivateFile is null) throw new ConfigException(path, id.Line, "identities.private", "every identity needs private or private_file.");
                        if (id.PrivateFile is not null) CheckPrivateFile(id.PrivateFile, warn);
                        config.Identities.Add(id);
                    }
                    break;
                case "peers":
                    foreach (var item in reader.Sequence(value, key))
                    {
                        var peer = new PeerConfig { Line = (int)item.Start.Line };
                        foreach (var (k, v) in reader.Mapping(item, key).Children)
                        {
                            var pk = reader.Key(k);
                            switch (pk)
                            {
                                case "destination": peer.Destination = reader.String(v, "peers.destination") ?? ""; break;
                                case "public": peer.Public = reader.PublicKey(v, "peers.public") ?? ""; break;
                                case "verbs": peer.Verbs = reader.StringList(v, "peers.verbs"); break;
                                default: throw reader.Unknown(k, "peers." + pk, "destination, public, verbs");
                            }
                        }
                        if (peer.Public.Length == 0) throw new ConfigException(path, peer.Line, "peers.public", "every peer needs a public key.");
                        config.Peers.Add(peer);
                    }
                    break;
                case "seaport":
                    foreach (var (k, v) in reader.Mapping(value, key).Children)
                    {
                        var sk = reader.Key(k);
                        switch (sk)
                        {
                            case "bucket": config.Seaport.Bucket = reader.String(v, "seaport.bucket") ?? config.Seaport.Bucket; break;
                            case "heartbeat": config.Seaport.Heartbeat = reader.Duration(v, "seaport.heartbeat"); break;
                            case "timeout": config.Seaport.Timeout = reader.Duration(v, "seaport.timeout"); break;
                            case "range":
                                var range = reader.Sequence(v, "seaport.range").Select(n => reader.Int(n, "seaport.range", 1, 65535)).ToArray();
                                if (range.Length != 2 || range[0] > range[1])
                                    throw new ConfigException(path, (int)v.Start.Line, "seaport.range", "give two ports, low then high, e.g. [20000, 32767].");
                                config.Seaport.Range = range;
                                break;
                            case "authorized": config.Seaport.Authorized = reader.StringList(v, "seaport.authorized"); break;
                            default: throw reader.Unknown(k, "seaport." + sk, "bucket, heartbeat, timeout, range, authorized");
                        }
                    }
                    break;
                default:
                    throw reader.Unknown(keyNode, key, "servers, credentials, nkey_seed_file, user, password, token, tls, subject, destination, allow_skew, default_identity, identities, peers, latch_bucket, max_payload, seaport");
            }
        }
        if (config.Servers.Count == 0) throw new ConfigException(path, 0, "servers", "list at least one NATS server URL.");
        if (config.DefaultIdentity is { } defaultIdentity && config.Identities.All(i => i.Public != defaultIdentity))
            throw new ConfigException(path, defaultIdentityLine, "default_identity", $"{defaultIdentity} is not the public key of any of the identities.");
        return config;
    }

    /// <summary>Warns when a private key file can be read by group or others (Unix).</summary>
    public static void CheckPrivateFile(string file, Action<string>? warn)
    {
        if (warn is null || OperatingSystem.IsWindows() || !File.Exists(file)) return;
        var mode = File.GetUnixFileMode(file);
        if ((mode & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
            warn($"The private key file '{file}' is readable by other users (mode {Convert.ToString((int)mode, 8)}); restrict it with: chmod 600 '{file}'.");
    }

    private static string FirstLine(string s) => s.Split('\n')[0].Trim();

    private sealed class Reader(string path)
    {
        public string Key(YamlNode node) => node is YamlScalarNode { Value: { } v } ? v : throw new ConfigException(path, (int)node.Start.Line, null, "keys must be plain names.");

        public ConfigException Unknown(YamlNode node, string key, string known) =>
            new(path, (int)node.Start.Line, key, $"unknown key; expected one of: {known}.");

        public YamlMappingNode Mapping(YamlNode node, string key) =>
            node as YamlMappingNode ?? throw new ConfigException(path, (int)node.Start.Line, key, "expected a mapping of key: value lines.");

        public IEnumerable<YamlNode> Sequence(YamlNode node, string key) => node switch
        {
            YamlSequenceNode s => s.Children,
            YamlScalarNode { Value: null or "" } => [],
            _ => throw new ConfigException(path, (int)node.Start.Line, key, "expected a list."),
        };

        public string? String(YamlNode node, string key) => node switch
        {
            YamlScalarNode s => string.IsNullOrEmpty(s.Value) || s.Value == "~" && s.Style == YamlDotNet.Core.ScalarStyle.Plain ? null : s.Value,
            _ => throw new ConfigException(path, (int)node.Start.Line, key, "expected a single value."),
        };

        public string? PathValue(YamlNode node, string key, string configPath)
        {
            var value = String(node, key);
            if (value is null) return null;
            if (value.StartsWith("~/", StringComparison.Ordinal))
                value = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), value[2..]);
            // Relative paths are relative to the config file, so a config directory can be moved whole.
            return Path.GetFullPath(value, Path.GetDirectoryName(configPath) ?? ".");
        }

        public List<string> StringList(YamlNode node, string key) => node switch
        {
            YamlScalarNode s => string.IsNullOrEmpty(s.Value) ? new() : s.Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList(),
            YamlSequenceNode q => q.Children.Select(c => String(c, key) ?? throw new ConfigException(path, (int)c.Start.Line, key, "empty list entry.")).ToList(),
            _ => throw new ConfigException(path, (int)node.Start.Line, key, "expected a list or a comma-separated value."),
        };

        public TimeSpan Duration(YamlNode node, string key)
        {
            var text = String(node, key);
            return Config.Duration.TryParse(text, out var value)
                ? value
                : throw new ConfigException(path, (int)node.Start.Line, key, $"'{text}' is not a duration; use e.g. 5s, 1m30s or 250ms.");
        }

        public int Int(YamlNode node, string key, int min, int max)
        {
            var text = String(node, key);
            return int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var v) && v >= min && v <= max
                ? v
                : throw new ConfigException(path, (int)node.Start.Line, key, $"'{text}' is not a whole number from {min} to {max}.");
        }

        /// <summary>A base58 Ed25519 public key (32 bytes), as remaphore writes them.</summary>
        public string? PublicKey(YamlNode node, string key)
        {
            var value = String(node, key);
            if (value is not null && !Identity.SigningKey.TryDecodePublic(value, out _))
                throw new ConfigException(path, (int)node.Start.Line, key, $"'{value}' is not a public key (base58, 32 bytes; New-RemoteOpsIdentity makes key pairs).");
            return value;
        }

        public string Subject(YamlNode node, string key)
        {
            var s = String(node, key) ?? throw new ConfigException(path, (int)node.Start.Line, key, "the subject cannot be empty.");
            if (s.Any(c => char.IsWhiteSpace(c) || c is '*' or '>') || s.StartsWith('.') || s.EndsWith('.') || s.Contains(".."))
                throw new ConfigException(path, (int)node.Start.Line, key, $"'{s}' is not a valid NATS subject (no spaces, wildcards or empty tokens).");
            return s;
        }
    }
}

/// <summary>A config problem, located: file, line (1-based; 0 when not about one line) and key.</summary>
public sealed class ConfigException(string file, int line, string? key, string problem)
    : Exception(FormatMessage(file, line, key, problem))
{
    public string File { get; } = file;
    public int Line { get; } = line;
    public string? Key { get; } = key;

    private static string FormatMessage(string file, int line, string? key, string problem) =>
        $"Config error in {file}{(line > 0 ? $", line {line}" : "")}{(key is null ? "" : $", key '{key}'")}: {problem}";
}
