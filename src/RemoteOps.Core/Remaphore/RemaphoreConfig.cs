using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using RemoteOps.Config;
using YamlDotNet.RepresentationModel;

namespace RemoteOps.Remaphore;

/// <summary>Remaphore's own settings. Its keys sit at the top level of the file (subject:, latch_bucket:), as in the
/// remaphore seed; destination, allow_skew and max_payload are shared (the node's name and the verifier's limits).</summary>
public sealed record RemaphoreConfig : ConfigSection
{
    /// <summary>The NATS subject root: messages travel on &lt;subject&gt;.all or &lt;subject&gt;.&lt;name&gt;.</summary>
    public string Subject { get; init; } = "remaphore";
    /// <summary>JetStream key-value bucket holding latched signals (Send-Remaphore -Latch).</summary>
    public string LatchBucket { get; init; } = "remaphore_latch";

    public override void Describe(RemoteOpsConfigInfo info)
    {
        info.Subject = Subject;
        info.LatchBucket = LatchBucket;
    }
}

/// <summary>Reads remaphore's top-level keys: subject, latch_bucket.</summary>
public sealed class RemaphoreConfigReader : ConfigSectionReader<RemaphoreConfig>
{
    public override string Tool => "remaphore";
    public override IReadOnlyList<string> Keys { get; } = ["subject", "latch_bucket"];

    protected override RemaphoreConfig Read(RemaphoreConfig current, string key, YamlNode value, ConfigReader reader) => key switch
    {
        "subject" => current with { Subject = reader.Subject(value, key) },
        "latch_bucket" => current with { LatchBucket = reader.BucketName(value, key) ?? current.LatchBucket },
        _ => throw new ArgumentOutOfRangeException(nameof(key), key, "not a remaphore key"),
    };

    // Registered when the assembly loads, before any config is read, so the loader never names the tool.
#pragma warning disable CA2255 // a library's module initializer is exactly what this is for
    [ModuleInitializer]
    internal static void Register() => ConfigSections.Register(new RemaphoreConfigReader());
#pragma warning restore CA2255
}

/// <summary>Keeps <c>config.Subject</c> and <c>config.LatchBucket</c> spelled as before the section moved here.</summary>
public static class RemaphoreConfigAccess
{
    // [NotNull]: like a member access, using the property tells the flow analysis the config is not null.
    extension([NotNull] RemoteOpsConfig config)
    {
        public string Subject => config.Section<RemaphoreConfig>().Subject;
        public string LatchBucket => config.Section<RemaphoreConfig>().LatchBucket;
    }
}
