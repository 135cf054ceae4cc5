using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace RemoteOps.Config;

/// <summary>Finds and reads the YAML config: the shared top level (connection, identity and trust) here, every other
/// key through the tool section that registered it (<see cref="ConfigSections"/>). Every problem becomes one
/// <see cref="ConfigException"/> naming the file, line and key, never a parser stack trace.</summary>
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
        var file = new FileInfo(FullPath(ResolvePath(explicitPath)));
        if (file.Exists && Cache.TryGetValue(file.FullName, out var cached) && cached.WriteTime == file.LastWriteTimeUtc && cached.Length == file.Length)
            return cached.Config;
        var config = Load(explicitPath, warn);
        if (file.Exists) Cache[file.FullName] = (file.LastWriteTimeUtc, file.Length, config);
        return config;
    }

    /// <summary>The full path, or a ConfigException for a path no file can have (a NUL in it).</summary>
    private static string FullPath(string resolved)
    {
        try { return Path.GetFullPath(resolved); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new ConfigException(resolved, 0, null, "the config path is not a valid path: " + e.Message);
        }
    }

    /// <summary>Loads the config at the resolved path. A missing default file yields the built-in defaults
    /// (local server, no identities); a missing file that was asked for by name is an error.</summary>
    public static RemoteOpsConfig Load(string? explicitPath, Action<string>? warn = null)
    {
        var path = FullPath(ResolvePath(explicitPath));
        if (Directory.Exists(path))
            throw new ConfigException(path, 0, null, "the config path is a directory; give the path of the YAML file in it (e.g. config.yaml).");
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

    /// <summary>Reads config text. Its only outcomes are a config or a <see cref="ConfigException"/>: the readers locate
    /// every problem they know; anything they did not anticipate still becomes one naming the file.</summary>
    public static RemoteOpsConfig Parse(string yaml, string path, Action<string>? warn = null)
    {
        try { return ParseCore(yaml, path, warn); }
        catch (Exception e) when (e is not (ConfigException or OutOfMemoryException))
        {
            throw new ConfigException(path, 0, null, "the config cannot be read: " + FirstLine(e.Message));
        }
    }

    /// <summary><see cref="Parse"/> without its last-resort conversion, so the property tests see any exception the
    /// readers let out.</summary>
    internal static RemoteOpsConfig ParseCore(string yaml, string path, Action<string>? warn)
    {
        try { return ParseText(yaml, path, warn); }
        catch (ConfigException e) when (e.Line > 0 && e.File == path)
        {
            var line = FileLine(yaml, e.Line);
            if (line == e.Line) throw;
            throw new ConfigException(e.File, line, e.Key, e.Problem);
        }
    }

    /// <summary>YamlDotNet counts U+0085, U+2028, U+2029 and a lone CR as line breaks (YAML 1.1); a file's lines, as an
    /// editor and the user count them, end at LF. Maps YamlDotNet's 1-based line to the file's.</summary>
    private static int FileLine(string yaml, int yamlLine)
    {
        int atYaml = 1, atFile = 1;
        for (int i = 0; i < yaml.Length && atYaml < yamlLine; i++)
        {
            var c = yaml[i];
            if (c == '\r' && i + 1 < yaml.Length && yaml[i + 1] == '\n') { i++; atYaml++; atFile++; }
            else if (c == '\n') { atYaml++; atFile++; }
            else if (c is '\r' or '\u0085' or '\u2028' or '\u2029') atYaml++;
        }
        return atFile;
    }

    private static RemoteOpsConfig ParseText(string yaml, string path, Action<string>? warn)
    {
        var stream = LoadYaml(yaml, path);
        var config = new RemoteOpsConfig { SourcePath = path };
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
            return config;
        var reader = new ConfigReader(path);
        var root = reader.Mapping(stream.Documents[0].RootNode, "(top level)");
        int defaultIdentityLine = 0;
        // Sections in the order their readers are registered; keys are applied in file order, so the first problem
        // in the file is the one reported.
        var sections = new Dictionary<ConfigSectionReader, ConfigSection>();
        foreach (var (keyNode, value) in root.Children)
        {
            var key = reader.Key(keyNode);
            switch (key)
            {
                case "servers": config = config with { Servers = reader.ServerList(value, key) }; break;
                case "server": config = config with { Servers = reader.ServerList(value, key) }; break;
                case "credentials": config = config with { Credentials = reader.PathValue(value, key) }; break;
                case "nkey_seed_file": config = config with { NkeySeedFile = reader.PathValue(value, key) }; break;
                case "user": config = config with { User = reader.String(value, key) }; break;
                case "password": config = config with { Password = reader.String(value, key) }; break;
                case "token": config = config with { Token = reader.String(value, key) }; break;
                case "tls": config = config with { Tls = ReadTls(reader, value, key) }; break;
                case "inbox_prefix": config = config with { InboxPrefix = reader.Subject(value, key) }; break;
                case "destination": config = config with { Destination = reader.DestinationName(value, key) }; break;
                case "allow_skew": config = config with { AllowSkew = reader.Duration(value, key, TimeSpan.Zero, MaxAllowSkew) }; break;
                case "default_identity":
                    config = config with { DefaultIdentity = reader.PublicKey(value, key) };
                    defaultIdentityLine = (int)value.Start.Line;
                    break;
                case "max_payload": config = config with { MaxPayload = reader.Int(value, key, 1, 8 * 1024 * 1024) }; break;
                case "replicas": config = config with { Replicas = reader.Int(value, key, 1, MaxReplicas) }; break;
                case "identities": config = config with { Identities = reader.Sequence(value, key).Select(item => ReadIdentity(reader, item, key, warn)).ToArray() }; break;
                case "peers": config = config with { Peers = reader.Sequence(value, key).Select(item => ReadPeer(reader, item, key)).ToArray() }; break;
                default:
                    var owner = ConfigSections.OwnerOf(key) ?? throw reader.Unknown(keyNode, key, ConfigSections.KnownTopLevelKeys());
                    var section = sections.TryGetValue(owner, out var read) ? read : owner.CreateDefault();
                    sections[owner] = owner.SectionName is null
                        ? owner.Read(section, key, value, reader)
                        : ReadNestedSection(owner, section, reader, value, key);
                    break;
            }
        }
        if (config.Servers.Count == 0) throw new ConfigException(path, 0, "servers", "list at least one NATS server URL.");
        if (config.DefaultIdentity is { } defaultIdentity && config.Identities.All(i => i.Public != defaultIdentity))
            throw new ConfigException(path, defaultIdentityLine, "default_identity", $"{defaultIdentity} is not the public key of any of the identities.");
        return config with { Sections = ConfigSections.Readers.Where(sections.ContainsKey).Select(r => sections[r]).ToArray() };
    }

    /// <summary>The largest allow_skew: a day covers any clock that is set at all, and keeps the replay window (which is
    /// allow_skew on each side) and its arithmetic small.</summary>
    public static readonly TimeSpan MaxAllowSkew = TimeSpan.FromDays(1);

    /// <summary>JetStream keeps at most 5 replicas of a stream.</summary>
    public const int MaxReplicas = 5;

    /// <summary>The YAML stream, through <see cref="YamlGuard"/>; every syntax problem as a located <see cref="ConfigException"/>.</summary>
    private static YamlStream LoadYaml(string yaml, string path)
    {
        var stream = new YamlStream();
        var guard = new YamlGuard(new Parser(new StringReader(yaml)));
        try
        {
            stream.Load(guard);
            return stream;
        }
        catch (YamlGuardException e)
        {
            throw new ConfigException(path, (int)e.Start.Line, null, e.Message);
        }
        catch (YamlException e) when (e.Message.StartsWith("Duplicate key ", StringComparison.Ordinal))
        {
            throw new ConfigException(path, (int)e.Start.Line, e.Message["Duplicate key ".Length..].Trim(), "the key appears more than once; give each key once (servers: takes a list).");
        }
        catch (YamlException e)
        {
            var problem = FirstLine(e.InnerException?.Message ?? e.Message);
            throw new ConfigException(path, SyntaxErrorLine(yaml, (int)e.Start.Line, problem, guard), null, "not valid YAML: " + problem);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or OverflowException or IndexOutOfRangeException)
        {
            // YamlDotNet's own state errors (e.g. an unclosed [ followed by a key) carry no position: name the
            // collection still open, else the last thing read.
            var line = guard.InnermostOpen?.Start.Line ?? guard.LastStart?.Line ?? 0;
            throw new ConfigException(path, (int)line, null, "not valid YAML: " + (guard.InnermostOpen is { Flow: true } ? "a [ or { is not closed." : FirstLine(e.Message)));
        }
    }

    /// <summary>The line a syntax error is about. YamlDotNet's marks are 1-based, but some point elsewhere: at the end of
    /// the text for an unclosed bracket (name the bracket's line), at the enclosing mapping for a tab (name the tab's line).</summary>
    private static int SyntaxErrorLine(string yaml, int reported, string problem, YamlGuard guard)
    {
        var lines = yaml.Replace("\r\n", "\n").Split('\n');
        int lastLine = lines.Length;
        while (lastLine > 1 && lines[lastLine - 1].Trim().Length == 0) lastLine--;
        if (problem.Contains("tab", StringComparison.OrdinalIgnoreCase))
        {
            for (int i = Math.Max(reported, 1) - 1; i < lines.Length; i++)
                if (lines[i].TrimStart(' ').StartsWith('\t')) return i + 1;
        }
        if (guard.InnermostOpen is { Flow: true } open && problem.Contains("flow", StringComparison.OrdinalIgnoreCase))
            return (int)open.Start.Line;
        return Math.Clamp(reported, 1, Math.Max(lastLine, 1));
    }

    /// <summary>The shared top-level keys, in the order the unknown-key message lists them (before the tools' keys).</summary>
    public static readonly IReadOnlyList<string> SharedKeys =
        ["servers", "credentials", "nkey_seed_file", "user", "password", "token", "tls", "destination", "allow_skew", "default_identity", "identities", "peers", "max_payload", "replicas", "inbox_prefix"];

    /// <summary>Shared keys that are read but not advertised: server is the singular spelling of servers.</summary>
    internal static readonly IReadOnlyList<string> SharedAliases = ["server"];

    private static ConfigSection ReadNestedSection(ConfigSectionReader owner, ConfigSection section, ConfigReader reader, YamlNode value, string sectionName)
    {
        foreach (var (k, v) in reader.Mapping(value, sectionName).Children)
        {
            var key = reader.Key(k);
            if (!owner.Keys.Contains(key)) throw reader.Unknown(k, sectionName + "." + key, owner.Keys);
            section = owner.Read(section, sectionName + "." + key, v, reader);
        }
        return section;
    }

    private static TlsConfig ReadTls(ConfigReader reader, YamlNode value, string key)
    {
        var tls = new TlsConfig();
        foreach (var (k, v) in reader.Mapping(value, key).Children)
        {
            var tk = reader.Key(k);
            tls = tk switch
            {
                "ca" => tls with { Ca = reader.PathValue(v, "tls.ca") },
                "cert" => tls with { Cert = reader.PathValue(v, "tls.cert") },
                "key" => tls with { Key = reader.PathValue(v, "tls.key") },
                _ => throw reader.Unknown(k, "tls." + tk, "ca, cert, key"),
            };
        }
        return tls;
    }

    private static IdentityConfig ReadIdentity(ConfigReader reader, YamlNode item, string key, Action<string>? warn)
    {
        var id = new IdentityConfig { Line = (int)item.Start.Line };
        foreach (var (k, v) in reader.Mapping(item, key).Children)
        {
            var ik = reader.Key(k);
            id = ik switch
            {
                "public" => id with { Public = reader.PublicKey(v, "identities.public") ?? "" },
                "private" => id with { Private = reader.String(v, "identities.private") },
                "private_file" => id with { PrivateFile = reader.PathValue(v, "identities.private_file") },
                "verbs" => id with { Verbs = Verbs(reader, v, "identities.verbs") },
                _ => throw reader.Unknown(k, "identities." + ik, "public, private, private_file, verbs"),
            };
        }
        if (id.Public.Length == 0) throw new ConfigException(reader.Path, id.Line, "identities.public", "every identity needs a public key.");
        if (id.Private is null && id.PrivateFile is null) throw new ConfigException(reader.Path, id.Line, "identities.private", "every identity needs private or private_file.");
        if (id.PrivateFile is not null) CheckPrivateFile(id.PrivateFile, warn);
        return id;
    }

    private static PeerConfig ReadPeer(ConfigReader reader, YamlNode item, string key)
    {
        var peer = new PeerConfig { Line = (int)item.Start.Line };
        foreach (var (k, v) in reader.Mapping(item, key).Children)
        {
            var pk = reader.Key(k);
            peer = pk switch
            {
                "destination" => peer with { Destination = reader.String(v, "peers.destination") ?? "" },
                "public" => peer with { Public = reader.PublicKey(v, "peers.public") ?? "" },
                "verbs" => peer with { Verbs = Verbs(reader, v, "peers.verbs") },
                _ => throw reader.Unknown(k, "peers." + pk, "destination, public, verbs"),
            };
        }
        if (peer.Public.Length == 0) throw new ConfigException(reader.Path, peer.Line, "peers.public", "every peer needs a public key.");
        return peer;
    }

    /// <summary>A key's verbs, each held to the one verb rule (<see cref="Identity.VerbRule"/>) that the cmdlets apply.</summary>
    private static IReadOnlyList<string> Verbs(ConfigReader reader, YamlNode node, string key)
    {
        var verbs = reader.StringList(node, key);
        foreach (var verb in verbs)
            if (Identity.VerbRule.Problem(verb) is { } problem) throw new ConfigException(reader.Path, (int)node.Start.Line, key, problem);
        return verbs;
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
}

/// <summary>A config problem, located: file, line (1-based; 0 when not about one line) and key.</summary>
public sealed class ConfigException(string file, int line, string? key, string problem)
    : Exception(FormatMessage(file, line, key, problem))
{
    public string File { get; } = file;
    public int Line { get; } = line;
    public string? Key { get; } = key;
    /// <summary>What is wrong, without the location.</summary>
    public string Problem { get; } = problem;

    private static string FormatMessage(string file, int line, string? key, string problem) =>
        $"Config error in {file}{(line > 0 ? $", line {line}" : "")}{(key is null ? "" : $", key '{key}'")}: {problem}";
}
