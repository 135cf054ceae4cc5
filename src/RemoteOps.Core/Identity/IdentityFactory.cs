using RemoteOps.Config;

namespace RemoteOps.Identity;

/// <summary>Makes new identities for New-RemoteOpsIdentity and New-RemoteOpsConfig.</summary>
public static class IdentityFactory
{
    /// <summary>A new Ed25519 key pair. The private key is base58 in Go's 64-byte form, which both the original
    /// remaphore and RemoteOps read. With <paramref name="path"/> it is written to that file (mode 600) instead of
    /// being returned; a directory path gets &lt;public&gt;.key inside it.</summary>
    /// <exception cref="ConfigFileExistsException">The key file exists and <paramref name="force"/> is false.</exception>
    public static RemoteOpsIdentity Create(IEnumerable<string>? verbs, string? path = null, bool force = false)
    {
        var verbList = NormalizeVerbs(verbs);
        using var key = SigningKey.Generate();
        var identity = new RemoteOpsIdentity { PublicKey = key.PublicBase58, Verbs = verbList };
        if (path is null)
        {
            identity.PrivateKey = key.ExportGoPrivateBase58();
        }
        else
        {
            path = Path.GetFullPath(path);
            if (Directory.Exists(path) || path.EndsWith(Path.DirectorySeparatorChar) || path.EndsWith(Path.AltDirectorySeparatorChar))
                path = Path.Combine(path, key.PublicBase58 + ".key");
            if (File.Exists(path) && !force) throw new ConfigFileExistsException(path);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            SecureFile.WriteAllText(path, key.ExportGoPrivateBase58() + "\n", overwrite: force);
            identity.PrivateKeyFile = path;
        }
        identity.Yaml = Yaml(identity);
        return identity;
    }

    /// <summary>Verbs as given (an array, or comma-separated strings); none means "*" (all verbs).</summary>
    public static string[] NormalizeVerbs(IEnumerable<string>? verbs)
    {
        var list = (verbs ?? [])
            .SelectMany(v => (v ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .Distinct(StringComparer.Ordinal)
            .ToArray();
        foreach (var v in list)
            if (VerbRule.Problem(v) is { } problem)
                throw new ArgumentException(problem);
        return list.Length == 0 ? ["*"] : list;
    }

    /// <summary>The identity as a YAML list item for the identities: section.</summary>
    public static string Yaml(RemoteOpsIdentity identity)
    {
        var lines = new List<string> { "- public: " + YamlText.Scalar(identity.PublicKey) };
        if (identity.PrivateKeyFile is not null) lines.Add("  private_file: " + YamlText.Scalar(identity.PrivateKeyFile));
        else lines.Add("  private: " + YamlText.Scalar(identity.PrivateKey ?? ""));
        lines.Add("  verbs: " + YamlText.FlowList(identity.Verbs));
        return string.Join("\n", lines) + "\n";
    }
}
