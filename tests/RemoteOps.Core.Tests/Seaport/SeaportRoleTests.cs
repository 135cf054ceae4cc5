using RemoteOps.Seaport;

namespace RemoteOps.Core.Tests.Seaport;

public class SeaportRoleTests
{
    [Theory]
    [InlineData("web@1.2.3", "web", "1.2.3")]
    [InlineData("web", "web", "")]
    [InlineData("api.v2@0.1.0-beta.1", "api.v2", "0.1.0-beta.1")]
    [InlineData("ns/db:primary@10.0.0+build.5", "ns/db:primary", "10.0.0+build.5")]
    [InlineData(" web@v1.0.0 ", "web", "1.0.0")]
    public void Roles_parse_into_name_and_semver(string text, string name, string version)
    {
        var role = SeaportRole.Parse(text);
        Assert.Equal(name, role.Name);
        Assert.Equal(version, role.VersionText);
    }

    [Theory]
    [InlineData("")]
    [InlineData("@1.0.0")]
    [InlineData("web@")]
    [InlineData("web@1.2")]
    [InlineData("web@one")]
    [InlineData("we b@1.0.0")]
    [InlineData("web@1.0.0@2")]
    [InlineData("w*b@1.0.0")]
    public void Malformed_roles_are_argument_errors_that_say_why(string text)
    {
        var e = Assert.Throws<SeaportArgumentException>(() => SeaportRole.Parse(text));
        Assert.Contains("is not a role", e.Message);
    }

    [Theory]
    // The seed's and npm's range forms.
    [InlineData("web@1.2.x", "web", "1.2.9", true)]
    [InlineData("web@1.2.x", "web", "1.3.0", false)]
    [InlineData("web@^1.2", "web", "1.9.0", true)]
    [InlineData("web@^1.2", "web", "2.0.0", false)]
    [InlineData("web@~0.1.3", "web", "0.1.7", true)]
    [InlineData("web@~0.1.3", "web", "0.2.0", false)]
    [InlineData("web@>=1 <2", "web", "1.5.0", true)]
    [InlineData("web@>=1 <2", "web", "2.0.0", false)]
    [InlineData("web@0.0.x", "web", "0.0.0", true)]
    [InlineData("web", "web", "", true)]
    [InlineData("web", "webs", "1.0.0", false)]
    [InlineData("web@1.x", "web", "", false)] // a versionless registration matches only a pattern without a range
    [InlineData("we*", "web", "1.0.0", true)]
    [InlineData("*b", "web", "1.0.0", true)]
    [InlineData("w*b*", "web", "1.0.0", true)]
    [InlineData("x*", "web", "1.0.0", false)]
    [InlineData("*", "anything", "9.9.9", true)]
    [InlineData("", "anything", "", true)]
    [InlineData("web@1.x", "web", "1.0.0-rc.1", false)] // npm: prereleases only when the range names one
    public void Patterns_match_by_name_and_npm_semver_range(string pattern, string name, string version, bool matches) =>
        Assert.Equal(matches, SeaportPattern.Parse(pattern).Matches(name, version));

    [Theory]
    [InlineData("web@^^1")]
    [InlineData("web@1.x.y.z")]
    [InlineData("web@")]
    [InlineData("w eb")]
    [InlineData("@1.x")]
    public void Malformed_patterns_are_argument_errors(string pattern) =>
        Assert.Throws<SeaportArgumentException>(() => SeaportPattern.Parse(pattern));
}
