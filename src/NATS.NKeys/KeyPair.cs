using NSec.Cryptography;

namespace NATS.NKeys;

/// <summary>The role an NKey plays; the first letter of its text form.</summary>
public enum PrefixByte : byte
{
    Seed = 18 << 3,     // 'S'
    Private = 15 << 3,  // 'P'
    Server = 13 << 3,   // 'N'
    Cluster = 2 << 3,   // 'C'
    Operator = 14 << 3, // 'O'
    Account = 0,        // 'A'
    User = 20 << 3,     // 'U'
}

/// <summary>An Ed25519 NKey pair in NATS's text encoding (base32, prefix byte, CRC16), as NATS.Client.Core
/// calls it for NKey and .creds authentication: FromSeed, GetPublicKey, Sign.</summary>
public sealed class KeyPair : IDisposable
{
    private static readonly SignatureAlgorithm Ed25519 = SignatureAlgorithm.Ed25519;
    private readonly Key _key;
    private readonly PrefixByte _type;

    private KeyPair(Key key, PrefixByte type)
    {
        _key = key;
        _type = type;
    }

    /// <summary>Parses an encoded seed ("SU…", "SA…", "SO…").</summary>
    /// <exception cref="FormatException">Not base32, a bad checksum, not a seed, or a wrong length.</exception>
    public static KeyPair FromSeed(ReadOnlySpan<char> seed)
    {
        var raw = Codec.Decode(seed);
        try
        {
            if (raw.Length != 34) throw new FormatException($"An NKey seed holds 32 key bytes; this one holds {raw.Length - 2}.");
            if ((raw[0] & 0xF8) != (byte)PrefixByte.Seed) throw new FormatException("Not an NKey seed (it must start with 'S').");
            var type = (PrefixByte)(((raw[0] & 0x07) << 5) | ((raw[1] & 0xF8) >> 3));
            if (!Enum.IsDefined(type) || type is PrefixByte.Seed or PrefixByte.Private)
                throw new FormatException("The seed's key type is not one of operator, account, user, server or cluster.");
            var key = Key.Import(Ed25519, raw.AsSpan(2, 32), KeyBlobFormat.RawPrivateKey,
                new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
            return new KeyPair(key, type);
        }
        finally
        {
            Array.Clear(raw);
        }
    }

    /// <summary>A new random key pair of the given role.</summary>
    public static KeyPair CreatePair(PrefixByte type)
    {
        if (type is PrefixByte.Seed or PrefixByte.Private) throw new ArgumentException("A key pair's role is operator, account, user, server or cluster.", nameof(type));
        return new KeyPair(Key.Create(Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }), type);
    }

    /// <summary>The public key's text form ("U…" for a user).</summary>
    public string GetPublicKey()
    {
        var raw = new byte[33];
        raw[0] = (byte)_type;
        _key.PublicKey.Export(KeyBlobFormat.RawPublicKey).CopyTo(raw, 1);
        return Codec.Encode(raw);
    }

    /// <summary>The seed's text form ("SU…"): the secret to store in a .creds or .nk file.</summary>
    public string GetSeed()
    {
        var seed = _key.Export(KeyBlobFormat.RawPrivateKey);
        var raw = new byte[34];
        try
        {
            raw[0] = (byte)((byte)PrefixByte.Seed | ((byte)_type >> 5));
            raw[1] = (byte)(((byte)_type & 0x1F) << 3);
            seed.CopyTo(raw, 2);
            return Codec.Encode(raw);
        }
        finally
        {
            Array.Clear(seed);
            Array.Clear(raw);
        }
    }

    /// <summary>Signs <paramref name="input"/> into the first 64 bytes of <paramref name="signature"/>.</summary>
    public void Sign(ReadOnlyMemory<byte> input, Memory<byte> signature)
    {
        if (signature.Length < Ed25519.SignatureSize) throw new ArgumentException($"The signature buffer needs {Ed25519.SignatureSize} bytes.", nameof(signature));
        Ed25519.Sign(_key, input.Span, signature.Span[..Ed25519.SignatureSize]);
    }

    /// <summary>Checks a signature against an encoded public key ("U…", "A…", …).</summary>
    public static bool Verify(string publicKey, ReadOnlySpan<byte> input, ReadOnlySpan<byte> signature)
    {
        byte[] raw;
        try { raw = Codec.Decode(publicKey); }
        catch (FormatException) { return false; }
        if (raw.Length != 33 || !Enum.IsDefined((PrefixByte)raw[0]) || (PrefixByte)raw[0] is PrefixByte.Seed or PrefixByte.Private) return false;
        return PublicKey.TryImport(Ed25519, raw.AsSpan(1), KeyBlobFormat.RawPublicKey, out var pk) && pk is not null
            && Ed25519.Verify(pk, input, signature);
    }

    public void Dispose() => _key.Dispose();
}

/// <summary>NKeys text: RFC 4648 base32 without padding over (payload || CRC16-XMODEM little-endian).</summary>
internal static class Codec
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    public static string Encode(ReadOnlySpan<byte> payload)
    {
        var data = new byte[payload.Length + 2];
        payload.CopyTo(data);
        var crc = Crc16(payload);
        data[^2] = (byte)crc;
        data[^1] = (byte)(crc >> 8);
        var chars = new char[(data.Length * 8 + 4) / 5];
        int bits = 0, value = 0, n = 0;
        foreach (var b in data)
        {
            value = (value << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                chars[n++] = Alphabet[(value >> (bits - 5)) & 31];
                bits -= 5;
            }
        }
        if (bits > 0) chars[n++] = Alphabet[(value << (5 - bits)) & 31];
        Array.Clear(data);
        return new string(chars, 0, n);
    }

    /// <summary>Decodes and checks the checksum; returns the payload without it.</summary>
    public static byte[] Decode(ReadOnlySpan<char> text)
    {
        text = text.Trim();
        var data = new byte[text.Length * 5 / 8];
        int bits = 0, value = 0, n = 0;
        foreach (var c in text)
        {
            int v = c is >= 'A' and <= 'Z' ? c - 'A' : c is >= '2' and <= '7' ? c - '2' + 26 : -1;
            if (v < 0) throw new FormatException($"'{c}' is not a base32 character of an NKey.");
            value = (value << 5) | v;
            bits += 5;
            if (bits >= 8)
            {
                data[n++] = (byte)(value >> (bits - 8));
                bits -= 8;
            }
        }
        if (n < 3) throw new FormatException("Too short to be an NKey.");
        var payload = data.AsSpan(0, n - 2);
        var expected = (ushort)(data[n - 2] | (data[n - 1] << 8));
        if (Crc16(payload) != expected)
        {
            Array.Clear(data);
            throw new FormatException("The NKey's checksum does not match: it was mistyped or altered.");
        }
        var result = payload.ToArray();
        Array.Clear(data);
        return result;
    }

    public static ushort Crc16(ReadOnlySpan<byte> data)
    {
        ushort crc = 0;
        foreach (var b in data)
        {
            crc ^= (ushort)(b << 8);
            for (int i = 0; i < 8; i++)
                crc = (crc & 0x8000) != 0 ? (ushort)((crc << 1) ^ 0x1021) : (ushort)(crc << 1);
        }
        return crc;
    }
}
