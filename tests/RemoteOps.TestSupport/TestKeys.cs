using System.Net.Sockets;
using System.Text;
using NSec.Cryptography;
using SimpleBase;

namespace RemoteOps.TestSupport;

/// <summary>An Ed25519 key pair in remaphore's base58 forms, made without RemoteOps.Core, so PowerShell tests can write
/// configs (and craft wire messages) while loading the module only as users do.</summary>
public sealed class TestKeyPair : IDisposable
{
    private readonly Key _key;

    public TestKeyPair()
    {
        _key = Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        PublicBytes = _key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        Public = Base58.Bitcoin.Encode(PublicBytes);
        var seed = _key.Export(KeyBlobFormat.RawPrivateKey);
        Private = Base58.Bitcoin.Encode(seed);
        GoPrivate = Base58.Bitcoin.Encode([.. seed, .. PublicBytes]);
    }

    public byte[] PublicBytes { get; }
    /// <summary>Public key, base58.</summary>
    public string Public { get; }
    /// <summary>32-byte seed, base58.</summary>
    public string Private { get; }
    /// <summary>Go's 64-byte private key (seed || public), base58, as the original remaphore writes it.</summary>
    public string GoPrivate { get; }

    public byte[] Sign(byte[] data) => SignatureAlgorithm.Ed25519.Sign(_key, data);

    public void Dispose() => _key.Dispose();
}

/// <summary>Remaphore wire messages built independently of the module, for feeding receivers good and bad input.</summary>
public static class TestWire
{
    public static long NowNanos => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    /// <summary>base58(pub),base58(sig),destination,hex(time),hex(uuid),verb,Q|_,payload — signed by <paramref name="key"/>.</summary>
    public static byte[] Message(TestKeyPair key, string destination, string verb, string payload, string uuid, long? timeNanos = null, bool request = false)
    {
        var pre = string.Join(",", destination, (timeNanos ?? NowNanos).ToString("x"), Convert.ToHexStringLower(Encoding.UTF8.GetBytes(uuid)), verb, request ? "Q" : "_", payload);
        var preBytes = Encoding.UTF8.GetBytes(pre);
        var signature = key.Sign(preBytes);
        return Encoding.UTF8.GetBytes(key.Public + "," + Base58.Bitcoin.Encode(signature) + ",").Concat(preBytes).ToArray();
    }
}

/// <summary>A bare-bones NATS publisher (CONNECT, PUB, PING/PONG over TCP), so tests can put arbitrary bytes on a
/// subject without loading NATS.Client.Core into the test process.</summary>
public static class RawNats
{
    public static async Task PublishAsync(string url, string subject, params byte[][] payloads)
    {
        var uri = new Uri(url);
        using var client = new TcpClient();
        await client.ConnectAsync(uri.Host, uri.Port);
        using var stream = client.GetStream();
        using var reader = new StreamReader(stream, Encoding.ASCII, false, 4096, leaveOpen: true);
        var info = await reader.ReadLineAsync(); // INFO {...}
        if (info is null || !info.StartsWith("INFO", StringComparison.Ordinal)) throw new InvalidOperationException("Not a NATS server: " + info);
        var buffer = new MemoryStream();
        buffer.Write(Encoding.ASCII.GetBytes("CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"rawtest\"}\r\n"));
        foreach (var p in payloads)
        {
            buffer.Write(Encoding.ASCII.GetBytes($"PUB {subject} {p.Length}\r\n"));
            buffer.Write(p);
            buffer.Write("\r\n"u8);
        }
        buffer.Write("PING\r\n"u8);
        await stream.WriteAsync(buffer.ToArray());
        await stream.FlushAsync();
        // PONG means the server has processed everything before it.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var line = await reader.ReadLineAsync(cts.Token) ?? throw new InvalidOperationException("NATS closed the connection.");
            if (line.StartsWith("PONG", StringComparison.Ordinal)) return;
            if (line.StartsWith("-ERR", StringComparison.Ordinal)) throw new InvalidOperationException(line);
        }
    }
}
