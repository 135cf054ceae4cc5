using System.Management.Automation;

namespace RemoteOps.PowerShell.Tests;

/// <summary>Reading SeaportEvent objects as the tests see them (PSObjects from the hosted runspace).</summary>
internal static class SeaportEvents
{
    public static string Action(PSObject e) => e.Properties["Action"].Value.ToString()!;
    public static string ServiceId(PSObject e) => (string)PSObject.AsPSObject(e.Properties["Service"].Value).Properties["Id"].Value;
}
