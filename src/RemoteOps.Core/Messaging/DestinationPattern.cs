namespace RemoteOps.Messaging;

/// <summary>Destination names and patterns, as the original's MatchWildcards (src/protocol/util.go) reads them:
/// reverse-dotted segments (<c>com.crypto.host.us</c>); a pattern segment may hold one <c>*</c> (a prefix and/or
/// suffix around it, within the segment); a last segment <c>**</c> matches one or more further segments.
/// <c>**</c> alone matches every destination. Every tool names nodes this way (remaphore destinations, steward nodes).</summary>
public static class DestinationPattern
{
    public const string All = "**";

    /// <summary>Throws <see cref="DestinationPatternException"/> naming the problem when <paramref name="pattern"/> is malformed.</summary>
    public static void Validate(string? pattern)
    {
        if (TryValidate(pattern, out var problem)) return;
        throw new DestinationPatternException($"'{pattern}' is not a destination pattern: {problem}");
    }

    public static bool TryValidate(string? pattern, out string problem)
    {
        problem = "";
        if (string.IsNullOrEmpty(pattern)) { problem = "it is empty; use ** for every destination."; return false; }
        foreach (var c in pattern)
        {
            if (c == ',') { problem = "it contains a comma (the message separator)."; return false; }
            if (char.IsWhiteSpace(c) || char.IsControl(c)) { problem = "it contains white space or a control character."; return false; }
        }
        var segments = pattern.Split('.');
        for (int i = 0; i < segments.Length; i++)
        {
            var s = segments[i];
            if (s.Length == 0) { problem = $"segment {i + 1} is empty (two dots, or a dot at an end)."; return false; }
            if (s == "**")
            {
                if (i != segments.Length - 1) { problem = "** may only be the last segment."; return false; }
                continue;
            }
            int stars = s.Count(c => c == '*');
            if (stars > 1) { problem = $"segment '{s}' has {stars} wildcards; one * per segment (** only as a whole last segment)."; return false; }
        }
        return true;
    }

    /// <summary>A concrete destination (a node's own name): a valid pattern without wildcards.</summary>
    public static bool TryValidateName(string? destination, out string problem)
    {
        if (!TryValidate(destination, out problem)) return false;
        if (destination!.Contains('*')) { problem = "a node's destination cannot contain wildcards."; return false; }
        return true;
    }

    /// <summary>True when <paramref name="destination"/> (a concrete name) is matched by <paramref name="pattern"/>.
    /// A destination containing '*' never matches, as in the original.</summary>
    public static bool Matches(string? destination, string? pattern)
    {
        if (string.IsNullOrEmpty(destination) || string.IsNullOrEmpty(pattern)) return false;
        if (destination.Contains('*')) return false;
        if (pattern == All) return true;
        var d = destination.AsSpan();
        var p = pattern.AsSpan();
        int dSegments = d.Count('.') + 1, pSegments = p.Count('.') + 1;
        if (dSegments < pSegments) return false;
        for (int i = 0; i < pSegments; i++)
        {
            int pe = p.IndexOf('.');
            var ps = pe < 0 ? p : p[..pe];
            p = pe < 0 ? default : p[(pe + 1)..];
            int de = d.IndexOf('.');
            var ds = de < 0 ? d : d[..de];
            d = de < 0 ? default : d[(de + 1)..];
            if (ps is "**") return i == pSegments - 1;
            if (!SegmentMatches(ds, ps)) return false;
        }
        return dSegments == pSegments;
    }

    private static bool SegmentMatches(ReadOnlySpan<char> s, ReadOnlySpan<char> p)
    {
        if (s.SequenceEqual(p)) return true;
        int star = p.IndexOf('*');
        if (star < 0) return false;
        var pre = p[..star];
        var post = p[(star + 1)..];
        // The original slices without a length check (and panics on short names); a name too short for
        // prefix and suffix together simply does not match here.
        return s.Length >= pre.Length + post.Length && s.StartsWith(pre) && s.EndsWith(post);
    }
}

/// <summary>A malformed destination pattern.</summary>
public sealed class DestinationPatternException(string message) : RemoteOpsArgumentException(message);
