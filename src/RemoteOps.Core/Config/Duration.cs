using System.Globalization;
using System.Text.RegularExpressions;

namespace RemoteOps.Config;

/// <summary>Durations as users write them: Go's "1h2m3s4ms" (the remaphore seed's format), plain seconds, or a TimeSpan "00:01:30".</summary>
public static partial class Duration
{
    [GeneratedRegex(@"^(?:(?<n>\d+(?:\.\d+)?)(?<u>ns|us|µs|ms|s|m|h|d))+$", RegexOptions.CultureInvariant)]
    private static partial Regex GoDuration();

    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        text = text.Trim();
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            if (seconds < 0 || double.IsNaN(seconds) || double.IsInfinity(seconds) || seconds > TimeSpan.MaxValue.TotalSeconds) return false;
            value = TimeSpan.FromSeconds(seconds);
            return true;
        }
        var m = GoDuration().Match(text);
        if (m.Success)
        {
            double ticks = 0;
            var ns = m.Groups["n"].Captures;
            var us = m.Groups["u"].Captures;
            for (int i = 0; i < ns.Count; i++)
            {
                var n = double.Parse(ns[i].Value, CultureInfo.InvariantCulture);
                ticks += us[i].Value switch
                {
                    "ns" => n / 100,
                    "us" or "µs" => n * 10,
                    "ms" => n * TimeSpan.TicksPerMillisecond,
                    "s" => n * TimeSpan.TicksPerSecond,
                    "m" => n * TimeSpan.TicksPerMinute,
                    "h" => n * TimeSpan.TicksPerHour,
                    _ => n * TimeSpan.TicksPerDay,
                };
            }
            if (ticks > TimeSpan.MaxValue.Ticks) return false;
            value = TimeSpan.FromTicks((long)ticks);
            return true;
        }
        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value) && value >= TimeSpan.Zero) return true;
        value = default;
        return false;
    }

    public static TimeSpan Parse(string text) =>
        TryParse(text, out var v) ? v : throw new FormatException($"'{text}' is not a duration; use e.g. 30, 1h2m3s4ms or 00:01:30.");

    /// <summary>Formats as Go does ("1h2m3.5s"), so values round-trip through the config.</summary>
    public static string Format(TimeSpan t)
    {
        if (t == TimeSpan.Zero) return "0s";
        var parts = new System.Text.StringBuilder();
        if (t.TotalHours >= 1) parts.Append((long)t.TotalHours).Append('h');
        if (t.Minutes > 0) parts.Append(t.Minutes).Append('m');
        double s = t.Seconds + t.Milliseconds / 1000.0;
        if (s > 0) parts.Append(s.ToString(CultureInfo.InvariantCulture)).Append('s');
        return parts.Length == 0 ? $"{t.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms" : parts.ToString();
    }
}
