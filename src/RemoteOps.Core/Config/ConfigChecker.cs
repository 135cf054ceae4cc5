using RemoteOps.Identity;
using RemoteOps.Messaging;

namespace RemoteOps.Config;

/// <summary>What Test-RemoteOpsConfig checks beyond what loading already refuses: that each identity's private key
/// is there, decodes and belongs to its public key; that every file the config names exists and can be read; that
/// server URLs and the destination are valid (also for a config built in memory); that every peer's and trusted
/// key decodes. It never connects (Get-RemoteOpsConfig -TestConnection does).</summary>
public static class ConfigChecker
{
    public static IReadOnlyList<RemoteOpsConfigCheck> Check(RemoteOpsConfig config)
    {
        var checks = new List<RemoteOpsConfigCheck>();
        void Add(string check, string target, bool passed, string message) =>
            checks.Add(new RemoteOpsConfigCheck { Path = config.SourcePath, Check = check, Target = target, Passed = passed, Message = message });

        foreach (var server in config.Servers)
            Add("Server", server, ConfigReader.TryValidateServer(server, out var problem), problem.Length > 0 ? problem : "a NATS server URL.");

        if (config.Destination is null)
            Add("Destination", "", true, "not set: Wait-Remaphore needs one (or -AnyDestination).");
        else
            Add("Destination", config.Destination, DestinationPattern.TryValidateName(config.Destination, out var problem),
                problem.Length > 0 ? problem : "a valid node name.");

        foreach (var identity in config.Identities)
        {
            // LoadKey reads the file or the inline key, decodes it and checks that it belongs to the public key.
            try
            {
                IdentityStore.LoadKey(identity);
                Add("Identity", identity.Public, true, identity.PrivateFile is { } file
                    ? $"the private key in '{file}' decodes and belongs to this public key."
                    : "the inline private key decodes and belongs to this public key.");
            }
            catch (IdentityException e)
            {
                Add("Identity", identity.Public, false, e.Message);
            }
        }

        foreach (var (what, file) in new[]
                 {
                     ("credentials", config.Credentials), ("nkey_seed_file", config.NkeySeedFile),
                     ("tls.ca", config.Tls?.Ca), ("tls.cert", config.Tls?.Cert), ("tls.key", config.Tls?.Key),
                 })
        {
            if (file is null) continue;
            var problem = Readable(file);
            Add("File", file, problem is null, problem is null ? $"{what}: exists and can be read." : $"{what}: {problem}");
        }

        foreach (var peer in config.Peers)
            Add("PeerKey", peer.Public, SigningKey.TryDecodePublic(peer.Public, out _),
                $"peer '{peer.Destination}': " + (SigningKey.TryDecodePublic(peer.Public, out _) ? "a base58 Ed25519 public key." : "not 32 bytes of base58."));

        foreach (var (scope, keys) in config.TrustGrants)
            foreach (var key in keys)
                Add("TrustedKey", key, SigningKey.TryDecodePublic(key, out _),
                    $"{scope}: " + (SigningKey.TryDecodePublic(key, out _) ? "a base58 Ed25519 public key." : "not 32 bytes of base58."));

        // Each tool checks its own section (only the sections the file has).
        foreach (var section in config.Sections) checks.AddRange(section.Check(config));

        return checks;
    }

    /// <summary>Null when the file can be opened for reading, else why not.</summary>
    private static string? Readable(string file)
    {
        if (Directory.Exists(file)) return $"'{file}' is a directory, not a file.";
        if (!File.Exists(file)) return $"'{file}' does not exist.";
        try
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"'{file}' cannot be read: {e.Message}";
        }
    }
}
