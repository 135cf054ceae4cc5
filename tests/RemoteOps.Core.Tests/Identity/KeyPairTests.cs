using NATS.NKeys;
using NSec.Cryptography;

namespace RemoteOps.Core.Tests.NKeys;

/// <summary>The NATS.NKeys package as RemoteOps and NATS.Client.Core use it: seeds in, public keys and signatures out.</summary>
public class KeyPairTests
{
    // The user seed and public key of the NATS documentation's NKey authentication example.
    private const string DocsSeed = "SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY";
    private const string DocsPublic = "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4";

    [Fact]
    public void A_published_seed_gives_its_published_public_key_and_seed_back()
    {
        using var kp = KeyPair.FromSeed(DocsSeed);
        Assert.Equal(DocsPublic, kp.GetPublicKey());
        Assert.Equal(DocsSeed, kp.GetSeed());
    }

    [Theory]
    [InlineData(PrefixByte.User, 'U')]
    [InlineData(PrefixByte.Account, 'A')]
    [InlineData(PrefixByte.Operator, 'O')]
    [InlineData(PrefixByte.Server, 'N')]
    [InlineData(PrefixByte.Cluster, 'C')]
    public void New_pairs_round_trip_through_their_seed_with_the_role_letter(PrefixByte role, char letter)
    {
        using var kp = KeyPair.CreatePair(role);
        var seed = kp.GetSeed();
        Assert.Equal('S', seed[0]);
        Assert.Equal(letter, seed[1]);
        Assert.Equal(letter, kp.GetPublicKey()[0]);
        using var again = KeyPair.FromSeed(seed);
        Assert.Equal(kp.GetPublicKey(), again.GetPublicKey());
    }

    [Fact]
    public void Signatures_verify_with_Ed25519_and_with_the_encoded_public_key()
    {
        using var kp = KeyPair.FromSeed(DocsSeed);
        var data = "nonce-from-server"u8.ToArray();
        var sig = new byte[64];
        kp.Sign(data, sig);
        using var verifier = KeyPair.FromPublicKey(kp.GetPublicKey());
        Assert.True(verifier.Verify(data, sig));
        data[0] ^= 1;
        Assert.False(verifier.Verify(data, sig));
    }

    [Fact]
    public void Signing_is_deterministic_Ed25519_over_the_raw_seed()
    {
        // Independently: the raw 32-byte seed imported into NSec signs the same bytes.
        using var kp = KeyPair.FromSeed(DocsSeed);
        var data = "abc"u8.ToArray();
        var ours = new byte[64];
        kp.Sign(data, ours);
        var raw = Base32NoPad(DocsSeed)[2..34];
        using var key = Key.Import(SignatureAlgorithm.Ed25519, raw, KeyBlobFormat.RawPrivateKey);
        Assert.Equal(SignatureAlgorithm.Ed25519.Sign(key, data), ours);
    }

    [Fact]
    public void A_mistyped_seed_fails_its_checksum()
    {
        var chars = DocsSeed.ToCharArray();
        chars[10] = chars[10] == 'A' ? 'B' : 'A';
        var e = Assert.Throws<NKeysException>(() => KeyPair.FromSeed(new string(chars)));
        Assert.Contains("CRC", e.Message);
    }

    // The exceptions NatsConnectionPool turns into one clear RemoteOpsConnectionException for an nkey_seed_file.
    [Theory]
    [InlineData(DocsPublic, typeof(NKeysException), "Seed")]                                                    // a public key is not a seed
    [InlineData("SU0ACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY", typeof(ArgumentException), "base32")] // '0' is not base32
    [InlineData("SUAC", typeof(NKeysException), "CRC")]                                                         // truncated
    public void Things_that_are_not_seeds_are_refused(string text, Type exception, string why)
    {
        var e = Assert.ThrowsAny<Exception>(() => KeyPair.FromSeed(text));
        Assert.IsAssignableFrom(exception, e);
        Assert.Contains(why, e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_public_key_verifies_but_holds_no_seed_and_is_not_another_role()
    {
        using var kp = KeyPair.FromPublicKey(DocsPublic);
        Assert.Equal(DocsPublic, kp.GetPublicKey());
        Assert.True(KeyPair.IsValidPublicKey(PrefixByte.User, DocsPublic));
        Assert.False(KeyPair.IsValidPublicKey(PrefixByte.Account, DocsPublic));
        Assert.ThrowsAny<Exception>(() => kp.GetSeed());
    }

    [Fact]
    public void NATS_Client_Core_binds_to_the_NATS_NKeys_package_we_reference()
    {
        // The module ships one NATS.NKeys.dll for both: the version NATS.Client.Core was built against is the one loaded.
        var wanted = typeof(NATS.Client.Core.NatsConnection).Assembly.GetReferencedAssemblies().Single(a => a.Name == "NATS.NKeys");
        var loaded = typeof(KeyPair).Assembly.GetName();
        Assert.Equal(wanted.Version, loaded.Version);
        Assert.Equal(wanted.GetPublicKeyToken(), loaded.GetPublicKeyToken());
        Assert.Equal(new Version(1, 0, 1, 0), loaded.Version);
    }

    private static byte[] Base32NoPad(string s)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var bytes = new List<byte>();
        int bits = 0, value = 0;
        foreach (var c in s)
        {
            value = (value << 5) | alphabet.IndexOf(c);
            bits += 5;
            if (bits >= 8) { bytes.Add((byte)(value >> (bits - 8))); bits -= 8; }
        }
        return bytes.ToArray();
    }
}
