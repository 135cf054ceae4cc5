using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace RemoteOps.Config;

/// <summary>Typed reads of YAML nodes for the shared loader and the tool sections. Every failure is a
/// <see cref="ConfigException"/> naming the file, the node's line and the key.</summary>
public sealed class ConfigReader(string path)
{
    /// <summary>The config file, for messages and for resolving relative paths.</summary>
    public string Path { get; } = path;

    public ConfigException Error(YamlNode node, string? key, string problem) => new(Path, (int)node.Start.Line, key, problem);

    public string Key(YamlNode node) => node is YamlScalarNode { Value: { } v } ? v : throw Error(node, null, "keys must be plain names.");

    public ConfigException Unknown(YamlNode node, string key, string known) =>
        Error(node, key, $"unknown key; expected one of: {known}.");

    public ConfigException Unknown(YamlNode node, string key, IEnumerable<string> known) => Unknown(node, key, string.Join(", ", known));

    public YamlMappingNode Mapping(YamlNode node, string key) =>
        node as YamlMappingNode ?? throw Error(node, key, "expected a mapping of key: value lines.");

    public IEnumerable<YamlNode> Sequence(YamlNode node, string key) => node switch
    {
        YamlSequenceNode s => s.Children,
        YamlScalarNode { Value: null or "" } => [],
        _ => throw Error(node, key, "expected a list."),
    };

    public string? String(YamlNode node, string key) => node switch
    {
        YamlScalarNode s => string.IsNullOrEmpty(s.Value) || s.Value == "~" && s.Style == YamlDotNet.Core.ScalarStyle.Plain ? null : s.Value,
        _ => throw Error(node, key, "expected a single value."),
    };

