using NSec.Cryptography;

namespace RemoteOps.Identity;

/// <summary>An Ed25519 key pair with base58 text forms: the one private-key type of every tool.
/// Private keys are accepted as a 32-byte seed or Go's 64-byte (seed || public) form.</summary>
public sealed class SigningKey : IDisposable
{
    private static readonly SignatureAlgorithm Algorithm = SignatureAlgorithm.Ed25519;
    private readonly Key _key;

    private SigningKey(Key key)
    {
        _key = key;
        PublicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        PublicBase58 = Base58.Encode(PublicKey);
    }

    public byte[] PublicKey { get; }
    public string PublicBase58 { get; }

    public static SigningKey Generate() =>
        new(Key.Create(Algorithm, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));

    public static SigningKey FromSeed(ReadOnlySpan<byte> seed) =>
        new(Key.Import(Algorithm, seed, KeyBlobFormat.RawPrivateKey, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));

    /// <summary>Parses a base58 private key: 32-byte seed, or Go's 64-byte private key whose second half must be the matching public key.</summary>
    public static SigningKey FromBase58(string privateKey)
    {
        if (!Base58.TryDecode(privateKey.Trim().AsSpan(), out var raw)) throw new FormatException("The private key is not valid base58.");
        if (raw.Length == 32) return FromSeed(raw);
        if (raw.Length == 64)
        {
            var key = FromSeed(raw.AsSpan(0, 32));
            if (!key.PublicKey.AsSpan().SequenceEqual(raw.AsSpan(32)))
            {
                key.Dispose();
                throw new FormatException("The 64-byte private key's second half is not its public key.");
            }
            return key;
        }
        throw new FormatException($"A private key is 32 or 64 bytes; this one decodes to {raw.Length}.");
    }

    /// <summary>The 32-byte seed, base58; for writing new identities.</summary>
    public string ExportSeedBase58() => Base58.Encode(_key.Export(KeyBlobFormat.RawPrivateKey));

    /// <summary>Go's 64-byte private key form (seed || public), base58, which the original remaphore writes.</summary>
    public string ExportGoPrivateBase58()
    {
        var seed = _key.Export(KeyBlobFormat.RawPrivateKey);
        return Base58.Encode([.. seed, .. PublicKey]);
    }

    /// <summary>Signs exactly <paramref name="data"/>: for formats whose domain is the format itself (remaphore's wire,
    /// byte-compatible with the original). Anything else signs through a <see cref="SignatureDomain"/>.</summary>
    public byte[] Sign(ReadOnlySpan<byte> data) => Algorithm.Sign(_key, data);

    public void Sign(ReadOnlySpan<byte> data, Span<byte> signature) => Algorithm.Sign(_key, data, signature);

    /// <summary>Signs <paramref name="data"/> for one purpose: the domain's prefix is signed in front of it, so the
    /// signature cannot be taken for one made for another purpose.</summary>
    public byte[] Sign(SignatureDomain domain, ReadOnlySpan<byte> data) => Algorithm.Sign(_key, domain.Frame(data));

    /// <summary>A base58 Ed25519 public key's 32 bytes; false when the text is not one.</summary>
    public static bool TryDecodePublic(string text, out byte[] publicKey)
    {
        if (!Base58.TryDecode(text.Trim().AsSpan(), out publicKey)) return false;
        return publicKey.Length == 32;
    }

    /// <summary>Checks a signature over exactly <paramref name="data"/> by a raw 32-byte public key (imported for this check).</summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature) =>
        VerificationKey.ImportRaw(publicKey) is { } key && VerificationKey.Verify(key, data, signature);

    public void Dispose() => _key.Dispose();
}

/// <summary>What a signature is for. Its name and a newline are signed in front of the data, so a signature made for
/// one purpose (a seaport entry, a latch, a steward command, …) never verifies as another. Each tool declares its own.</summary>
public sealed class SignatureDomain
{
    private readonly byte[] _prefix;

    public SignatureDomain(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Any(c => c is '\n' or '\r' || char.IsControl(c)))
            throw new ArgumentException("A signature domain is a non-empty name on one line.", nameof(name));
        Name = name;
        _prefix = System.Text.Encoding.UTF8.GetBytes(name + "\n");
    }

    public string Name { get; }

    /// <summary>The bytes actually signed: the domain's prefix, then <paramref name="data"/>.</summary>
    public byte[] Frame(ReadOnlySpan<byte> data)
    {
        var framed = new byte[_prefix.Length + data.Length];
        _prefix.CopyTo(framed, 0);
        data.CopyTo(framed.AsSpan(_prefix.Length));
        return framed;
    }

    public override string ToString() => Name;
}
