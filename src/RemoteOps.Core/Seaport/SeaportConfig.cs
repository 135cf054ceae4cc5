using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using RemoteOps.Config;
using YamlDotNet.RepresentationModel;

namespace RemoteOps.Seaport;

/// <summary>The <c>seaport:</c> section of the config file.</summary>
public sealed record SeaportConfig : ConfigSection
{
    private readonly int[] _range = [20000, 32767];

    public string Bucket { get; init; } = "seaport";
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromSeconds(15);
    /// <summary>Null means 3 x heartbeat, as in seaport.</summary>
    public TimeSpan? Timeout { get; init; }
    /// <summary>Port range for assignment, low then high; the default stays below the Linux (32768+) and Windows
    /// (49152+) ephemeral ranges. An array for its callers, so it is copied in and out to keep the section immutable.</summary>
    public int[] Range { get => [.. _range]; init => _range = [.. value]; }
    public IReadOnlyList<string> Authorized { get; init; } = [];

    public TimeSpan EffectiveTimeout => Timeout ?? Heartbeat * 3;

    /// <summary>seaport.authorized is the trust store's "seaport" scope: when set, only those keys may write entries.</summary>
    public override IEnumerable<KeyValuePair<string, IReadOnlyList<string>>> TrustGrants => [new(SeaportEntryCodec.TrustScope, Authorized)];

    public override void Describe(RemoteOpsConfigInfo info) => info.Seaport = new RemoteOpsSeaportInfo
    {
        Bucket = Bucket,
        Heartbeat = Heartbeat,
        Timeout = EffectiveTimeout,
        Range = Range,
        Authorized = Authorized.ToArray(),
    };

    // The record's generated equality would compare the range array by reference.
    public bool Equals(SeaportConfig? other) =>
        other is not null && Bucket == other.Bucket && Heartbeat == other.Heartbeat && Timeout == other.Timeout
        && _range.AsSpan().SequenceEqual(other._range) && Authorized.SequenceEqual(other.Authorized);

    public override int GetHashCode() => HashCode.Combine(Bucket, Heartbeat, Timeout, _range[0], _range[1]);
}

/// <summary>Reads <c>seaport:</c> (bucket, heartbeat, timeout, range, authorized).</summary>
public sealed class SeaportConfigReader : ConfigSectionReader<SeaportConfig>
{
    public override string Tool => "seaport";
    public override string? SectionName => "seaport";
    public override IReadOnlyList<string> Keys { get; } = ["bucket", "heartbeat", "timeout", "range", "authorized"];

    /// <summary>Heartbeats faster than 100ms would load the server for nothing; slower than a day, a dead service lingers.</summary>
    public static readonly TimeSpan MinHeartbeat = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan MaxHeartbeat = TimeSpan.FromDays(1);
    /// <summary>Room for the default, 3 x the longest heartbeat.</summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromDays(3);

    protected override SeaportConfig Read(SeaportConfig current, string key, YamlNode value, ConfigReader reader) => key switch
    {
        "seaport.bucket" => current with { Bucket = reader.BucketName(value, key) ?? current.Bucket },
        "seaport.heartbeat" => current with { Heartbeat = reader.Duration(value, key, MinHeartbeat, MaxHeartbeat) },
        "seaport.timeout" => current with { Timeout = reader.Duration(value, key, MinHeartbeat, MaxTimeout) },
        "seaport.range" => current with { Range = ReadRange(value, key, reader) },
        "seaport.authorized" => current with { Authorized = reader.StringList(value, key) },
        _ => throw new ArgumentOutOfRangeException(nameof(key), key, "not a seaport key"),
    };

    private static int[] ReadRange(YamlNode value, string key, ConfigReader reader)
    {
        var range = reader.Sequence(value, key).Select(n => reader.Int(n, key, 1, 65535)).ToArray();
        if (range.Length != 2 || range[0] > range[1])
            throw reader.Error(value, key, "give two ports, low then high, e.g. [20000, 32767].");
        return range;
    }

    // Registered when the assembly loads, before any config is read, so the loader never names the tool.
#pragma warning disable CA2255 // a library's module initializer is exactly what this is for
    [ModuleInitializer]
    internal static void Register() => ConfigSections.Register(new SeaportConfigReader());
#pragma warning restore CA2255
}

/// <summary>Keeps <c>config.Seaport.Bucket</c> and friends spelled as before the sections moved to their tools.</summary>
public static class SeaportConfigAccess
{
    // [NotNull]: like a member access, using the property tells the flow analysis the config is not null.
    extension([NotNull] RemoteOpsConfig config)
    {
        /// <summary>The <c>seaport:</c> section; its defaults when the file has none.</summary>
        public SeaportConfig Seaport => config.Section<SeaportConfig>();
    }
}
