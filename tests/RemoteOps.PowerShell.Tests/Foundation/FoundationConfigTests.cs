using System.Collections;
using System.Management.Automation;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>New-RemoteOpsConfig, Get-RemoteOpsConfig, New-RemoteOpsIdentity, ConvertFrom-RemaphoreConfig, and how
/// every cmdlet reports a broken config.</summary>
// File modes are Unix; the suites run on Linux (CI) and macOS.
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class FoundationConfigTests
{
    private static Hashtable P(params (string Key, object? Value)[] items)
    {
        var h = new Hashtable();
        foreach (var (k, v) in items) h[k] = v;
        return h;
    }

    private static object? Prop(PSObject o, string name) => o.Properties[name]?.Value is PSObject p ? p.BaseObject : o.Properties[name]?.Value;

    [Fact]
    public void New_RemoteOpsConfig_writes_a_loadable_example_and_returns_the_file()
    {
        using var dir = new TempDir();
        using var pwsh = new Pwsh();
        var path = dir.File("nested/dir/config.yaml");
        var r = pwsh.Run("param($p) New-RemoteOpsConfig -Path $p -Server nats://127.0.0.1:14222 -Destination com.example.me", P(("p", path)));
        Assert.False(r.HadErrors, r.ErrorText);
        var file = Assert.Single(r.Output);
        Assert.Equal("RemoteOps.RemoteOpsConfigFile", file.BaseObject.GetType().FullName);
        Assert.Equal(path, file.Properties["FullName"].Value);
        var text = File.ReadAllText(path);
        Assert.Contains("# servers:", text);
        Assert.Contains("nats://127.0.0.1:14222", text);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));

        var c = pwsh.Run("param($p) Get-RemoteOpsConfig -ConfigPath $p", P(("p", path)));
        Assert.False(c.HadErrors, c.ErrorText);
        Assert.Empty(c.Warnings);
        var info = Assert.Single(c.Output);
        Assert.Equal(path, Prop(info, "Path"));
        Assert.Equal(new[] { "nats://127.0.0.1:14222" }, (string[])Prop(info, "Servers")!);
        Assert.Equal("com.example.me", Prop(info, "Destination"));
        var identities = (object[])Prop(info, "Identities")!;
        var id = PSObject.AsPSObject(Assert.Single(identities));
        Assert.Equal(Prop(info, "DefaultIdentity"), Prop(id, "PublicKey"));
        Assert.Null(Prop(id, "PrivateKey"));
        Assert.Equal(Path.Combine(dir.Path, "nested", "dir", "keys", (string)Prop(id, "PublicKey")! + ".key"), (string)Prop(id, "PrivateKeyFile")!);
        Assert.True((bool)Prop(id, "IsDefault")!);
    }

    [Fact]
    public void New_RemoteOpsConfig_refuses_to_overwrite_without_Force()
    {
        using var dir = new TempDir();
        using var pwsh = new Pwsh();
        var path = dir.File("config.yaml");
        File.WriteAllText(path, "# mine\n");
        var r = pwsh.Run("param($p) New-RemoteOpsConfig -Path $p", P(("p", path)));
        var error = Assert.Single(r.Errors);
        Assert.Equal("RemoteOps.ConfigExists,RemoteOps.PowerShell.Cmdlets.NewRemoteOpsConfigCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ResourceExists, error.CategoryInfo.Category);
        Assert.Contains("-Force", error.Exception.Message);
        Assert.Empty(r.Output);
        Assert.Equal("# mine\n", File.ReadAllText(path));

        var forced = pwsh.Run("param($p) New-RemoteOpsConfig -Path $p -Force", P(("p", path)));
        Assert.False(forced.HadErrors, forced.ErrorText);
        Assert.Contains("servers:", File.ReadAllText(path));
    }

    [Fact]
    public void New_RemoteOpsConfig_resolves_a_relative_path_against_the_PowerShell_location()
    {
        using var dir = new TempDir();
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($d) $ExecutionContext.SessionState.Path.SetLocation($d) | Out-Null; New-RemoteOpsConfig -Path rel/config.yaml", P(("d", dir.Path)));
        Assert.False(r.HadErrors, r.ErrorText);
        Assert.True(File.Exists(dir.File("rel/config.yaml")));
    }

    [Fact]
    public void Get_RemoteOpsConfig_redacts_secrets_and_shows_paths()
    {
        using var dir = new TempDir();
        using var pwsh = new Pwsh();
        var key = pwsh.Run("New-RemoteOpsIdentity -Verb ping").Output.Single();
        var pub = (string)Prop(key, "PublicKey")!;
        var priv = (string)Prop(key, "PrivateKey")!;
        var path = dir.File("config.yaml");
        File.WriteAllText(path, $"""
            servers: [nats://127.0.0.1:4222]
            credentials: creds/me.creds
            user: alice
            password: hunter2-secret
            token: tok-secret-123
            tls:
              ca: ca.pem
            identities:
              - public: {pub}
                private: {priv}
                verbs: [ping]
            peers:
              - destination: com.x.y
                public: {pub}
                verbs: [ping]
            seaport:
              heartbeat: 2s
            """);
        var r = pwsh.Run("param($p) Get-RemoteOpsConfig -ConfigPath $p", P(("p", path)));
        Assert.False(r.HadErrors, r.ErrorText);
        var info = r.Output.Single();
        Assert.Equal("(redacted)", Prop(info, "Password"));
        Assert.Equal("(redacted)", Prop(info, "Token"));
        Assert.Equal("alice", Prop(info, "User"));
        Assert.Equal(dir.File("creds/me.creds"), Prop(info, "Credentials"));
        Assert.Equal(dir.File("ca.pem"), Prop(info, "TlsCa"));
        Assert.Equal("Parameter", Prop(info, "PathSource"));
        var id = PSObject.AsPSObject(((object[])Prop(info, "Identities")!).Single());
        Assert.Equal("(redacted)", Prop(id, "PrivateKey"));
        var seaport = PSObject.AsPSObject(Prop(info, "Seaport")!);
        Assert.Equal(TimeSpan.FromSeconds(6), Prop(seaport, "Timeout"));

        // No secret anywhere in what the object holds.
        var dump = pwsh.Run("param($p) $c = Get-RemoteOpsConfig -ConfigPath $p; $c.psobject.Properties.Value; $c.Identities.psobject.Properties.Value; $c.Peers.psobject.Properties.Value; $c.Seaport.psobject.Properties.Value", P(("p", path)));
        var all = string.Join("\n", dump.Output.Select(o => o?.ToString()));
        Assert.Contains(pub, all);
        Assert.DoesNotContain("hunter2-secret", all);
        Assert.DoesNotContain("tok-secret-123", all);
        Assert.DoesNotContain(priv, all);
    }

    [Fact]
    public void New_RemoteOpsIdentity_returns_keys_and_a_yaml_snippet_that_a_config_accepts()
    {
        using var dir = new TempDir();
        using var pwsh = new Pwsh();
        var r = pwsh.Run("New-RemoteOpsIdentity -Verb ping, 'upload,download'");
        Assert.False(r.HadErrors, r.ErrorText);
        var id = Assert.Single(r.Output);
        Assert.Equal("RemoteOps.RemoteOpsIdentity", id.BaseObject.GetType().FullName);
        Assert.Equal(new[] { "ping", "upload", "download" }, (string[])Prop(id, "Verbs")!);
        Assert.NotNull(Prop(id, "PrivateKey"));
        Assert.Null(Prop(id, "PrivateKeyFile"));

        var yaml = (string)Prop(id, "Yaml")!;
        var config = dir.File("config.yaml");
        File.WriteAllText(config, "identities:\n" + string.Join("", yaml.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "  " + l + "\n")));
        var c = pwsh.Run("param($p) (Get-RemoteOpsConfig -ConfigPath $p).Identities", P(("p", config)));
        Assert.False(c.HadErrors, c.ErrorText);
        Assert.Equal(Prop(id, "PublicKey"), Prop(Assert.Single(c.Output), "PublicKey"));
    }

    [Fact]
    public void New_RemoteOpsIdentity_with_a_path_writes_an_owner_only_key_file()
    {
        using var dir = new TempDir();
        using var pwsh = new Pwsh();
        var path = dir.File("keys/me.key");
        var r = pwsh.Run("param($p) New-RemoteOpsIdentity -Path $p", P(("p", path)));
        Assert.False(r.HadErrors, r.ErrorText);
        var id = Assert.Single(r.Output);
        Assert.Null(Prop(id, "PrivateKey"));
        Assert.Equal(path, Prop(id, "PrivateKeyFile"));
        Assert.Equal(new[] { "*" }, (string[])Prop(id, "Verbs")!);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Contains("private_file: " + path, (string)Prop(id, "Yaml")!);

        var again = pwsh.Run("param($p) New-RemoteOpsIdentity -Path $p", P(("p", path)));
        Assert.Equal("RemoteOps.KeyFileExists", Assert.Single(again.Errors).FullyQualifiedErrorId.Split(',')[0]);
        // A path ending in a separator is a directory (created when missing): the key goes to <public>.key in it.
        var inDir = pwsh.Run("param($p) New-RemoteOpsIdentity -Path $p", P(("p", dir.File("more/keys") + "/"))).Output.Single();
        Assert.Equal(Path.Combine(dir.Path, "more", "keys", (string)Prop(inDir, "PublicKey")! + ".key"), Prop(inDir, "PrivateKeyFile"));
        Assert.True(File.Exists((string)Prop(inDir, "PrivateKeyFile")!));

        var bad = pwsh.Run("New-RemoteOpsIdentity -Verb 'two words'");
        Assert.Equal("RemoteOps.InvalidVerb", Assert.Single(bad.Errors).FullyQualifiedErrorId.Split(',')[0]);
    }

    [Fact]
    public void ConvertFrom_RemaphoreConfig_writes_yaml_to_the_pipeline_or_a_file()
    {
        using var dir = new TempDir();
        using var pwsh = new Pwsh();
        var keys = pwsh.Run("1..3 | ForEach-Object { New-RemoteOpsIdentity }").Output;
        string Pub(int i) => (string)Prop(keys[i], "PublicKey")!;
        string Priv(int i) => (string)Prop(keys[i], "PrivateKey")!;
        var conf = dir.File("remaphore.conf");
        File.WriteAllText(conf, $"""
            server: nats://nats1:4222
            server: nats://nats2:4222
            credentials: /etc/remaphore/x.creds
            destination: com.crypto.us.left
            allow_skew: 5s
            colour: blue

            [ Identities ]
            {Pub(0)} {Priv(0)} [ping, upload]
            {Pub(1)} {Priv(1)} [*]

            [ Peers ]
            com.crypto.us.right {Pub(2)} [ping]
            """);
        var r = pwsh.Run("param($p) ConvertFrom-RemaphoreConfig $p", P(("p", conf)));
        Assert.False(r.HadErrors, r.ErrorText);
        var yaml = Assert.IsType<string>(Assert.Single(r.Output).BaseObject);
        Assert.Contains("- nats://nats2:4222", yaml);
        var warning = Assert.Single(r.Warnings);
        Assert.Contains("colour", warning);
        Assert.Contains(conf, warning);

        // -OutFile: a private (mode 600) file that Get-RemoteOpsConfig reads back whole.
        var outFile = dir.File("out/config.yaml");
        var w = pwsh.Run("param($p, $o) ConvertFrom-RemaphoreConfig -Path $p -OutFile $o", P(("p", conf), ("o", outFile)));
        Assert.False(w.HadErrors, w.ErrorText);
        Assert.Equal(outFile, Assert.IsType<FileInfo>(Assert.Single(w.Output).BaseObject).FullName);
        Assert.Equal(yaml, File.ReadAllText(outFile));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(outFile));
        var c = pwsh.Run("param($o) Get-RemoteOpsConfig -ConfigPath $o", P(("o", outFile)));
        Assert.False(c.HadErrors, c.ErrorText);
        var info = c.Output.Single();
        Assert.Equal(new[] { "nats://nats1:4222", "nats://nats2:4222" }, (string[])Prop(info, "Servers")!);
        Assert.Equal(2, ((object[])Prop(info, "Identities")!).Length);
        var peer = PSObject.AsPSObject(((object[])Prop(info, "Peers")!).Single());
        Assert.Equal(("com.crypto.us.right", Pub(2)), ((string)Prop(peer, "Destination")!, (string)Prop(peer, "PublicKey")!));

        // An existing -OutFile is kept unless -Force.
        File.WriteAllText(outFile, "# keep\n");
        var again = pwsh.Run("param($p, $o) ConvertFrom-RemaphoreConfig -Path $p -OutFile $o", P(("p", conf), ("o", outFile)));
        Assert.Equal("RemoteOps.ConfigExists", Assert.Single(again.Errors).FullyQualifiedErrorId.Split(',')[0]);
        Assert.Equal("# keep\n", File.ReadAllText(outFile));
        var forced = pwsh.Run("param($p, $o) ConvertFrom-RemaphoreConfig -Path $p -OutFile $o -Force", P(("p", conf), ("o", outFile)));
        Assert.False(forced.HadErrors, forced.ErrorText);
        Assert.Equal(yaml, File.ReadAllText(outFile));

        // Files by pipeline: FileInfo objects (as Get-ChildItem writes them) bind FullName; strings bind Path.
        var piped = pwsh.Run("param($p) [System.IO.FileInfo]::new($p), $p | ConvertFrom-RemaphoreConfig -WarningAction SilentlyContinue", P(("p", conf)));
        Assert.False(piped.HadErrors, piped.ErrorText);
        Assert.Equal(new object[] { yaml, yaml }, piped.Output.Select(o => o.BaseObject).ToArray());
    }

    [Fact]
    public void ConvertFrom_RemaphoreConfig_names_the_bad_line()
    {
        using var dir = new TempDir();
        using var pwsh = new Pwsh();
        var conf = dir.File("remaphore.conf");
        File.WriteAllText(conf, "server: nats://n:4222\n[ Peers ]\ncom.x.y notakey [ping]\n");
        var r = pwsh.Run("param($p) ConvertFrom-RemaphoreConfig -Path $p", P(("p", conf)));
        var error = Assert.Single(r.Errors);
        Assert.Equal("RemoteOps.ConfigInvalid", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Equal(ErrorCategory.InvalidData, error.CategoryInfo.Category);
        Assert.Contains(conf, error.Exception.Message);
        Assert.Contains("line 3", error.Exception.Message);
        Assert.Empty(r.Output);

        var missing = pwsh.Run("param($p) ConvertFrom-RemaphoreConfig -Path $p", P(("p", dir.File("none.conf"))));
        Assert.Equal(ErrorCategory.ObjectNotFound, Assert.Single(missing.Errors).CategoryInfo.Category);
    }

    public static TheoryData<string, string, int, string> BrokenConfigs => new()
    {
        { "Get-RemoteOpsConfig -ConfigPath $p", "servers: [nats://a:4222]\nsubjekt: x\n", 2, "subjekt" },
        { "Get-RemoteOpsConfig -ConfigPath $p", "allow_skew: 5s\nseaport:\n  heartbeat: soon\n", 3, "seaport.heartbeat" },
        { "Get-RemoteOpsConfig -ConfigPath $p -TestConnection", "max_payload: huge\n", 1, "max_payload" },
        { "Disconnect-RemoteOps -ConfigPath $p", "seaport:\n  range: [9, 3]\n", 2, "seaport.range" },
    };

    [Theory]
    [MemberData(nameof(BrokenConfigs))]
    public void A_broken_config_is_one_error_record_naming_file_line_and_key(string command, string yaml, int line, string key)
    {
        using var dir = new TempDir();
        using var pwsh = new Pwsh();
        var path = dir.File("broken.yaml");
        File.WriteAllText(path, yaml);
        var r = pwsh.Run("param($p) " + command, P(("p", path)));
        var error = Assert.Single(r.Errors);
        Assert.Empty(r.Output);
        Assert.StartsWith("RemoteOps.ConfigInvalid,", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidData, error.CategoryInfo.Category);
        var message = error.ToString();
        Assert.Contains(path, message);
        Assert.Contains($"line {line}", message);
        Assert.Contains($"'{key}'", message);
        Assert.DoesNotContain("   at ", message);
        Assert.DoesNotContain("Exception", message);
    }

    [Fact]
    public void Bad_yaml_and_a_missing_file_are_config_errors_too()
    {
        using var dir = new TempDir();
        using var pwsh = new Pwsh();
        File.WriteAllText(dir.File("bad.yaml"), "servers: [unclosed\n");
        var bad = pwsh.Run("param($p) Get-RemoteOpsConfig -ConfigPath $p", P(("p", dir.File("bad.yaml"))));
        var e = Assert.Single(bad.Errors);
        Assert.StartsWith("RemoteOps.ConfigInvalid,", e.FullyQualifiedErrorId);
        Assert.Contains("not valid YAML", e.ToString());

        var missing = pwsh.Run("param($p) Get-RemoteOpsConfig -ConfigPath $p", P(("p", dir.File("nope.yaml"))));
        var m = Assert.Single(missing.Errors);
        Assert.StartsWith("RemoteOps.ConfigInvalid,", m.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, m.CategoryInfo.Category);
        Assert.Contains("New-RemoteOpsConfig", m.ToString());
    }

    [Fact]
    public void A_broken_config_error_can_be_caught()
    {
        using var dir = new TempDir();
        using var pwsh = new Pwsh();
        File.WriteAllText(dir.File("bad.yaml"), "subjekt: x\n");
        // A terminating error of the statement: $? turns false and the script goes on; try/catch catches it.
        var r = pwsh.Run("param($p) Get-RemoteOpsConfig -ConfigPath $p; $?; 'after'", P(("p", dir.File("bad.yaml"))));
        Assert.Equal(new object[] { false, "after" }, r.Output.Select(o => o.BaseObject).ToArray());
        var caught = pwsh.Run("param($p) try { Get-RemoteOpsConfig -ConfigPath $p; 'not reached' } catch { 'caught ' + $_.FullyQualifiedErrorId }", P(("p", dir.File("bad.yaml"))));
        Assert.Empty(caught.Errors);
        Assert.Equal("caught RemoteOps.ConfigInvalid,RemoteOps.PowerShell.Cmdlets.GetRemoteOpsConfigCommand", Assert.Single(caught.Output).BaseObject);
    }

    [Fact]
    public void A_private_key_file_readable_by_others_gets_a_warning()
    {
        using var dir = new TempDir();
        using var pwsh = new Pwsh();
        var key = dir.File("me.key");
        var id = pwsh.Run("param($k) New-RemoteOpsIdentity -Path $k", P(("k", key))).Output.Single();
        File.WriteAllText(dir.File("config.yaml"), $"identities:\n  - public: {Prop(id, "PublicKey")}\n    private_file: me.key\n");
        var quiet = pwsh.Run("param($p) Get-RemoteOpsConfig -ConfigPath $p", P(("p", dir.File("config.yaml"))));
        Assert.False(quiet.HadErrors, quiet.ErrorText);
        Assert.Empty(quiet.Warnings);

        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        foreach (var command in new[] { "Get-RemoteOpsConfig -ConfigPath $p", "Disconnect-RemoteOps -ConfigPath $p" })
        {
            var r = pwsh.Run("param($p) " + command, P(("p", dir.File("config.yaml"))));
            Assert.False(r.HadErrors, r.ErrorText);
            var warning = Assert.Single(r.Warnings);
            Assert.Contains(key, warning);
            Assert.Contains("chmod 600", warning);
        }
    }
}
