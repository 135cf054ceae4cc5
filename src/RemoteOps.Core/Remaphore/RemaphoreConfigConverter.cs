using System.Text;
using RemoteOps.Config;
using RemoteOps.Identity;

namespace RemoteOps.Remaphore;

/// <summary>Converts the original remaphore's config (remaphore.conf) to RemoteOps YAML, so existing nodes migrate in
/// one step. The format, as remaphore's src/config/parser.go reads it: '#' starts a comment; "key: value" lines
/// (server may repeat); a "[ Identities ]" section of "publickey privatekey [verbs]" lines and a "[ Peers ]" section of
/// "destination publickey [verbs]" lines, verbs comma-separated inside brackets ("[*]" = all) and lower-cased.
/// Where remaphore silently ignores something (an unknown key or section) the conversion warns; where remaphore
/// rejects the file, so does the conversion, naming the line.</summary>
public static class RemaphoreConfigConverter
{
    /// <summary>The YAML and what deserves the user's attention.</summary>
    public sealed record Result(string Yaml, IReadOnlyList<string> Warnings, int Servers, int Identities, int Peers);

    private sealed record Entry(int Line, string A, string B, string[] Verbs, string? Private);

    public static Result ConvertFile(string path)
    {
        path = Path.GetFullPath(path);
        if (!File.Exists(path)) throw new ConfigException(path, 0, null, "the remaphore config file does not exist.");
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new ConfigException(path, 0, null, e.Message); }
        return Convert(text, path);
    }

    /// <exception cref="ConfigException">A line remaphore would reject, or no server at all.</exception>
    public static Result Convert(string text, string sourcePath)
    {
        var warnings = new List<string>();
        var servers = new List<string>();
        string? credentials = null, subject = null, destination = null, defaultIdentity = null;
        int defaultIdentityLine = 0;
        TimeSpan? allowSkew = null;
        string? allowSkewText = null;
        var identities = new List<Entry>();
        var peers = new List<Entry>();
        var section = "general";

        var lines = text.Replace("\r\n", "\n").Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            int n = i + 1;
            var line = Clean(lines[i]);
            if (line.Length == 0) continue;
            if (!YamlText.IsValidUnicode(line))
                throw new ConfigException(sourcePath, n, null, "the line holds text that is not valid Unicode (a lone surrogate).");
            if (line[0] == '[' && line[^1] == ']')
            {
                var name = line[1..^1].Trim().ToLowerInvariant();
                if (name is "identities" or "peers") section = name;
                else warnings.Add($"Line {n}: unknown section '{line}' ignored, as remaphore ignores it.");
                continue;
            }
            switch (section)
            {
                case "general":
                {
                    var colon = line.IndexOf(':');
                    var key = colon > 0 ? line[..colon].Trim().ToLowerInvariant() : "";
                    var value = colon > 0 ? line[(colon + 1)..].Trim() : "";
                    if (key.Length == 0 || value.Length == 0)
                    {
                        warnings.Add($"Line {n}: '{line}' is not a 'key: value' line; ignored, as remaphore ignores it.");
                        break;
                    }
                    switch (key)
                    {
                        // Checked by the rules the YAML loader applies, so the converted file loads, and a problem names
                        // its line here rather than one of the YAML.
                        case "server":
                            if (!ConfigReader.TryValidateServer(value, out var serverProblem))
                                throw new ConfigException(sourcePath, n, key, $"'{value}' is not a NATS server URL: {serverProblem}");
                            servers.Add(value);
                            break;
                        case "credentials":
                            if (!ConfigReader.TryValidatePath(value, out var pathProblem)) throw new ConfigException(sourcePath, n, key, pathProblem);
                            credentials = value;
                            break;
                        case "subject":
                            if (!ConfigReader.TryValidateSubject(value, out var subjectProblem)) throw new ConfigException(sourcePath, n, key, subjectProblem);
                            subject = value;
                            break;
                        case "destination":
                            if (!Messaging.DestinationPattern.TryValidateName(value, out var destinationProblem))
                                throw new ConfigException(sourcePath, n, key, $"'{value}' is not a destination: {destinationProblem}");
                            destination = value;
                            break;
                        case "default_identity":
                            if (!SigningKey.TryDecodePublic(value, out _))
                                throw new ConfigException(sourcePath, n, key, $"'{value}' is not a base58 Ed25519 public key (32 bytes).");
                            defaultIdentity = value;
                            defaultIdentityLine = n;
                            break;
                        case "allow_skew":
                            if (!Duration.TryParse(value, out var skew))
                                throw new ConfigException(sourcePath, n, key, $"'{value}' is not a duration; use e.g. 5s or 1m30s.");
                            if (skew > ConfigLoader.MaxAllowSkew)
                                throw new ConfigException(sourcePath, n, key, $"'{value}' is out of range; give a duration up to {Duration.Format(ConfigLoader.MaxAllowSkew)}.");
                            allowSkew = skew;
                            allowSkewText = value;
                            break;
                        default:
                            warnings.Add($"Line {n}: unknown key '{key}' ignored, as remaphore ignores it.");
                            break;
                    }
                    break;
                }
                case "identities":
                {
                    var (pub, priv, verbs) = SplitEntry(line, sourcePath, n, "identities", "publickey privatekey [verbs]");
                    if (!SigningKey.TryDecodePublic(pub, out _))
                        throw new ConfigException(sourcePath, n, "identities", $"'{pub}' is not a base58 Ed25519 public key (32 bytes).");
                    try
                    {
                        using var key = SigningKey.FromBase58(priv);
                        if (key.PublicBase58 != pub)
                            throw new ConfigException(sourcePath, n, "identities", $"the private key belongs to {key.PublicBase58}, not to {pub}.");
                    }
                    catch (FormatException e)
                    {
                        throw new ConfigException(sourcePath, n, "identities", "the private key is not usable: " + e.Message);
                    }
                    identities.Add(new Entry(n, pub, "", verbs, priv));
                    break;
                }
                default:
                {
                    var (dest, pub, verbs) = SplitEntry(line, sourcePath, n, "peers", "destination publickey [verbs]");
                    if (!SigningKey.TryDecodePublic(pub, out _))
                        throw new ConfigException(sourcePath, n, "peers", $"'{pub}' is not a base58 Ed25519 public key (32 bytes).");
                    peers.Add(new Entry(n, dest, pub, verbs, null));
                    break;
                }
            }
        }

        if (servers.Count == 0) throw new ConfigException(sourcePath, 0, "server", "no 'server:' line; remaphore needs at least one NATS server.");
        if (defaultIdentity is not null && identities.All(i => i.A != defaultIdentity))
            throw new ConfigException(sourcePath, defaultIdentityLine, "default_identity", $"{defaultIdentity} is not the public key of any identity under [ Identities ].");
        if (credentials is not null && !Path.IsPathRooted(credentials) && !credentials.StartsWith("~/", StringComparison.Ordinal))
            warnings.Add($"credentials '{credentials}' is a relative path: remaphore read it relative to its working directory, RemoteOps reads it relative to the YAML file's directory. Prefer an absolute path.");
        if (identities.Count == 0) warnings.Add("No identities: this node can receive but not send.");
        if (destination is null) warnings.Add("No destination: Wait-Remaphore needs one (or -AnyDestination).");

        var yaml = new StringBuilder();
        var s = YamlText.Scalar;
        yaml.Append("# RemoteOps configuration converted by ConvertFrom-RemaphoreConfig from ").Append(sourcePath).Append('\n');
        yaml.Append("# See Get-Help about_RemoteOps for every key. Check it with: Test-RemoteOpsConfig -ConfigPath <this file>\n");
        yaml.Append("servers:\n");
        foreach (var server in servers) yaml.Append("  - ").Append(s(server)).Append('\n');
        if (credentials is not null) yaml.Append("credentials: ").Append(s(credentials)).Append('\n');
        if (subject is not null) yaml.Append("subject: ").Append(s(subject)).Append('\n');
        if (destination is not null) yaml.Append("destination: ").Append(s(destination)).Append('\n');
        if (allowSkew is null || allowSkew == TimeSpan.Zero)
            yaml.Append("# remaphore's default when allow_skew is absent or zero:\nallow_skew: 3s\n");
        else
            yaml.Append("allow_skew: ").Append(s(allowSkewText!)).Append('\n');
        if (defaultIdentity is not null)
            yaml.Append("default_identity: ").Append(s(defaultIdentity)).Append('\n');
        else if (identities.Count > 0)
            yaml.Append("# remaphore's default when default_identity is absent: the first identity.\ndefault_identity: ").Append(s(identities[0].A)).Append('\n');

        if (identities.Count > 0)
        {
            yaml.Append("# Private keys are inline, as they were in remaphore.conf: keep this file readable by its users only,\n");
            yaml.Append("# or move each key to a file (mode 600) and write private_file: <path> instead of private:.\n");
            yaml.Append("identities:\n");
            foreach (var id in identities)
            {
                yaml.Append("  - public: ").Append(s(id.A)).Append('\n');
                yaml.Append("    private: ").Append(s(id.Private!)).Append('\n');
                yaml.Append("    verbs: ").Append(YamlText.FlowList(id.Verbs)).Append('\n');
            }
        }
        if (peers.Count > 0)
        {
            yaml.Append("peers:\n");
            foreach (var peer in peers)
            {
                yaml.Append("  - destination: ").Append(s(peer.A)).Append('\n');
                yaml.Append("    public: ").Append(s(peer.B)).Append('\n');
                yaml.Append("    verbs: ").Append(YamlText.FlowList(peer.Verbs)).Append('\n');
            }
        }
        return new Result(yaml.ToString(), warnings, servers.Count, identities.Count, peers.Count);
    }

    /// <summary>remaphore's cleanLine: trim, cut at '#'; then trim again (remaphore leaves the space before a comment,
    /// which makes it reject "key priv [v] # note"; we accept it).</summary>
    private static string Clean(string line)
    {
        var hash = line.IndexOf('#');
        return (hash >= 0 ? line[..hash] : line).Trim();
    }

    /// <summary>"first second [verbs]": two whitespace-separated fields, then the bracketed verb list.</summary>
    private static (string First, string Second, string[] Verbs) SplitEntry(string line, string sourcePath, int n, string key, string shape)
    {
        var parts = line.Split((char[]?)null, 3, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length != 3)
            throw new ConfigException(sourcePath, n, key, $"'{line}' is not '{shape}'.");
        var verbs = parts[2];
        if (verbs.Length < 2 || verbs[0] != '[' || verbs[^1] != ']')
            throw new ConfigException(sourcePath, n, key, $"'{verbs}' is not a verb list; write the verbs comma-separated in brackets, e.g. [ping,upload] or [*].");
        var list = verbs[1..^1].ToLowerInvariant()
            .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .ToArray();
        // The loader holds verbs to the one verb rule: refuse here what it would refuse, naming this file's line.
        foreach (var verb in list)
            if (VerbRule.Problem(verb) is { } problem) throw new ConfigException(sourcePath, n, key, problem);
        return (parts[0], parts[1], list);
    }
}
