namespace RemoteOps.Config;

/// <summary>The effective config as Get-RemoteOpsConfig shows it: secrets redacted, paths in full.</summary>
public static class ConfigDescriber
{
    public static RemoteOpsConfigInfo Describe(RemoteOpsConfig config, string? explicitPath)
    {
        static string? Secret(string? value) => string.IsNullOrEmpty(value) ? null : RemoteOpsConfigInfo.Redacted;
        var defaultIdentity = config.DefaultIdentity ?? (config.Identities.Count == 1 ? config.Identities[0].Public : null);
        var info = new RemoteOpsConfigInfo
        {
            Path = config.SourcePath,
            PathSource = !string.IsNullOrEmpty(explicitPath) ? "Parameter"
                : Environment.GetEnvironmentVariable(ConfigLoader.EnvironmentVariable) is { Length: > 0 } ? "Environment"
                : config.SourcePath is null ? "BuiltIn" : "Default",
            Servers = config.Servers.ToArray(),
            Credentials = config.Credentials,
            NkeySeedFile = config.NkeySeedFile,
            User = config.User,
            Password = Secret(config.Password),
            Token = Secret(config.Token),
            TlsCa = config.Tls?.Ca,
            TlsCert = config.Tls?.Cert,
            TlsKey = config.Tls?.Key,
            Destination = config.Destination,
            AllowSkew = config.AllowSkew,
            DefaultIdentity = config.DefaultIdentity,
            Identities = config.Identities.Select(i => new RemoteOpsIdentityInfo
            {
                PublicKey = i.Public,
                PrivateKey = Secret(i.Private),
                PrivateKeyFile = i.PrivateFile,
                Verbs = i.Verbs.ToArray(),
                IsDefault = i.Public == defaultIdentity,
            }).ToArray(),
            Peers = config.Peers.Select(p => new RemoteOpsPeerInfo
            {
                Destination = p.Destination,
                PublicKey = p.Public,
                Verbs = p.Verbs.ToArray(),
            }).ToArray(),
            MaxPayload = config.MaxPayload,
        };
        // Each tool describes its own section, its defaults when the file has none.
        foreach (var reader in ConfigSections.Readers)
            (config.FindSection(reader.SectionType) ?? reader.CreateDefault()).Describe(info);
        foreach (var section in config.Sections.Where(s => !ConfigSections.Readers.Any(r => r.SectionType == s.GetType())))
            section.Describe(info);
        return info;
    }
}
