using FsCheck;
using FsCheck.Fluent;
using RemoteOps.Config;
using RemoteOps.Herder;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Herder;

/// <summary>The parsers of what a minion's caller sends: file names, environment names, and the herder config keys.</summary>
public class HerderPropertyTests
{
    private static readonly FsCheck.Config Cases = FsCheck.Config.QuickThrowOnFailure.WithMaxTest(500);

    private static Gen<string> Name =>
        Gen.OneOf(
            ArbMap.Default.ArbFor<string>().Generator.Select(s => s ?? ""),
            from parts in Gen.ListOf(Gen.Elements("a", "main", ".", "..", "/", "\\", "py", "\0", "\n", "-", " ", "ü"))
            select string.Concat(parts));

    [Fact]
    public void A_file_name_that_passes_is_a_direct_child_of_the_minions_directory()
    {
        var root = Path.Combine(Path.GetTempPath(), "minion-root");
        Check.One(Cases, Prop.ForAll(Name.ToArbitrary(), name =>
        {
            if (!HerderFiles.TryValidateName(name, out var problem)) return problem.Length > 0;
            var full = Path.GetFullPath(Path.Combine(root, name));
            return Path.GetDirectoryName(full) == root && Path.GetFileName(full) == name;
        }));
    }

    [Fact]
    public void An_environment_name_either_passes_as_a_plain_word_or_is_refused_with_a_message()
    {
        Check.One(Cases, Prop.ForAll(Name.ToArbitrary(), name =>
            HerderEnvironments.TryValidateName(name, out var problem)
                ? name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_')
                : problem.Contains("environment name")));
    }

    [Fact]
    public void Herder_config_values_parse_or_give_a_located_error()
    {
        using var dir = new TempDir();
        var path = dir.File("c.yaml");
        var value = Gen.OneOf(ArbMap.Default.ArbFor<string>().Generator.Select(s => s ?? ""),
            Gen.Elements("30s", "0", "-1", "1m", "1e9", "268435456", "none", "bubblewrap", "docker", "[a, b]", "{x: [y]}", "{x: []}", "'{'"));
        var key = Gen.Elements("sandbox", "max_timeout", "memory_limit", "environments", "proxy_port");
        Check.One(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(200), Prop.ForAll((from k in key from v in value select (k, v)).ToArbitrary(), t =>
        {
            var quoted = "'" + t.v.Replace("'", "''").Replace("\n", " ").Replace("\r", " ") + "'";
            File.WriteAllText(path, $"herder:\n  {t.k}: {(t.v.StartsWith('[') || t.v.StartsWith('{') ? t.v : quoted)}\n");
            try { ConfigLoader.Load(path); return true; }
            catch (ConfigException e) { return e.Message.Length > 0; }
        }));
    }
}
