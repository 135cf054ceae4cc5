using System.Xml.Linq;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

public class RemaphoreHelpTests
{
    [Theory]
    [InlineData("Send-Remaphore")]
    [InlineData("Wait-Remaphore")]
    [InlineData("Invoke-Remaphore")]
    public void Help_has_a_synopsis_examples_and_every_parameter(string name)
    {
        using var pwsh = new Pwsh();
        var r = pwsh.Run($"$h = Get-Help {name} -Full; $h.Synopsis; @($h.Examples.Example).Count; @($h.Parameters.Parameter | ForEach-Object Name) -join ','; @((Get-Command {name}).Parameters.Keys) -join ','");
        Assert.False(r.HadErrors, r.ErrorText);
        var synopsis = r.Output[0].ToString();
        Assert.False(string.IsNullOrWhiteSpace(synopsis));
        Assert.DoesNotContain(name + " ", synopsis); // a real synopsis, not the generated syntax line
        Assert.True((int)r.Output[1].BaseObject >= 3);
        var documented = r.Output[2].ToString().Split(',').ToHashSet();
        var common = new HashSet<string> { "Verbose", "Debug", "ErrorAction", "WarningAction", "InformationAction", "ProgressAction", "ErrorVariable", "WarningVariable", "InformationVariable", "OutVariable", "OutBuffer", "PipelineVariable" };
        foreach (var p in r.Output[3].ToString().Split(',').Where(p => !common.Contains(p)))
            Assert.True(documented.Contains(p), $"{name} -{p} is not in the help");
    }

    [Fact]
    public void Format_data_has_a_table_for_each_output_type()
    {
        var doc = XDocument.Load(Path.Combine(Repo.Root, "out", "RemoteOps", "RemoteOps.format.ps1xml"));
        var views = doc.Descendants("View").Where(v => v.Element("TableControl") is not null).Select(v => v.Element("ViewSelectedBy")!.Element("TypeName")!.Value).ToList();
        Assert.Contains("RemoteOps.Remaphore.RemaphoreMessage", views);
        Assert.Contains("RemoteOps.Remaphore.RemaphoreResponse", views);
    }
}
