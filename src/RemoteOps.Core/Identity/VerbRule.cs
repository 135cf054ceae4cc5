using System.Text;

namespace RemoteOps.Identity;

/// <summary>The one rule for a verb, wherever one is given: sent (Send-/Invoke-Remaphore), waited for
/// (Wait-Remaphore -Verb), granted to an identity (New-RemoteOpsIdentity) or listed in the config's identities and
/// peers. It is the original remaphore's: its config gives a key's verbs as <c>[a,b]</c> on a line split at white space,
/// and its wire message separates fields with commas, so a verb with white space could never be granted and one with a
/// comma would split the message. A verb is therefore non-empty text without white space, commas, control characters
/// or unpaired surrogates (which UTF-8 cannot carry), and at most <see cref="MaxLength"/> characters.</summary>
public static class VerbRule
{
    /// <summary>Longest verb: a verb names an action, and every message carries its verb.</summary>
    public const int MaxLength = 256;

    /// <summary>Null when <paramref name="verb"/> is a valid verb; else why not (a sentence, naming the verb).</summary>
    public static string? Problem(string? verb)
    {
        if (string.IsNullOrEmpty(verb)) return "A verb cannot be empty.";
        if (verb.Length > MaxLength) return $"A verb is at most {MaxLength} characters; this one has {verb.Length}.";
        var shown = Show(verb);
        foreach (var c in verb)
        {
            if (c == ',') return $"The verb '{shown}' contains a comma: commas separate verbs and message fields.";
            if (char.IsWhiteSpace(c)) return $"The verb '{shown}' contains white space: verbs are single words.";
            if (char.IsControl(c)) return $"The verb '{shown}' contains a control character.";
        }
        if (!IsWellFormed(verb)) return $"The verb '{shown}' is not valid Unicode text (an unpaired surrogate).";
        return null;
    }

    public static bool IsValid(string? verb) => Problem(verb) is null;

    private static bool IsWellFormed(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) i++;
            else if (char.IsSurrogate(s[i])) return false;
        }
        return true;
    }

    /// <summary>The verb as an error message may show it: control characters escaped, shortened.</summary>
    private static string Show(string verb)
    {
        var sb = new StringBuilder();
        foreach (var c in verb.Length > 64 ? verb[..64] : verb)
            sb.Append(char.IsControl(c) || char.IsSurrogate(c) ? $"\\u{(int)c:x4}" : c.ToString());
        if (verb.Length > 64) sb.Append('…');
        return sb.ToString();
    }
}
