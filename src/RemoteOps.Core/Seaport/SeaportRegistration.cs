using System.Globalization;
using System.Numerics;

namespace RemoteOps.Seaport;

/// <summary>What Register-SeaportService (and Start-SeaportService) asks for. <see cref="Create"/> builds one from
/// what the cmdlets bind; <see cref="Validate"/> checks everything the wire must carry before anything is claimed or
/// written.</summary>
public sealed record SeaportRegistration
{
    public required string Role { get; init; }
    public int? Port { get; init; }
    public IReadOnlyList<string> PortNames { get; init; } = [];
    public int[]? Range { get; init; }
    public IReadOnlyDictionary<string, string> Meta { get; init; } = new Dictionary<string, string>();
    public string? HostName { get; init; }
    public string? Id { get; init; }
    /// <summary>The service already listens on <see cref="Port"/>: skip the bind check.</summary>
    public bool AlreadyListening { get; init; }
    /// <summary>Keep it alive with heartbeats (false: the caller does, e.g. a benchmark).</summary>
    public bool Heartbeat { get; init; } = true;
    /// <summary>Ports already claimed for this id (Start-SeaportService reserves them before the command runs), in
    /// PortNames order; used instead of assigning.</summary>
    public IReadOnlyList<int>? ClaimedPorts { get; init; }
    /// <summary>Claim the ports but do not write the entry (see <see cref="SeaportRegistrar.ReserveAsync"/>).</summary>
    internal bool ReserveOnly { get; init; }

    /// <summary>Port names: 1 to 64 letters, digits, '-' or '_'; at most this many per registration.</summary>
    public const int MaxPortNames = 64;

    /// <summary>A registration from what a cmdlet binds: metadata values are converted by <see cref="SeaportMeta.ToText"/>
    /// (refused with <see cref="SeaportArgumentException"/> naming the key when they cannot be), and the whole request
    /// is validated.</summary>
    public static SeaportRegistration Create(string role, int? port = null, IReadOnlyList<string>? portNames = null, int[]? range = null,
        IEnumerable<KeyValuePair<string, object?>>? meta = null, string? hostName = null, string? id = null, bool alreadyListening = false)
    {
        var registration = new SeaportRegistration
        {
            Role = role,
            Port = port,
            PortNames = portNames ?? [],
            Range = range,
            Meta = SeaportMeta.Convert(meta, allowNull: false)!,
            HostName = hostName,
            Id = id,
            AlreadyListening = alreadyListening,
        };
        registration.Validate();
        if (range is not null) SeaportRegistrar.ValidateRange(range);
        return registration;
    }

    /// <summary>Checks the request against what the registry and the wire can carry (role, port, port names, metadata,
    /// host name, id, and the size of the entry it makes); returns the parsed role, the port names, the host and the id
    /// (random when none was given).</summary>
    /// <exception cref="SeaportArgumentException">Anything out of bounds.</exception>
    internal (SeaportRole Role, string[] Names, string Host, string Id) Validate()
    {
        var role = SeaportRole.Parse(Role);
        if (Port is { } p && p is < 1 or > 65535) throw new SeaportArgumentException($"Port {p} is outside 1-65535.");
        var names = PortNames.Select(n => n?.Trim() ?? "").ToArray();
        if (names.Length > MaxPortNames) throw new SeaportArgumentException($"{names.Length} port names: at most {MaxPortNames}.");
        foreach (var n in names)
            if (n.Length is 0 or > 64 || !n.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                throw new SeaportArgumentException($"'{SeaportMeta.Shown(n)}' is not a port name: use 1 to 64 letters, digits, '-' or '_'.");
        if (names.Distinct(StringComparer.OrdinalIgnoreCase).Count() != names.Length) throw new SeaportArgumentException("The port names repeat.");
        foreach (var k in Meta.Keys) SeaportMeta.ValidateKey(k);
        var id = Id ?? Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
        SeaportRegistrar.ValidateId(id);
        var host = string.IsNullOrWhiteSpace(HostName) ? SeaportRegistrar.LocalHostName : HostName.Trim();
        ValidateHostName(host);
        CheckFits(Prototype(role, names, host, id), maxPayload: null);
        return (role, names, host, id);
    }

    /// <summary>Host names: up to 253 ASCII letters, digits, '.', '-', '_' or ':' (an IPv6 address), as DNS carries
    /// them (an internationalized name goes in its xn-- form).</summary>
    public static void ValidateHostName(string host)
    {
        if (host.Length is 0 or > SeaportEntryCodec.MaxHostLength || !host.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or ':'))
            throw new SeaportArgumentException($"'{SeaportMeta.Shown(host)}' is not a host name: use 1 to {SeaportEntryCodec.MaxHostLength} letters, digits, '.', '-', '_' or ':'.");
    }

