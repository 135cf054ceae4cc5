using RemoteOps.Messaging;
using Semver;

namespace RemoteOps.Seaport;

/// <summary>A role as registered: <c>name@version</c> (seaport's role string; the version is optional).</summary>
public sealed record SeaportRole(string Name, SemVersion? Version)
{
    public string VersionText => Version?.ToString() ?? "";
    public override string ToString() => Version is null ? Name : $"{Name}@{Version}";

    /// <summary>Names: letters, digits and <c>. _ - / :</c>; no '@', no spaces, no wildcards.</summary>
    internal static string? NameProblem(string name)
    {
        if (name.Length == 0) return "the name is empty";
        if (name.Length > 200) return "the name is longer than 200 characters";
        foreach (var c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '/' or ':'))
                return $"the name contains '{c}' (allowed: letters, digits, . _ - / :)";
        return null;
    }

    /// <summary>A role (name@version) is at most this long: it is stored in every entry and shown in every listing.</summary>
    public const int MaxLength = 256;

    public static SeaportRole Parse(string text)
    {
        var s = text?.Trim() ?? "";
        if (s.Length > MaxLength) throw new SeaportArgumentException($"'{SeaportMeta.Shown(s)}' is not a role (name@version): it is longer than {MaxLength} characters.");
        var at = s.IndexOf('@');
        var name = at < 0 ? s : s[..at];
        var problem = NameProblem(name);
        if (problem is not null) throw new SeaportArgumentException($"'{text}' is not a role (name@version): {problem}.");
        if (at < 0) return new SeaportRole(name, null);
        var version = s[(at + 1)..];
        if (!SemVersion.TryParse(version, SemVersionStyles.AllowV, out var v))
            throw new SeaportArgumentException($"'{text}' is not a role (name@version): '{version}' is not a semantic version such as 1.2.3.");
        return new SeaportRole(name, v);
    }
}

/// <summary>A query: <c>name</c>, <c>name@range</c> with an npm-style semver range (web@1.2.x, web@^1.2, web@~0.1.3,
/// "web@&gt;=1 &lt;2"), or nothing/<c>*</c> for every service. The name may hold <c>*</c> wildcards.</summary>
public sealed class SeaportPattern
{
    private readonly string? _name;
    private readonly SemVersionRange? _range;
    public string Text { get; }

    private SeaportPattern(string text, string? name, SemVersionRange? range)
    {
        Text = text;
        _name = name;
        _range = range;
    }

    public static readonly SeaportPattern All = new("*", null, null);

    public static SeaportPattern Parse(string? text)
    {
        var s = text?.Trim() ?? "";
        if (s.Length == 0 || s == "*") return All;
        if (s.Length > 1024) throw new SeaportArgumentException($"'{SeaportMeta.Shown(s)}' is not a role pattern: it is longer than 1024 characters.");
        var at = s.IndexOf('@');
        var name = at < 0 ? s : s[..at];
        var problem = SeaportRole.NameProblem(name.Replace("*", ""));
        if (problem is not null && !(name.Length > 0 && name.All(c => c == '*')))
            throw new SeaportArgumentException($"'{text}' is not a role pattern (name or name@range): {problem}.");
        SemVersionRange? range = null;
        if (at >= 0)
        {
            var rangeText = s[(at + 1)..];
            if (rangeText.Length == 0 || !SemVersionRange.TryParseNpm(rangeText, out range))
                throw new SeaportArgumentException($"'{text}' is not a role pattern: '{rangeText}' is not an npm-style semver range (1.2.x, ^1.2, ~0.1.3, >=1 <2).");
        }
        return new SeaportPattern(s, name == "*" ? null : name, range);
    }

    public bool Matches(string name, string version)
    {
        if (_name is not null && !NameMatches(_name, name)) return false;
        if (_range is null) return true;
        return SemVersion.TryParse(version, SemVersionStyles.AllowV, out var v) && _range.Contains(v);
    }

    private static bool NameMatches(string pattern, string name)
    {
        if (!pattern.Contains('*')) return string.Equals(pattern, name, StringComparison.Ordinal);
        // '*' matches any run of characters.
        var parts = pattern.Split('*');
        if (!name.StartsWith(parts[0], StringComparison.Ordinal) || !name.EndsWith(parts[^1], StringComparison.Ordinal)) return false;
        var at = parts[0].Length;
        for (int i = 1; i < parts.Length - 1; i++)
        {
            var found = name.IndexOf(parts[i], at, StringComparison.Ordinal);
            if (found < 0) return false;
            at = found + parts[i].Length;
        }
        return at <= name.Length - parts[^1].Length;
    }

    public override string ToString() => Text;
}

/// <summary>Bad input to seaport (role, pattern, range, port, id, meta): a parameter error.</summary>
public sealed class SeaportArgumentException(string message) : RemoteOpsArgumentException(message);

/// <summary>The registry cannot be reached (NATS down, JetStream missing): distinct from "no matches".</summary>
public sealed class SeaportUnavailableException(string message, Exception? inner = null) : RemoteOpsUnavailableException(message, inner);

/// <summary>A registration conflicts with the registry's state (port held by another live registration, id taken).</summary>
public sealed class SeaportConflictException(string message) : Exception(message);

/// <summary>The registration (by id) does not exist or is not live.</summary>
public sealed class SeaportNotFoundException(string message) : Exception(message);

/// <summary>The entry was rejected: not signed by an authorized key (seaport's reject event).</summary>
public sealed class SeaportRejectedException(string message) : Exception(message);
