using Base58 = SimpleBase.Base58; // the reference implementation the tests hold ours to
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.TestSupport;
using SimpleBase;

namespace RemoteOps.Core.Tests.Config;

// File modes are Unix; the suites run on Linux (CI) and macOS.
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class IdentityFactoryTests
{
    [Fact]
    public void A_new_identity_has_base58_keys_in_remaphore_form_and_a_yaml_snippet()
    {
        var id = IdentityFactory.Create(["ping", "upload_done"]);
        Assert.Equal(32, Base58.Bitcoin.Decode(id.PublicKey).Length);
        var priv = Base58.Bitcoin.Decode(id.PrivateKey!);
        Assert.Equal(64, priv.Length); // Go's ed25519 private key: seed || public
        Assert.Equal(Base58.Bitcoin.Decode(id.PublicKey), priv[32..]);
        using (var key = SigningKey.FromBase58(id.PrivateKey!)) Assert.Equal(id.PublicKey, key.PublicBase58);
        Assert.Null(id.PrivateKeyFile);
        Assert.Equal(["ping", "upload_done"], id.Verbs);

        var yaml = "identities:\n" + string.Join("\n", id.Yaml.TrimEnd('\n').Split('\n').Select(l => "  " + l)) + "\n";
        var c = ConfigLoader.Parse(yaml, "/c.yaml");
        Assert.Equal(id.PublicKey, c.Identities[0].Public);
        Assert.Equal(id.PrivateKey, c.Identities[0].Private);
        Assert.Equal(["ping", "upload_done"], c.Identities[0].Verbs);
    }

    [Fact]
    public void Verbs_default_to_all_and_accept_comma_separated_text()
    {
        Assert.Equal(["*"], IdentityFactory.Create(null).Verbs);
        Assert.Equal(["a", "b", "c"], IdentityFactory.Create(["a,b", "c", "a"]).Verbs);
        Assert.Throws<ArgumentException>(() => IdentityFactory.Create(["has space"]));
    }

    [Fact]
    public void With_a_path_the_private_key_goes_to_an_owner_only_file()
    {
        using var dir = new TempDir();
        var id = IdentityFactory.Create(["*"], dir.File("keys/me.key"));
        Assert.Null(id.PrivateKey);
        Assert.Equal(dir.File("keys/me.key"), id.PrivateKeyFile);
        Assert.Equal(SecureFile.OwnerOnly, File.GetUnixFileMode(id.PrivateKeyFile!) & (UnixFileMode)0x1FF);
        using (var key = SigningKey.FromBase58(File.ReadAllText(id.PrivateKeyFile!))) Assert.Equal(id.PublicKey, key.PublicBase58);
        Assert.Contains("private_file: " + id.PrivateKeyFile, id.Yaml);

        Assert.Throws<ConfigFileExistsException>(() => IdentityFactory.Create(["*"], dir.File("keys/me.key")));
        var again = IdentityFactory.Create(["*"], dir.File("keys/me.key"), force: true);
        Assert.NotEqual(id.PublicKey, again.PublicKey);

        // A directory gets <public>.key inside it.
        var inDir = IdentityFactory.Create(null, dir.Path);
        Assert.Equal(Path.Combine(dir.Path, inDir.PublicKey + ".key"), inDir.PrivateKeyFile);
        // So does a path ending in a separator, created when missing.
        var newDir = IdentityFactory.Create(null, dir.File("new/keys") + Path.DirectorySeparatorChar);
        Assert.Equal(Path.Combine(dir.Path, "new", "keys", newDir.PublicKey + ".key"), newDir.PrivateKeyFile);
        Assert.True(File.Exists(newDir.PrivateKeyFile));
    }
}