    /// <summary>The entry this request makes, with its ports still unknown (the size check takes the widest).</summary>
    internal SeaportEntry Prototype(SeaportRole role, string[] names, string host, string id) => new()
    {
        Id = id,
        Name = role.Name,
        Version = role.VersionText,
        Host = host,
        Ports = names.Length == 0 ? new Dictionary<string, int> { ["port"] = 0 } : names.ToDictionary(n => n, _ => 0),
        Meta = Meta,
    };

    /// <summary>Refuses an entry that would not reach readers: more than <see cref="SeaportEntryCodec.MaxValueBytes"/>
    /// (readers drop it) or than the server's max payload (the server refuses it).</summary>
    internal static void CheckFits(SeaportEntry entry, int? maxPayload)
    {
        var size = SeaportEntryCodec.MaxEncodedLength(entry);
        // Headers of a compare-and-set put ride in the same message.
        const int headerRoom = 512;
        var limit = maxPayload is { } max && max - headerRoom < SeaportEntryCodec.MaxValueBytes ? max - headerRoom : SeaportEntryCodec.MaxValueBytes;
        if (size > limit)
            throw new SeaportArgumentException($"The registration would be {size} bytes stored; the registry carries at most {limit} (readers drop larger entries). Keep the metadata short: it is for addresses and tags, not data.");
    }
}

/// <summary>Seaport metadata: string keys and values, converted from what PowerShell users put in a hashtable.</summary>
public static class SeaportMeta
{
    /// <summary>Metadata keys: 1 to 256 characters, not blank.</summary>
    public const int MaxKeyLength = 256;

    /// <summary>Converts name/value pairs into metadata; a null value is kept (Set-SeaportService: remove the key) when
    /// <paramref name="allowNull"/>, else refused.</summary>
    public static Dictionary<string, string?> Convert(IEnumerable<KeyValuePair<string, object?>>? pairs, bool allowNull)
    {
        var meta = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (pairs is null) return meta;
        foreach (var (key, value) in pairs)
        {
            ValidateKey(key);
            if (value is null && !allowNull) throw new SeaportArgumentException($"Metadata '{Shown(key)}' has no value.");
            meta[key] = value is null ? null : ToText(key, value);
        }
        return meta;
    }

    /// <summary>A metadata value as text: strings as they are; numbers and booleans in the invariant culture; dates as
    /// ISO 8601 round-trip ("o"). Anything else (a hashtable, an array, a script block, an object) is refused rather than
    /// stored as its type name or an empty string.</summary>
    public static string ToText(string key, object value) => value switch
    {
        string s => s,
        char c => c.ToString(),
        bool b => b ? "True" : "False",
        DateTime d => d.ToString("o", CultureInfo.InvariantCulture),
        DateTimeOffset d => d.ToString("o", CultureInfo.InvariantCulture),
        byte or sbyte or short or ushort or int or uint or long or ulong or Int128 or UInt128 or BigInteger or Half or float or double or decimal
            => ((IFormattable)value).ToString(null, CultureInfo.InvariantCulture),
        _ => throw new SeaportArgumentException(
            $"Metadata '{Shown(key)}' is a {value.GetType().Name}: give a string, a number, a boolean or a date (convert it yourself, e.g. with ConvertTo-Json, if you mean to store it as text)."),
    };

    public static void ValidateKey(string key)
    {
        if (string.IsNullOrWhiteSpace(key)) throw new SeaportArgumentException("A metadata key is empty.");
        if (key.Length > MaxKeyLength) throw new SeaportArgumentException($"The metadata key '{Shown(key)}' is longer than {MaxKeyLength} characters.");
    }

    /// <summary>Text quoted in a message, cut to a readable length.</summary>
    internal static string Shown(string text) => text.Length <= 60 ? text : text[..60] + $"… ({text.Length} characters)";
}
