using System.Text;
using FsCheck;
using FsCheck.Fluent;
using RemoteOps.Herder;
using RemoteOps.Seaport;

namespace RemoteOps.Core.Tests.Herder;

/// <summary>The parsers of daemons: the log line splitter (however the bytes arrive), daemon names (they become
/// folders and seaport roles), and owner folders (any owner name becomes one safe path segment).</summary>
public class HerderDaemonPropertyTests
{
    private static readonly FsCheck.Config Cases = FsCheck.Config.QuickThrowOnFailure.WithMaxTest(300);

    private static Gen<string> Text =>
        Gen.OneOf(
            ArbMap.Default.ArbFor<string>().Generator.Select(s => s ?? ""),
            from parts in Gen.ListOf(Gen.Elements("a", "line", "\n", "\r\n", "\r", "ü", "😀", " ", ".", "..", "/", "@", "-", "_"))
            select string.Concat(parts));

    [Fact]
    public void Lines_split_the_same_however_the_bytes_arrive()
    {
        var arb = (from text in Text from cuts in Gen.ListOf(Gen.Choose(0, 64)) select (text, cuts)).ToArbitrary();
        Check.One(Cases, Prop.ForAll(arb, t =>
        {
            var bytes = Encoding.UTF8.GetBytes(t.text);
            var whole = HerderDaemonTail.Split([], bytes);
            var partial = new List<byte>();
            var pieces = new List<string>();
            var at = 0;
            foreach (var cut in t.cuts.Append(bytes.Length))
            {
                var end = Math.Min(bytes.Length, at + cut);
                pieces.AddRange(HerderDaemonTail.Split(partial, bytes.AsSpan(at, end - at)));
                at = end;
            }
            pieces.AddRange(HerderDaemonTail.Split(partial, bytes.AsSpan(at)));
            // Complete lines are the text up to its last newline, without the newlines (and a CR before one).
            var complete = t.text.LastIndexOf('\n') is var last and >= 0 ? t.text[..last].Split('\n').Select(l => l.EndsWith('\r') ? l[..^1] : l) : [];
            return whole.SequenceEqual(pieces) && whole.SequenceEqual(complete);
        }));
    }

    [Fact]
    public void A_daemon_name_that_passes_is_one_path_segment_and_a_seaport_role_else_it_is_refused_with_a_message()
    {
        Check.One(Cases, Prop.ForAll(Text.ToArbitrary(), name =>
        {
            try { HerderDaemonHost.ValidateName(name); }
            catch (HerderException e) { return e.Failure == HerderFailure.InvalidDaemon && e.Message.Length > 0; }
            var root = Path.Combine(Path.GetTempPath(), "daemons");
            return Path.GetDirectoryName(Path.GetFullPath(Path.Combine(root, name))) == root
                && SeaportRole.Parse($"{name}@0.0.0").Name == name;
        }));
    }

    [Fact]
    public void Every_owner_gets_one_safe_folder_of_its_own()
    {
        var arb = (from a in Text from b in Text select (a, b)).ToArbitrary();
        Check.One(Cases, Prop.ForAll(arb, t =>
        {
            var folder = HerderDaemonFiles.OwnerFolder(t.a);
            var safe = folder.Length > 0 && folder.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') && folder[0] != '.';
            return safe && (t.a == t.b) == (folder == HerderDaemonFiles.OwnerFolder(t.b));
        }));
    }
}
