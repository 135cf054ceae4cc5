using System.Collections;
using System.Management.Automation;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>Test-RemoteOpsConfig, and the loader's errors for -ConfigPath as a user meets them.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class TestRemoteOpsConfigTests
{
    private static Hashtable P(string path) => new() { ["p"] = path };

    // The module's types load in its own context: read them as PowerShell does, by property.
    private sealed record Check(string Name, string Target, bool Passed, string Message, string TypeName)
    {
        public static Check From(PSObject o) => new((string)o.Properties["Check"].Value, (string)o.Properties["Target"].Value,
            (bool)o.Properties["Passed"].Value, (string)o.Properties["Message"].Value, o.BaseObject.GetType().FullName!);
    }

    [Fact]
    public void A_sound_config_gives_a_passed_check_per_item_and_Quiet_gives_true()
    {
        using var dir = new TempDir();
        using var pwsh = new Pwsh();
        var path = dir.File("config.yaml");
        var made = pwsh.Run("param($p) New-RemoteOpsConfig -Path $p -Destination com.example.me", P(path));
        Assert.False(made.HadErrors, made.ErrorText);

        var r = pwsh.Run("param($p) Test-RemoteOpsConfig -ConfigPath $p", P(path));
        Assert.False(r.HadErrors, r.ErrorText);
        var checks = r.Output.Select(Check.From).ToList();
        Assert.All(checks, c => Assert.Equal("RemoteOps.RemoteOpsConfigCheck", c.TypeName));
        Assert.Equal("Load", checks[0].Name);
        Assert.Contains(checks, c => c.Name == "Identity");
        Assert.All(checks, c => Assert.True(c.Passed, c.ToString()));

        var quiet = pwsh.Run("param($p) Test-RemoteOpsConfig -ConfigPath $p -Quiet", P(path));
        Assert.False(quiet.HadErrors, quiet.ErrorText);
        Assert.True(Assert.IsType<bool>(Assert.Single(quiet.Output).BaseObject));
    }

    [Fact]
    public void A_key_pair_that_does_not_match_is_a_failed_check_and_Quiet_gives_false()
    {
        using var dir = new TempDir();
        using var pwsh = new Pwsh();
        var path = dir.File("config.yaml");
        var keys = pwsh.Run("""
            param($p)
            $a = New-RemoteOpsIdentity; $other = New-RemoteOpsIdentity
            "identities:`n  - public: $($a.PublicKey)`n    private: $($other.PrivateKey)`n" | ForEach-Object { [System.IO.File]::WriteAllText($p, $_) }
            $a.PublicKey; $other.PublicKey
            """, P(path));
        Assert.False(keys.HadErrors, keys.ErrorText);
        var (a, other) = ((string)keys.Output[0].BaseObject, (string)keys.Output[1].BaseObject);

        var r = pwsh.Run("param($p) Test-RemoteOpsConfig -ConfigPath $p", P(path));
        Assert.False(r.HadErrors, r.ErrorText);
        var failed = r.Output.Select(Check.From).Single(c => !c.Passed);
        Assert.Equal("Identity", failed.Name);
        Assert.Equal(a, failed.Target);
        Assert.Contains(other, failed.Message);

        var quiet = pwsh.Run("param($p) Test-RemoteOpsConfig -ConfigPath $p -Quiet", P(path));
        Assert.False(Assert.IsType<bool>(Assert.Single(quiet.Output).BaseObject));
    }

    [Fact]
    public void A_config_that_does_not_load_is_ConfigInvalid_or_with_Quiet_false_and_no_error()
    {
        using var dir = new TempDir();
        using var pwsh = new Pwsh();
        var path = dir.File("config.yaml");
        File.WriteAllText(path, "servers: [nats://a:4222]\ndestination: a..b\n");

        var r = pwsh.Run("param($p) Test-RemoteOpsConfig -ConfigPath $p", P(path));
        var error = Assert.Single(r.Errors);
        Assert.Equal("RemoteOps.ConfigInvalid,RemoteOps.PowerShell.Cmdlets.TestRemoteOpsConfigCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidData, error.CategoryInfo.Category);
        Assert.Contains("line 2, key 'destination'", error.Exception.Message);

        var quiet = pwsh.Run("param($p) Test-RemoteOpsConfig -ConfigPath $p -Quiet", P(path));
        Assert.Empty(quiet.Errors);
        Assert.False(Assert.IsType<bool>(Assert.Single(quiet.Output).BaseObject));
    }

    [Theory]
    [InlineData("servers: not a url\n", "not a NATS server URL")]
    [InlineData("seaport:\n  heartbeat: 10000000d\n", "out of range")]
    [InlineData("credentials: \"a\\0b\"\n", "control character")]
    [InlineData("servers: [a\nsubject: x\n", "not valid YAML")]
    public void Inputs_that_once_threw_dotnet_exceptions_are_one_ConfigInvalid_error(string yaml, string expected)
    {
        using var dir = new TempDir();
        using var pwsh = new Pwsh();
        var path = dir.File("config.yaml");
        File.WriteAllText(path, yaml);
        var r = pwsh.Run("param($p) Get-RemoteOpsConfig -ConfigPath $p", P(path));
        var error = Assert.Single(r.Errors);
        Assert.StartsWith("RemoteOps.ConfigInvalid,", error.FullyQualifiedErrorId);
        Assert.Contains(expected, error.Exception.Message);
        Assert.Empty(r.Output);
    }

    [Fact]
    public void A_directory_as_ConfigPath_says_it_is_a_directory()
    {
        using var dir = new TempDir();
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($p) Get-RemoteOpsConfig -ConfigPath $p", P(dir.Path));
        var error = Assert.Single(r.Errors);
        Assert.StartsWith("RemoteOps.ConfigInvalid,", error.FullyQualifiedErrorId);
        Assert.Contains("is a directory", error.Exception.Message);
    }

    [Fact]
    public void A_NUL_in_ConfigPath_is_one_ConfigInvalid_error()
    {
        using var pwsh = new Pwsh();
        var r = pwsh.Run("Get-RemoteOpsConfig -ConfigPath \"/tmp/a`0b.yaml\"");
        var error = Assert.Single(r.Errors);
        Assert.StartsWith("RemoteOps.ConfigInvalid,", error.FullyQualifiedErrorId);
    }
}
