using System.Globalization;
using System.Text.RegularExpressions;

namespace RemoteOps.Config;

/// <summary>Durations as users write them: Go's "1h2m3s4ms" (the remaphore seed's format), plain seconds, or a TimeSpan "00:01:30".
/// Parsing never throws: a value beyond <see cref="TimeSpan.MaxValue"/> is simply not a duration.</summary>
public static partial class Duration
{
    [GeneratedRegex(@"^(?:(?<n>\d+(?:\.\d+)?)(?<u>ns|us|µs|ms|s|m|h|d))+$", RegexOptions.CultureInvariant)]
    private static partial Regex GoDuration();

    // Longer text is no duration anyone writes; the bound keeps parsing cheap on whatever arrives.
    private const int MaxLength = 256;

    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text) || text.Length > MaxLength) return false;
        text = text.Trim();
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            var ticks = Math.Round(seconds * TimeSpan.TicksPerSecond);
            // (double)long.MaxValue rounds up to 2^63, so < keeps the cast in range; NaN fails both tests.
            if (!(ticks >= 0 && ticks < long.MaxValue)) return false;
            value = TimeSpan.FromTicks((long)ticks);
            return true;
        }
        var m = GoDuration().Match(text);
        if (m.Success)
        {
            // decimal: exact for every TimeSpan, so Format's output parses back to the same ticks.
            decimal total = 0;
            var ns = m.Groups["n"].Captures;
            var us = m.Groups["u"].Captures;
            for (int i = 0; i < ns.Count; i++)
            {
                if (!decimal.TryParse(ns[i].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n)) return false;
                decimal scale = us[i].Value switch
                {
                    "ns" => 0.01m,
                    "us" or "µs" => 10,
                    "ms" => TimeSpan.TicksPerMillisecond,
                    "s" => TimeSpan.TicksPerSecond,
                    "m" => TimeSpan.TicksPerMinute,
                    "h" => TimeSpan.TicksPerHour,
                    _ => TimeSpan.TicksPerDay,
                };
                if (n > long.MaxValue / scale) return false;
                total += n * scale;
                if (total > long.MaxValue) return false;
            }
            total = Math.Round(total);
            if (total > long.MaxValue) return false;
            value = TimeSpan.FromTicks((long)total);
            return true;
        }
        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value) && value >= TimeSpan.Zero) return true;
        value = default;
        return false;
    }

    public static TimeSpan Parse(string text) =>
        TryParse(text, out var v) ? v : throw new FormatException($"'{text}' is not a duration; use e.g. 30, 1h2m3s4ms or 00:01:30.");

    /// <summary>Formats as Go does ("1h2m3.5s"), exact to the tick, so every non-negative value round-trips through
    /// the config. Integer arithmetic: a double's hours or seconds would round near the largest values.</summary>
    public static string Format(TimeSpan t)
    {
        if (t == TimeSpan.Zero) return "0s";
        var parts = new System.Text.StringBuilder();
        // A negative value (not a config value; shown in messages) keeps its sign; ulong holds -MinValue.
        ulong ticks = t.Ticks < 0 ? (ulong)-(t.Ticks + 1) + 1 : (ulong)t.Ticks;
        if (t.Ticks < 0) parts.Append('-');
        ulong hours = ticks / TimeSpan.TicksPerHour;
        ulong minutes = ticks / TimeSpan.TicksPerMinute % 60;
        ulong wholeSeconds = ticks / TimeSpan.TicksPerSecond % 60;
        ulong fraction = ticks % TimeSpan.TicksPerSecond;
        if (hours > 0) parts.Append(hours.ToString(CultureInfo.InvariantCulture)).Append('h');
        if (minutes > 0) parts.Append(minutes.ToString(CultureInfo.InvariantCulture)).Append('m');
        if (wholeSeconds > 0 || fraction > 0)
        {
            parts.Append(wholeSeconds.ToString(CultureInfo.InvariantCulture));
            if (fraction > 0) parts.Append('.').Append(fraction.ToString("D7", CultureInfo.InvariantCulture).TrimEnd('0'));
            parts.Append('s');
        }
        return parts.ToString();
    }
}
