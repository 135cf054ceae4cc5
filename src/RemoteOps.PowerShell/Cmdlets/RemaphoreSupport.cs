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

/// <summary>What the remaphore cmdlets share: config loading and turning core exceptions into ErrorRecords.</summary>
internal static class RemaphoreSupport
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, (DateTime WriteTime, long Length, RemoteOpsConfig Config)> Configs = new();

    /// <summary>Loads the config, re-reading the file only when it changed: a loop of 1,000 Send-Remaphore parses it once
    /// (and the peer keys it lists are imported once).</summary>
    public static RemoteOpsConfig LoadConfig(RemoteOpsCmdlet cmdlet)
    {
        // An absolute file system path needs no PowerShell provider resolution (which costs more than the rest of a send).
        var path = cmdlet.ConfigPath is { } given && Path.IsPathFullyQualified(given) && !given.Contains('*') ? given : cmdlet.ResolvedConfigPathInternal;
        try
        {
            var file = new FileInfo(Path.GetFullPath(ConfigLoader.ResolvePath(path)));
            if (file.Exists && Configs.TryGetValue(file.FullName, out var cached) && cached.WriteTime == file.LastWriteTimeUtc && cached.Length == file.Length)
                return cached.Config;
            var config = ConfigLoader.Load(path, cmdlet.WriteWarning);
            if (file.Exists) Configs[file.FullName] = (file.LastWriteTimeUtc, file.Length, config);
            return config;
        }
        catch (ConfigException e)
        {
            cmdlet.ThrowTerminatingError(RemoteOpsCmdlet.ConfigErrorRecord(e));
            throw; // unreachable
        }
    }

    /// <summary>The ErrorRecord for an exception the core raises on purpose; null for anything else (a bug: let it surface).</summary>
    public static ErrorRecord? ToErrorRecord(Exception e, object? target) => e switch
    {
        RemaphorePatternException => new ErrorRecord(e, "RemoteOps.RemaphoreInvalidPattern", ErrorCategory.InvalidArgument, target),
        RemaphoreArgumentException => new ErrorRecord(e, "RemoteOps.RemaphoreInvalidArgument", ErrorCategory.InvalidArgument, target),
        IdentityException => new ErrorRecord(e, "RemoteOps.IdentityError", ErrorCategory.InvalidArgument, target),
        RemoteOpsConnectionException => new ErrorRecord(e, "RemoteOps.ConnectionError", ErrorCategory.ConnectionError, target),
        RemaphoreLatchException => new ErrorRecord(e, "RemoteOps.RemaphoreLatchError", ErrorCategory.ResourceUnavailable, target),
        ConfigException c => RemoteOpsCmdlet.ConfigErrorRecord(c),
        TimeoutException => new ErrorRecord(e, "RemoteOps.RemaphoreTimeout", ErrorCategory.OperationTimeout, target),
        // NATS's own exceptions (by name: their assembly lives in the module's load context, not ours).
        _ when e.GetType().Namespace?.StartsWith("NATS.", StringComparison.Ordinal) == true
            => new ErrorRecord(e, "RemoteOps.ConnectionError", ErrorCategory.ConnectionError, target),
        _ => null,
    };

    /// <summary>Verbs as the seed takes them: an array, or one comma-separated string.</summary>
    public static string[]? SplitVerbs(string[]? verbs) =>
        verbs?.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToArray();

    public static string Describe(TimeSpan t) => Duration.Format(t);
}