    /// <summary>A file path: ~/ is the home directory; a relative path is relative to the config file, so a config
    /// directory can be moved whole.</summary>
    public string? PathValue(YamlNode node, string key)
    {
        var value = String(node, key);
        if (value is null) return null;
        if (!TryValidatePath(value, out var problem)) throw Error(node, key, problem);
        try
        {
            if (value.StartsWith("~/", StringComparison.Ordinal))
                value = System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), value[2..]);
            return System.IO.Path.GetFullPath(value, System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path)) ?? ".");
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw Error(node, key, $"'{value}' is not a valid path: {e.Message}");
        }
    }

    public IReadOnlyList<string> StringList(YamlNode node, string key) => node switch
    {
        YamlScalarNode s => string.IsNullOrEmpty(s.Value) ? [] : s.Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
        YamlSequenceNode q => q.Children.Select(c => String(c, key) ?? throw Error(c, key, "empty list entry.")).ToArray(),
        _ => throw Error(node, key, "expected a list or a comma-separated value."),
    };

    /// <summary>No control character (a NUL would make every file API throw).</summary>
    public static bool TryValidatePath(string value, out string problem)
    {
        problem = value.Any(char.IsControl) || value.IndexOfAny(System.IO.Path.GetInvalidPathChars()) >= 0
            ? "the path contains a control character (such as NUL); write the path as it is on disk."
            : "";
        return problem.Length == 0;
    }

    /// <summary>The longest duration any key takes unless its reader gives a bound: a year.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromDays(365);

    /// <summary>A duration from zero to <see cref="MaxDuration"/>.</summary>
    public TimeSpan Duration(YamlNode node, string key) => Duration(node, key, TimeSpan.Zero, MaxDuration);

    /// <summary>A duration from <paramref name="min"/> to <paramref name="max"/>: every duration key has a sane range,
    /// so no later arithmetic (3 x heartbeat, a replay window) can overflow.</summary>
    public TimeSpan Duration(YamlNode node, string key, TimeSpan min, TimeSpan max)
    {
        var text = String(node, key);
        if (!Config.Duration.TryParse(text, out var value))
            throw Error(node, key, $"'{text}' is not a duration; use e.g. 5s, 1m30s or 250ms.");
        if (value < min || value > max)
            throw Error(node, key, $"'{text}' is out of range; give a duration from {Config.Duration.Format(min)} to {Config.Duration.Format(max)}.");
        return value;
    }

    public int Int(YamlNode node, string key, int min, int max)
    {
        var text = String(node, key);
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max
            ? v
            : throw Error(node, key, $"'{text}' is not a whole number from {min} to {max}.");
    }

    /// <summary>A base58 Ed25519 public key (32 bytes), as remaphore writes them.</summary>
    public string? PublicKey(YamlNode node, string key)
    {
        var value = String(node, key);
        if (value is not null && !Identity.SigningKey.TryDecodePublic(value, out _))
            throw Error(node, key, $"'{value}' is not a public key (base58, 32 bytes; New-RemoteOpsIdentity makes key pairs).");
        return value;
    }

    /// <summary>NATS server URLs as NATS.Client.Core reads them (<see cref="TryValidateServer"/>).</summary>
    public IReadOnlyList<string> ServerList(YamlNode node, string key)
    {
        var servers = StringList(node, key);
        var items = node is YamlSequenceNode q ? q.Children : null;
        for (int i = 0; i < servers.Count; i++)
            if (!TryValidateServer(servers[i], out var problem))
                throw Error(items?[i] ?? node, key, $"'{servers[i]}' is not a NATS server URL: {problem}");
        return servers;
    }

    /// <summary>What NATS.Client.Core accepts as a server: <c>nats://</c>, <c>tls://</c>, <c>ws://</c> or <c>wss://</c>
    /// URLs, or <c>host[:port]</c> (read as <c>nats://host[:port]</c>; the port defaults to 4222). The connection joins
    /// the list with commas, so a URL cannot contain one.</summary>
    public static bool TryValidateServer(string? server, out string problem)
    {
        problem = "";
        if (string.IsNullOrWhiteSpace(server)) { problem = "it is empty."; return false; }
        if (server.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c == ','))
        {
            problem = "it contains white space, a control character or a comma.";
            return false;
        }
        var text = server.Contains("://", StringComparison.Ordinal) ? server : "nats://" + server;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri))
        {
            problem = "it does not parse as a URL; write e.g. nats://host:4222 or host:4222.";
            return false;
        }
        if (uri.Scheme is not ("nats" or "tls" or "ws" or "wss"))
        {
            problem = $"the scheme is {uri.Scheme}://; NATS takes nats://, tls://, ws:// or wss://.";
            return false;
        }
        if (uri.Host.Length == 0) { problem = "it names no host."; return false; }
        if (uri.Port == 0) { problem = "port 0 is not a server's port."; return false; }
        return true;
    }

    /// <summary>A node's own name: reverse-dotted, no wildcards (<see cref="Messaging.DestinationPattern.TryValidateName"/>),
    /// checked here so that a bad name fails when the config loads, not at the first Wait.</summary>
    public string? DestinationName(YamlNode node, string key)
    {
        var value = String(node, key);
        if (value is not null && !Messaging.DestinationPattern.TryValidateName(value, out var problem))
            throw Error(node, key, $"'{value}' is not a destination: {problem}");
        return value;
    }

    public string Subject(YamlNode node, string key)
    {
        var s = String(node, key) ?? throw Error(node, key, "the subject cannot be empty.");
        return TryValidateSubject(s, out var problem) ? s : throw Error(node, key, problem);
    }

    /// <summary>A subject root: no white space, control characters, wildcards or empty tokens, and short enough.</summary>
    public static bool TryValidateSubject(string s, out string problem)
    {
        problem = "";
        if (s.Length == 0 || s.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '*' or '>') || s.StartsWith('.') || s.EndsWith('.') || s.Contains(".."))
            problem = $"'{s}' is not a valid NATS subject (no spaces, wildcards or empty tokens).";
        else if (s.Length > MaxSubjectLength)
            problem = $"the subject is {s.Length} characters; a subject root has at most {MaxSubjectLength}, leaving room for the rest of the subject.";
        return problem.Length == 0;
    }

    /// <summary>A subject root's limit: far below NATS's 4 KiB control line, which also carries the suffix and a reply subject.</summary>
    public const int MaxSubjectLength = 256;

    /// <summary>A JetStream bucket name, as the server accepts it: letters, digits, _ and -; null keeps the default.</summary>
    public string? BucketName(YamlNode node, string key)
    {
        var value = String(node, key);
        if (value is not null && (value.Length > 64 || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-')))
            throw Error(node, key, $"'{value}' is not a bucket name; use up to 64 letters, digits, _ and -.");
        return value;
    }
}
