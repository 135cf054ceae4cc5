using System.Xml.Linq;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

public class FoundationModuleTests
{
    private static readonly string[] Common =
    [
        "Verbose", "Debug", "ErrorAction", "WarningAction", "InformationAction", "ProgressAction", "ErrorVariable",
        "WarningVariable", "InformationVariable", "OutVariable", "OutBuffer", "PipelineVariable", "WhatIf", "Confirm",
    ];

    [Fact]
    public void Every_exported_cmdlet_has_a_synopsis_an_example_and_its_parameters_documented()
    {
        using var pwsh = new Pwsh();
        var names = pwsh.Run("(Get-Module RemoteOps).ExportedCmdlets.Keys").Output.Select(o => o.ToString()).ToList();
        Assert.Contains("New-RemoteOpsConfig", names);
        Assert.Contains("Disconnect-RemoteOps", names);
        foreach (var name in names)
        {
            var r = pwsh.Run($"$h = Get-Help {name} -Full; $h.Synopsis; @($h.Examples.Example).Count; @($h.Parameters.Parameter | ForEach-Object Name) -join ','; @((Get-Command {name}).Parameters.Keys) -join ','");
            Assert.False(r.HadErrors, r.ErrorText);
            var synopsis = r.Output[0]?.ToString() ?? "";
            Assert.False(string.IsNullOrWhiteSpace(synopsis), $"{name} has no synopsis");
            Assert.DoesNotContain(name + " ", synopsis); // a written synopsis, not the generated syntax line
            Assert.True((int)r.Output[1].BaseObject >= 1, $"{name} has no example");
            var documented = r.Output[2].ToString().Split(',').ToHashSet();
            foreach (var p in r.Output[3].ToString().Split(',').Where(p => !Common.Contains(p)))
                Assert.True(documented.Contains(p), $"{name} -{p} is not in the help");
        }
    }

    [Fact]
    public void Import_Module_and_Get_Help_Examples_work_as_a_user_runs_them()
    {
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($m) Remove-Module RemoteOps; Import-Module $m -PassThru | ForEach-Object Name; (Get-Command -Module RemoteOps).Count; Get-Help New-RemoteOpsIdentity -Examples | ForEach-Object { $_.Examples.Example[0].Code }",
            new System.Collections.Hashtable { ["m"] = Repo.ModuleManifest });
        Assert.False(r.HadErrors, r.ErrorText);
        Assert.Equal("RemoteOps", r.Output[0].ToString());
        Assert.True((int)r.Output[1].BaseObject >= 7);
        Assert.Contains("New-RemoteOpsIdentity", r.Output[2].ToString());

        var about = pwsh.Run("Get-Help about_RemoteOps");
        Assert.False(about.HadErrors, about.ErrorText);
        var text = string.Concat(about.Output.Select(o => o?.ToString()));
        Assert.Contains("about_RemoteOps", text);
        Assert.Contains("New-RemoteOpsIdentity", text);
    }

    [Fact]
    public void Every_declared_output_type_of_every_cmdlet_has_a_table_or_list_view()
    {
        var doc = XDocument.Load(Path.Combine(Repo.Root, "out", "RemoteOps", "RemoteOps.format.ps1xml"));
        var views = doc.Descendants("View").Where(v => v.Element("TableControl") is not null || v.Element("ListControl") is not null)
            .Select(v => v.Element("ViewSelectedBy")!.Element("TypeName")!.Value).ToHashSet();
        using var pwsh = new Pwsh();
        var r = pwsh.Run("Get-Command -Module RemoteOps | ForEach-Object { $c = $_.Name; $_.OutputType | ForEach-Object { \"$c=$($_.Name)\" } }");
        Assert.False(r.HadErrors, r.ErrorText);
        var declared = r.Output.Select(o => o.ToString()).ToList();
        Assert.Contains(declared, d => d.EndsWith("=RemoteOps.Seaport.SeaportEvent"));
        foreach (var d in declared.Where(d => !d.Split('=')[1].StartsWith("System.")))
            Assert.True(views.Contains(d.Split('=')[1]), $"{d}: no table or list view");
    }

    [Fact]
    public void Foundation_output_types_have_table_views_and_help_files_exist()
    {
        var doc = XDocument.Load(Path.Combine(Repo.Root, "out", "RemoteOps", "RemoteOps.format.ps1xml"));
        var views = doc.Descendants("View").Where(v => v.Element("TableControl") is not null)
            .Select(v => v.Element("ViewSelectedBy")!.Element("TypeName")!.Value).ToList();
        foreach (var type in new[] { "RemoteOps.RemoteOpsIdentity", "RemoteOps.RemoteOpsConfigInfo", "RemoteOps.RemoteOpsDevServer",
                     "RemoteOps.RemoteOpsIdentityInfo", "RemoteOps.RemoteOpsPeerInfo", "RemoteOps.RemoteOpsConnectionInfo" })
            Assert.Contains(type, views);
        Assert.True(File.Exists(Path.Combine(Repo.Root, "out", "RemoteOps", "en-US", "about_RemoteOps.help.txt")));
    }
}
