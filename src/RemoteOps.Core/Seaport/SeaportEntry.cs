using System.Buffers;
using System.Text;
using System.Text.Json;
using RemoteOps.Identity;

namespace RemoteOps.Seaport;

/// <summary>One registration as stored under key <c>s.&lt;id&gt;</c> of the bucket. The value is
/// <c>base58(signature) '\n' json</c>, the signature by <see cref="Signer"/> over
/// <c>"seaport-entry\n" + key + "\n" + json</c>: the key is bound in, so a signed entry cannot be moved to another id,
/// and the json bytes are signed as stored, so no canonical form is needed.</summary>
public sealed record SeaportEntry
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public string Version { get; init; } = "";
    public required string Host { get; init; }
    public int Port { get; init; }
    public IReadOnlyDictionary<string, int> Ports { get; init; } = new Dictionary<string, int>();
    public IReadOnlyDictionary<string, string> Meta { get; init; } = new Dictionary<string, string>();
    /// <summary>First registration, unix ms.</summary>
    public long Registered { get; init; }
    /// <summary>When the signer signed this value (each heartbeat re-signs), unix ms: a replayed old value is stale.</summary>
    public long Time { get; init; }
    /// <summary>The registrant's timeout, ms: silent for longer, the entry is expired.</summary>
    public long TimeoutMs { get; init; }
    public string Signer { get; init; } = "";
    /// <summary>False for the signed tombstone Unregister-SeaportService writes before deleting the key.</summary>
    public bool Live { get; init; } = true;

    public string Role => Version.Length == 0 ? Name : $"{Name}@{Version}";
    public string Key => KeyFor(Id);
    public static string KeyFor(string id) => "s." + id;
    public const string KeyPrefix = "s.";

    /// <summary>Same registration, ignoring heartbeat time and signer: an Updated event is a change here.</summary>
    public bool SameContent(SeaportEntry other) =>
        Id == other.Id && Name == other.Name && Version == other.Version && Host == other.Host && Port == other.Port && Live == other.Live
        && Same(Ports, other.Ports) && Same(Meta, other.Meta);

    private static bool Same<T>(IReadOnlyDictionary<string, T> a, IReadOnlyDictionary<string, T> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && EqualityComparer<T>.Default.Equals(kv.Value, v));
}

/// <summary>Signs and verifies <see cref="SeaportEntry"/> values.</summary>
public static class SeaportEntryCodec
{
    /// <summary>Entry signatures are made for this purpose only.</summary>
    public static readonly SignatureDomain Domain = new("seaport-entry");
    /// <summary>The trust store scope that seaport.authorized grants.</summary>
    public const string TrustScope = "seaport";
    public const int MaxValueBytes = 64 * 1024;

    public static byte[] Encode(SeaportEntry entry, SigningKey key)
    {
        var json = WriteJson(entry with { Signer = key.PublicBase58 });
        var signature = key.Sign(Domain, SignedBytes(entry.Key, json));
        var head = Encoding.ASCII.GetBytes(Base58.Encode(signature) + "\n");
        return [.. head, .. json];
    }

    /// <summary>What the signature covers after its domain: the key, so an entry cannot be moved to another id, and the json as stored.</summary>
    private static byte[] SignedBytes(string key, ReadOnlySpan<byte> json) =>
        [.. Encoding.UTF8.GetBytes(key + "\n"), .. json];

    /// <summary>Reads a stored value without checking its signature (cheap: for indexing; see <see cref="Decode"/>).</summary>
    public static SeaportEntry? Parse(ReadOnlySpan<byte> value, out string? problem)
    {
        problem = null;
        if (value.Length == 0) { problem = "empty value"; return null; }
        if (value.Length > MaxValueBytes) { problem = $"value of {value.Length} bytes (more than {MaxValueBytes})"; return null; }
        var nl = value.IndexOf((byte)'\n');
        if (nl <= 0) { problem = "not signed (no signature line)"; return null; }
        try { return ReadJson(value[(nl + 1)..]); }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException)
        {
            problem = $"corrupt entry ({e.Message})";
            return null;
        }
    }

    /// <summary>Decodes and verifies a stored value. Returns null with <paramref name="problem"/> set when the value is
    /// corrupt, unsigned, badly signed, stored under another key, or signed by a key the trust store does not authorize
    /// for seaport (seaport.authorized).</summary>
    public static SeaportEntry? Decode(string key, ReadOnlySpan<byte> value, TrustStore trust, out string? problem)
    {
        var entry = Parse(value, out problem);
        if (entry is null) return null;
        var nl = value.IndexOf((byte)'\n');
        if (!Base58.TryDecode(value[..nl], out var signature) || signature.Length != 64) { problem = "not signed (the first line is not a base58 Ed25519 signature)"; return null; }
        if (VerificationKey.Import(entry.Signer) is not { } publicKey) { problem = "the signer is not a base58 Ed25519 public key"; return null; }
        if (!VerificationKey.Verify(publicKey, Domain, SignedBytes(key, value[(nl + 1)..]), signature)) { problem = $"bad signature (claimed signer {entry.Signer})"; return null; }
        if (entry.Key != key) { problem = $"entry for id '{entry.Id}' stored under key '{key}'"; return null; }
        if (!trust.IsAuthorized(TrustScope, entry.Signer)) { problem = $"signed by {entry.Signer}, which is not in seaport.authorized"; return null; }
        return entry;
    }

    private static byte[] WriteJson(SeaportEntry e)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("id", e.Id);
            w.WriteString("name", e.Name);
            w.WriteString("version", e.Version);
            w.WriteString("host", e.Host);
            w.WriteNumber("port", e.Port);
            w.WriteStartObject("ports");
            foreach (var (k, v) in e.Ports) w.WriteNumber(k, v);
            w.WriteEndObject();
            w.WriteStartObject("meta");
            foreach (var (k, v) in e.Meta) w.WriteString(k, v);
            w.WriteEndObject();
            w.WriteNumber("registered", e.Registered);
            w.WriteNumber("time", e.Time);
            w.WriteNumber("timeout", e.TimeoutMs);
            w.WriteString("signer", e.Signer);
            w.WriteBoolean("live", e.Live);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static SeaportEntry ReadJson(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        using var doc = JsonDocument.ParseValue(ref reader);
        var r = doc.RootElement;
        var ports = new Dictionary<string, int>();
        foreach (var p in r.GetProperty("ports").EnumerateObject()) ports[p.Name] = p.Value.GetInt32();
        var meta = new Dictionary<string, string>();
        foreach (var p in r.GetProperty("meta").EnumerateObject()) meta[p.Name] = p.Value.GetString() ?? "";
        var entry = new SeaportEntry
        {
            Id = r.GetProperty("id").GetString() ?? throw new FormatException("no id"),
            Name = r.GetProperty("name").GetString() ?? throw new FormatException("no name"),
            Version = r.GetProperty("version").GetString() ?? "",
            Host = r.GetProperty("host").GetString() ?? throw new FormatException("no host"),
            Port = r.GetProperty("port").GetInt32(),
            Ports = ports,
            Meta = meta,
            Registered = r.GetProperty("registered").GetInt64(),
            Time = r.GetProperty("time").GetInt64(),
            TimeoutMs = r.GetProperty("timeout").GetInt64(),
            Signer = r.GetProperty("signer").GetString() ?? "",
            Live = r.GetProperty("live").GetBoolean(),
        };
        if (entry.Port is < 0 or > 65535 || entry.TimeoutMs <= 0) throw new FormatException("port or timeout out of range");
        return entry;
    }
}
