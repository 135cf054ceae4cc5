using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace RemoteOps.Config;

/// <summary>Writes YAML scalars and lists by hand (the generated files carry comments, which serializers drop),
/// quoting every value that plain YAML would misread.</summary>
public static partial class YamlText
{
    // Plain scalars that read back as the same string: no indicator first, no ": " or " #", no reserved words.
    [GeneratedRegex(@"^[A-Za-z0-9_/.~][A-Za-z0-9_./:@%+=~-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex PlainSafe();

    private static readonly HashSet<string> Reserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "~", "null", "true", "false", "yes", "no", "on", "off", "y", "n", ".nan", ".inf", "-.inf",
    };

    /// <summary>The value as a YAML scalar: plain when that is unambiguous, else double-quoted with escapes. A lone
    /// surrogate cannot be written in YAML at all: callers refuse such text first (<see cref="IsValidUnicode"/>).</summary>
    public static string Scalar(string value)
    {
        if (PlainSafe().IsMatch(value) && !Reserved.Contains(value) && !value.EndsWith(':')
            && !double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            return value;
        var sb = new StringBuilder("\"");
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    // What YAML reads as a line break (U+0085, U+2028, U+2029) or does not allow unescaped (controls,
                    // the BOM, U+FFFE/U+FFFF) is escaped; surrogate pairs stay as they are.
                    if (char.IsControl(c) || c is '\u2028' or '\u2029' or '\ufeff' or '\ufffe' or '\uffff')
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    /// <summary>False when the text holds a lone surrogate, which no YAML (or UTF-8) file can carry.</summary>
    public static bool IsValidUnicode(string value)
    {
        for (int i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1])) i++;
            else if (char.IsSurrogate(value[i])) return false;
        }
        return true;
    }

    /// <summary>A flow list: [a, b, "*"].</summary>
    public static string FlowList(IEnumerable<string> values) => "[" + string.Join(", ", values.Select(Scalar)) + "]";

    /// <summary>A Go-style duration, as the config reads it back (5s, 1m30s, 250ms).</summary>
    public static string Duration(TimeSpan value) => Config.Duration.Format(value);
}
