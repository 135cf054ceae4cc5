using System.Collections;
using System.Management.Automation;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.PowerShell.Internal;
using RemoteOps.Seaport;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>A parameter checked by a core parser while binding: a parse failure is a parameter error with its message.</summary>
public abstract class ValidateWithCoreAttribute : ValidateArgumentsAttribute
{
    protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
    {
        if ((arguments is PSObject p ? p.BaseObject : arguments) is not string s) return;
        try { Check(s); }
        catch (SeaportArgumentException e) { throw new ValidationMetadataException(e.Message); }
    }

    // Kept apart so that the core (in the module's load context) is only touched when validating.
    protected abstract void Check(string value);
}

/// <summary>A malformed role (name@version) is a parameter error, raised while binding.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateSeaportRoleAttribute : ValidateWithCoreAttribute
{
    protected override void Check(string value) => SeaportRole.Parse(value);
}

/// <summary>A malformed role pattern (name or name@semver-range) is a parameter error, raised while binding.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateSeaportPatternAttribute : ValidateWithCoreAttribute
{
    protected override void Check(string value) => SeaportPattern.Parse(value);
}

/// <summary>What the seaport cmdlets share: seaport's error ids, and hashtables into metadata.</summary>
internal static class SeaportSupport
{
    /// <summary>The ErrorRecord for an exception the core raises on purpose, with seaport's ids; null for anything else.</summary>
    public static ErrorRecord? ToErrorRecord(Exception e, object? target) => ErrorMap.ToErrorRecord(e, target, ToolErrorIds.Seaport);

    /// <summary>Runs one core call, writing a recognised failure as a non-terminating error (so the pipeline goes on).</summary>
    public static async Task<T?> Try<T>(PipelineWriter writer, object? target, Func<Task<T>> call) where T : class
    {
        try { return await call().ConfigureAwait(false); }
        catch (Exception e) when (e is not OperationCanceledException && ToErrorRecord(e, target) is { } record)
        {
            writer.WriteError(record);
            return null;
        }
    }

    /// <summary>A -Meta hashtable as name/value pairs for the core (which converts and checks the values), with
    /// PowerShell's wrappers taken off.</summary>
    public static IEnumerable<KeyValuePair<string, object?>>? MetaPairs(Hashtable? table)
    {
        if (table is null) return null;
        var pairs = new List<KeyValuePair<string, object?>>(table.Count);
        foreach (DictionaryEntry kv in table)
        {
            var key = kv.Key is PSObject pk ? pk.BaseObject : kv.Key;
            var keyText = key is IFormattable f ? f.ToString(null, System.Globalization.CultureInfo.InvariantCulture) : key?.ToString() ?? "";
            pairs.Add(new(keyText, kv.Value is PSObject pv ? pv.BaseObject : kv.Value));
        }
        return pairs;
    }
}
