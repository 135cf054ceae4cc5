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

    /// <summary>A base58 Ed25519 signature is at most 88 characters; a longer first line is not one (and decoding a long
    /// one costs quadratic time).</summary>
    private const int MaxSignatureLine = 100;
    /// <summary>The latest time a value may carry (9999-12-31, as far as DateTimeOffset goes), unix ms.</summary>
    public const long MaxUnixMs = 253_402_300_799_999;
    /// <summary>The longest timeout an entry may carry: a year (the bucket's MaxAge removes a silent key within a day anyway).</summary>
    public const long MaxTimeoutMs = 365L * 24 * 3600 * 1000;
    /// <summary>Host names: at most 253 characters, as DNS.</summary>
    public const int MaxHostLength = 253;
    /// <summary>Public keys are 44 base58 characters; a signer longer than this is not one.</summary>
    private const int MaxSignerLength = 64;

    /// <summary>Reads a stored value without checking its signature (cheap: for indexing; see <see cref="Decode"/>).
    /// Never throws: the bucket is written by anyone with write access, so every field is bounded here (numbers within
    /// what the index's time arithmetic can take, strings within what a registration can carry) and anything else is
    /// a null with <paramref name="problem"/> set.</summary>
    public static SeaportEntry? Parse(ReadOnlySpan<byte> value, out string? problem)
    {
        problem = null;
        if (value.Length == 0) { problem = "empty value"; return null; }
        if (value.Length > MaxValueBytes) { problem = $"value of {value.Length} bytes (more than {MaxValueBytes})"; return null; }
        var nl = value.IndexOf((byte)'\n');
        if (nl <= 0 || nl > MaxSignatureLine) { problem = "not signed (no signature line)"; return null; }
        try
        {
            var entry = ReadJson(value[(nl + 1)..], out problem);
            if (entry is null) problem = $"corrupt entry ({problem})";
            return entry;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or ArgumentException)
        {
            // Malformed JSON or UTF-8 (what JsonDocument reports by exception).
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

    private static SeaportEntry? ReadJson(ReadOnlySpan<byte> json, out string? problem)
    {
        var reader = new Utf8JsonReader(json);
        using var doc = JsonDocument.ParseValue(ref reader);
        var r = doc.RootElement;
        problem = null;
        if (r.ValueKind != JsonValueKind.Object) { problem = "not a JSON object"; return null; }
        if (!Text(r, "id", out var id) || !Text(r, "name", out var name) || !Text(r, "version", out var version) || !Text(r, "host", out var host)
            || !Text(r, "signer", out var signer))
        { problem = "id, name, version, host or signer missing or not a string"; return null; }
        if (id.Length is 0 or > 128 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')) { problem = "the id is not a registration id"; return null; }
        if (name.Length > 256 || version.Length > 256 || host.Length > MaxHostLength) { problem = "name, version or host too long"; return null; }
        if (signer.Length > MaxSignerLength || !signer.All(char.IsAsciiLetterOrDigit)) { problem = "the signer is not a base58 public key"; return null; }
        if (!Number(r, "port", 0, 65535, out var port) || !Number(r, "registered", 0, MaxUnixMs, out var registered)
            || !Number(r, "time", 0, MaxUnixMs, out var time) || !Number(r, "timeout", 1, MaxTimeoutMs, out var timeout))
        { problem = $"port, registered, time or timeout missing or out of range (port 0-65535, times 0-{MaxUnixMs}, timeout 1-{MaxTimeoutMs} ms)"; return null; }
        if (!r.TryGetProperty("live", out var liveElement) || liveElement.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        { problem = "live missing or not a boolean"; return null; }
        if (!r.TryGetProperty("ports", out var portsElement) || portsElement.ValueKind != JsonValueKind.Object
            || !r.TryGetProperty("meta", out var metaElement) || metaElement.ValueKind != JsonValueKind.Object)
        { problem = "ports or meta missing or not an object"; return null; }
        var ports = new Dictionary<string, int>();
        foreach (var p in portsElement.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out var v) || v is < 0 or > 65535) { problem = $"port '{p.Name}' out of range"; return null; }
            ports[p.Name] = v;
        }
        var meta = new Dictionary<string, string>();
        foreach (var p in metaElement.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String) { problem = $"metadata '{p.Name}' is not a string"; return null; }
            meta[p.Name] = p.Value.GetString()!;
        }
        return new SeaportEntry
        {
            Id = id, Name = name, Version = version, Host = host, Port = (int)port, Ports = ports, Meta = meta,
            Registered = registered, Time = time, TimeoutMs = timeout, Signer = signer, Live = liveElement.GetBoolean(),
        };
    }

    private static bool Text(JsonElement r, string name, out string value)
    {
        value = "";
        if (!r.TryGetProperty(name, out var e) || e.ValueKind != JsonValueKind.String) return false;
        value = e.GetString()!;
        return true;
    }

    private static bool Number(JsonElement r, string name, long min, long max, out long value)
    {
        value = 0;
        return r.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out value) && value >= min && value <= max;
    }

    /// <summary>The most bytes <see cref="Encode"/> can make of <paramref name="entry"/> whatever its ports, times and
    /// signer: what a registration must fit into (<see cref="MaxValueBytes"/>, the server's max payload) before anything
    /// is claimed or written.</summary>
    public static int MaxEncodedLength(SeaportEntry entry)
    {
        var widest = entry with
        {
            Port = 65535,
            Ports = entry.Ports.ToDictionary(kv => kv.Key, _ => 65535),
            Registered = MaxUnixMs, Time = MaxUnixMs, TimeoutMs = MaxTimeoutMs,
            Signer = new string('z', MaxSignerLength),
        };
        return MaxSignatureLine + 1 + WriteJson(widest).Length;
    }
}
