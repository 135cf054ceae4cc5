using System.Globalization;
using System.Management.Automation;

namespace RemoteOps.PowerShell.Internal;

/// <summary>Lets a point-in-time parameter take a DateTime or DateTimeOffset, or a duration from now (a TimeSpan, a
/// number of seconds, '30d', '1h30m'), as the "-Expires &lt;DateTime or duration&gt;" says.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ExpiryTransformationAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        var value = inputData is PSObject pso ? pso.BaseObject : inputData;
        switch (value)
        {
            case DateTimeOffset d: return d;
            case DateTime d: return new DateTimeOffset(d.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(d, DateTimeKind.Local) : d);
            case string s when DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out var at)
                              && !RemoteOps.Config.Duration.TryParse(s, out _):
                return at;
            default:
                // A duration from now: the same forms every duration parameter takes.
                var converted = new DurationTransformationAttribute().Transform(engineIntrinsics, inputData);
                if ((converted is PSObject p ? p.BaseObject : converted) is TimeSpan span) return DateTimeOffset.UtcNow + span;
                throw new ArgumentTransformationMetadataException($"'{value}' is neither a date nor a duration from now (such as '30d' or '12h').");
        }
    }
}
