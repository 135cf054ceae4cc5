using System.Management.Automation;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;
using RemoteOps.PowerShell.Internal;
using RemoteOps.Remaphore;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>A malformed destination pattern is a parameter error, raised while binding.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateDestinationPatternAttribute : ValidateArgumentsAttribute
{
    protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
    {
        var value = arguments is PSObject p ? p.BaseObject : arguments;
        if (value is string s) Check(s);
    }

    // Kept apart so that the core (in the module's load context) is only touched when validating.
    private static void Check(string s)
    {
        if (!DestinationPattern.TryValidate(s, out var problem))
            throw new ValidationMetadataException($"'{s}' is not a destination pattern: {problem} Patterns are reverse-dotted names (com.crypto.host.us), with one * per segment (com.crypto.*.us) and an optional last ** (com.crypto.**).");
    }
}

/// <summary>What the remaphore cmdlets share: remaphore's error ids, verb lists.</summary>
internal static class RemaphoreSupport
{
    /// <summary>The ErrorRecord for an exception the core raises on purpose, with remaphore's ids; null for anything else.</summary>
    public static ErrorRecord? ToErrorRecord(Exception e, object? target) => ErrorMap.ToErrorRecord(e, target, ToolErrorIds.Remaphore);

    /// <summary>Verbs as the seed takes them: an array, or one comma-separated string.</summary>
    public static string[]? SplitVerbs(string[]? verbs) =>
        verbs?.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToArray();

    public static string Describe(TimeSpan t) => Duration.Format(t);
}
