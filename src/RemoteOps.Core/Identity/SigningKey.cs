using NSec.Cryptography;
using SimpleBase;

namespace RemoteOps.Identity;

/// <summary>An Ed25519 key pair with base58 text forms, as remaphore uses them.
/// Private keys are accepted as a 32-byte seed or Go's 64-byte (seed || public) form.</summary>
public sealed class SigningKey : IDisposable
{
    private static readonly SignatureAlgorithm Algorithm = SignatureAlgorithm.Ed25519;
    private readonly Key _key;

    private SigningKey(Key key)
    {
        _key = key;
        PublicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        PublicBase58 = Base58.Bitcoin.Encode(PublicKey);
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
        byte[] raw;
        try { raw = Base58.Bitcoin.Decode(privateKey.Trim()); }
        catch (Exception e) when (e is ArgumentException or FormatException) { throw new FormatException("The private key is not valid base58.", e); }
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
    public string ExportSeedBase58() => Base58.Bitcoin.Encode(_key.Export(KeyBlobFormat.RawPrivateKey));

    /// <summary>Go's 64-byte private key form (seed || public), base58, which the original remaphore writes.</summary>
    public string ExportGoPrivateBase58()
    {
        var seed = _key.Export(KeyBlobFormat.RawPrivateKey);
        return Base58.Bitcoin.Encode([.. seed, .. PublicKey]);
    }

    public byte[] Sign(ReadOnlySpan<byte> data) => Algorithm.Sign(_key, data);

    public void Sign(ReadOnlySpan<byte> data, Span<byte> signature) => Algorithm.Sign(_key, data, signature);

    public static bool TryDecodePublic(string text, out byte[] publicKey)
    {
        publicKey = [];
        try { publicKey = Base58.Bitcoin.Decode(text.Trim()); }
        catch (Exception e) when (e is ArgumentException or FormatException) { return false; }
        return publicKey.Length == 32;
    }

    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != 32 || signature.Length != 64) return false;
        if (!NSec.Cryptography.PublicKey.TryImport(Algorithm, publicKey, KeyBlobFormat.RawPublicKey, out var pk) || pk is null) return false;
        return Algorithm.Verify(pk, data, signature);
    }

    public void Dispose() => _key.Dispose();
}
