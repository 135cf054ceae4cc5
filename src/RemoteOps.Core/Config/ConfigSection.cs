using YamlDotNet.RepresentationModel;

namespace RemoteOps.Config;

/// <summary>One tool's settings in the shared config file. Immutable; a section the file leaves out is a new
/// instance of its type, so defaults live in the section's own initializers.</summary>
public abstract record ConfigSection
{
    /// <summary>Puts this section's settings into Get-RemoteOpsConfig's output; the shared describer knows no tool.</summary>
    public virtual void Describe(RemoteOpsConfigInfo info) { }

    /// <summary>Keys this section grants a trust-store scope (seaport.authorized grants "seaport"); none by default.</summary>
    public virtual IEnumerable<KeyValuePair<string, IReadOnlyList<string>>> TrustGrants => [];

    /// <summary>The grants as the whole config resolves them: a section that names peers by destination (steward's
    /// allowed senders) maps them to keys here. <see cref="TrustGrants"/> by default.</summary>
    public virtual IEnumerable<KeyValuePair<string, IReadOnlyList<string>>> TrustGrantsFor(RemoteOpsConfig config) => TrustGrants;

    /// <summary>Test-RemoteOpsConfig's checks of this section beyond what loading refuses (herder: can the node run
    /// its proxy); none by default. The shared checker knows no tool.</summary>
    public virtual IEnumerable<RemoteOpsConfigCheck> Check(RemoteOpsConfig config) => [];
}

/// <summary>Reads one tool's keys: either a nested mapping (<see cref="SectionName"/>, e.g. <c>seaport:</c>) or keys at
/// the top level (remaphore's <c>subject:</c>), since config keys are a contract and cannot move. Registered with
/// <see cref="ConfigSections.Register"/>; the loader dispatches to it without naming it.</summary>
public abstract class ConfigSectionReader
{
    /// <summary>The tool's name; orders the registry, and so the list of known keys in error messages.</summary>
    public abstract string Tool { get; }

    /// <summary>The nested mapping this reader owns, or null when its <see cref="Keys"/> sit at the top level.</summary>
    public virtual string? SectionName => null;

    /// <summary>The keys it reads, in the order error messages list them: inside <see cref="SectionName"/>, or at the top level.</summary>
    public abstract IReadOnlyList<string> Keys { get; }

    /// <summary>What this reader claims at the top level: its section name, or its keys.</summary>
    public IReadOnlyList<string> TopLevelKeys => SectionName is { } name ? [name] : Keys;

    public abstract Type SectionType { get; }

    /// <summary>The section as it is when the file does not mention it.</summary>
    public abstract ConfigSection CreateDefault();

    /// <summary>Returns <paramref name="current"/> with one key applied. <paramref name="key"/> is the key as error
    /// messages name it: "seaport.bucket" inside a section, "subject" at the top level.</summary>
    public abstract ConfigSection Read(ConfigSection current, string key, YamlNode value, ConfigReader reader);
}

/// <summary>A <see cref="ConfigSectionReader"/> for the section type <typeparamref name="TSection"/>.</summary>
public abstract class ConfigSectionReader<TSection> : ConfigSectionReader where TSection : ConfigSection, new()
{
    public sealed override Type SectionType => typeof(TSection);

    public sealed override ConfigSection CreateDefault() => new TSection();

    public sealed override ConfigSection Read(ConfigSection current, string key, YamlNode value, ConfigReader reader) =>
        Read((TSection)current, key, value, reader);

    /// <summary>Returns <paramref name="current"/> with one key applied (typically <c>current with { ... }</c>).</summary>
    protected abstract TSection Read(TSection current, string key, YamlNode value, ConfigReader reader);
}
