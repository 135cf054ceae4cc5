using System.Management.Automation;

namespace RemoteOps.PowerShell.Internal;

/// <summary>Lets a TimeSpan parameter take a TimeSpan, a number of seconds, or a duration as the seed writes it
/// ("1h2m3s4ms", "250ms", "00:01:30").</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class DurationTransformationAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        var value = inputData is PSObject pso ? pso.BaseObject : inputData;
        switch (value)
        {
            case TimeSpan t:
                return t >= TimeSpan.Zero ? t : throw new ArgumentTransformationMetadataException("A duration cannot be negative.");
            case int or long or short or byte or uint or ulong or double or float or decimal:
                var seconds = Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture);
                if (seconds < 0 || double.IsNaN(seconds) || seconds > TimeSpan.MaxValue.TotalSeconds)
                    throw new ArgumentTransformationMetadataException($"{seconds} is not a usable number of seconds.");
                return TimeSpan.FromSeconds(seconds);
            case string s:
                return Parse(s);
            default:
                return inputData;
        }
    }

    private static TimeSpan Parse(string s) =>
        RemoteOps.Config.Duration.TryParse(s, out var t)
            ? t
            : throw new ArgumentTransformationMetadataException($"'{s}' is not a duration; use seconds (30), a duration (1h2m3s4ms, 250ms) or a TimeSpan (00:01:30).");
}
