using RemoteOps.Processes;

namespace RemoteOps.Herder;

/// <summary>One environment: a name and the command run in the minion's directory.</summary>
public sealed record HerderEnvironmentSpec(string Name, IReadOnlyList<string> Command, bool BuiltIn);

/// <summary>The environments a node offers: the built-ins (the seed's images, as plain interpreters) and those the
/// config adds or overrides under <c>herder.environments</c>.</summary>
public static class HerderEnvironments
{
    /// <summary>The built-ins, each running its conventional main file; they need no config entry.</summary>
    public static readonly IReadOnlyList<HerderEnvironmentSpec> BuiltIns =
    [
        new("bash", ["bash", "main.sh"], true),
        new("python", ["python3", "main.py"], true),
        new("node", ["node", "main.js"], true),
        new("ruby", ["ruby", "main.rb"], true),
        new("pwsh", ["pwsh", "-NoLogo", "-NoProfile", "-NonInteractive", "-File", "main.ps1"], true),
        // nonstopmode: a LaTeX error ends the run instead of waiting for an answer on a closed stdin.
        new("latex", ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "main.tex"], true),
    ];

    /// <summary>Every environment, built-ins first (a configured one of the same name replaces it), in a stable order.</summary>
    public static IReadOnlyList<HerderEnvironmentSpec> All(HerderConfig config)
    {
        var result = BuiltIns.Select(b => config.Environments.TryGetValue(b.Name, out var c) ? new HerderEnvironmentSpec(b.Name, c, false) : b).ToList();
        foreach (var (name, command) in config.Environments.OrderBy(kv => kv.Key, StringComparer.OrdinalIgnoreCase))
            if (!result.Any(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase)))
                result.Add(new HerderEnvironmentSpec(name, command, false));
        return result;
    }

    /// <summary>The environment of that name (case-insensitive).</summary>
    /// <exception cref="HerderException">Unknown name (the message lists the known ones).</exception>
    public static HerderEnvironmentSpec Find(HerderConfig config, string name)
    {
        var all = All(config);
        return all.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new HerderException(HerderFailure.UnknownEnvironment,
                $"Unknown environment '{Clean(name)}'. Known: {string.Join(", ", all.Select(e => e.Name))}; add others under herder.environments in the config.");
    }

    /// <summary>Where the environment's program is on this machine; null when it is not installed.</summary>
    public static string? Locate(HerderEnvironmentSpec environment)
    {
        var program = environment.Command[0];
        if (Path.IsPathRooted(program)) return File.Exists(program) ? program : null;
        return ExecutableLocator.Find(program);
    }

    /// <summary>Names are short words (letters, digits, '.', '-', '_'): they appear in messages and on the wire.</summary>
    public static bool TryValidateName(string? name, out string problem)
    {
        problem = string.IsNullOrEmpty(name) || name.Length > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_')
            ? $"'{Clean(name)}' is not an environment name: use 1 to 64 letters, digits, '.', '-' or '_'."
            : "";
        return problem.Length == 0;
    }

    internal static string Clean(string? s) =>
        s is null ? "" : new string(s.Take(80).Select(c => char.IsControl(c) ? '?' : c).ToArray());
}
