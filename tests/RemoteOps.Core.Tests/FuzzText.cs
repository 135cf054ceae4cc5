using System.Text;
using FsCheck;
using FsCheck.Fluent;

namespace RemoteOps.Core.Tests;

/// <summary>Generators shared by the parsers' property tests: text with the characters parsers trip over (structure,
/// quotes, controls, non-ASCII, surrogates), and mutations of valid input, which reach deeper than random text.</summary>
internal static class FuzzText
{
    /// <summary>Characters that mean something to YAML, NATS, base58 or the wire format, plus controls and non-ASCII.</summary>
    public static readonly char[] Interesting =
    [
        '[', ']', '{', '}', ':', '-', ' ', '\n', '\r', '\t', '&', '*', '!', '"', '\'', '#', '\0', '|', '>', '%', '@', '`',
        ',', '.', '?', '~', '\\', '/', '1', 'z', 'O', 'l', '0', 'é', 'µ', '\u00a0', '\u2028', '\ufeff', '\ud800', '\udc00', '\ud83d', '\ude00',
    ];

    public static Gen<char> Char { get; } = Gen.OneOf(
        Gen.Elements(Interesting),
        Gen.Choose(32, 126).Select(i => (char)i),
        Gen.Choose(0, 0xffff).Select(i => (char)i));

    /// <summary>Random text up to <paramref name="maxLength"/> characters.</summary>
    public static Gen<string> Text(int maxLength) =>
        Gen.Choose(0, maxLength).SelectMany(n => Char.ArrayOf(n)).Select(chars => new string(chars));

    /// <summary>One random edit: insert, delete, replace a span, or repeat a slice.</summary>
    public static Gen<string> Mutate(string s) =>
        from kind in Gen.Choose(0, 3)
        from at in Gen.Choose(0, s.Length)
        from length in Gen.Choose(0, Math.Min(8, s.Length - at))
        from insert in Text(6)
        select kind switch
        {
            0 => s.Insert(at, insert),
            1 => s.Remove(at, length),
            2 => s.Remove(at, length).Insert(at, insert),
            _ => s.Insert(at, s.Substring(at, length)),
        };

    /// <summary>Up to <paramref name="edits"/> successive mutations of <paramref name="s"/>.</summary>
    public static Gen<string> Mutations(string s, int edits) =>
        Gen.Choose(1, edits).SelectMany(n =>
        {
            var gen = Gen.Constant(s);
            for (int i = 0; i < n; i++) gen = gen.SelectMany(Mutate);
            return gen;
        });

    public static Gen<byte[]> Bytes(int maxLength) =>
        Gen.Choose(0, maxLength).SelectMany(n => Gen.Choose(0, 255).Select(b => (byte)b).ArrayOf(n));

    public static string Show(string s) => new StringBuilder().Append('"').Append(s.Replace("\\", "\\\\").Replace("\n", "\\n").Replace("\0", "\\0")).Append('"').ToString();
}
