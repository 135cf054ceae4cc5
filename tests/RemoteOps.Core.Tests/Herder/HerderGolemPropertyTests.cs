using FsCheck;
using FsCheck.Fluent;
using RemoteOps.Herder;

namespace RemoteOps.Core.Tests.Herder;

/// <summary>The parsers of what a golem's caller sends: its name and its URL, and the name made from a URL.</summary>
public class HerderGolemPropertyTests
{
    private static readonly FsCheck.Config Cases = FsCheck.Config.QuickThrowOnFailure.WithMaxTest(500);

    private static Gen<string> Text(params string[] parts) =>
        Gen.OneOf(
            ArbMap.Default.ArbFor<string>().Generator.Select(s => s ?? ""),
            from p in Gen.ListOf(Gen.Elements(parts)) select string.Concat(p));

    [Fact]
    public void A_golem_name_either_passes_as_a_plain_word_or_is_refused_with_a_message()
    {
        Check.One(Cases, Prop.ForAll(Text("a", "Z", "9", ".", "-", "_", "/", "..", " ", "\0", "ü", "golem").ToArbitrary(), name =>
            HerderGolemHerd.TryValidateName(name, out var problem)
                ? name.Length is > 0 and <= HerderGolemHerd.MaxNameLength && char.IsAsciiLetterOrDigit(name[0])
                  && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_')
                : problem.Contains("golem name") || problem.Contains("needs a name")));
    }

    [Fact]
    public void A_url_is_an_absolute_http_https_or_file_url_or_refused_as_InvalidUrl_and_its_name_is_always_valid()
    {
        var url = Text("http", "https", "file", "ftp", "javascript", ":", "//", "/", "127.0.0.1", "host", ":80", "?q=1", "#f", "%2F", "..", "page.html", " ", "ü", "\\");
        Check.One(Cases, Prop.ForAll(url.ToArbitrary(), text =>
        {
            Uri uri;
            try { uri = HerderGolemHerd.ValidateUrl(text); }
            catch (HerderException e) { return e.Failure == HerderFailure.InvalidUrl && e.Message.Length > 0; }
            return uri.IsAbsoluteUri && uri.Scheme is "http" or "https" or "file"
                && HerderGolemHerd.TryValidateName(HerderGolemHerd.NameFromUrl(uri), out _);
        }));
    }
}
