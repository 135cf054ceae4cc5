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
        if (value.StartsWith("~/", StringComparison.Ordinal))
            value = System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), value[2..]);
        return System.IO.Path.GetFullPath(value, System.IO.Path.GetDirectoryName(Path) ?? ".");
    }

    public IReadOnlyList<string> StringList(YamlNode node, string key) => node switch
    {
        YamlScalarNode s => string.IsNullOrEmpty(s.Value) ? [] : s.Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
        YamlSequenceNode q => q.Children.Select(c => String(c, key) ?? throw Error(c, key, "empty list entry.")).ToArray(),
        _ => throw Error(node, key, "expected a list or a comma-separated value."),
    };

    public TimeSpan Duration(YamlNode node, string key)
    {
        var text = String(node, key);
        return Config.Duration.TryParse(text, out var value)
            ? value
            : throw Error(node, key, $"'{text}' is not a duration; use e.g. 5s, 1m30s or 250ms.");
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

    public string Subject(YamlNode node, string key)
    {
        var s = String(node, key) ?? throw Error(node, key, "the subject cannot be empty.");
        if (s.Any(c => char.IsWhiteSpace(c) || c is '*' or '>') || s.StartsWith('.') || s.EndsWith('.') || s.Contains(".."))
            throw Error(node, key, $"'{s}' is not a valid NATS subject (no spaces, wildcards or empty tokens).");
        return s;
    }
}
