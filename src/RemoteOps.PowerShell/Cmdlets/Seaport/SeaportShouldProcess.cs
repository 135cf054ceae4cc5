using System.Collections;
using System.Management.Automation;
using RemoteOps.Config;
using RemoteOps.Seaport;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>What -WhatIf and -Confirm say for the seaport cmdlets: the role, host and port(s) a call would register,
/// start, change or free, not just an id.</summary>
internal static class SeaportShouldProcess
{
    /// <summary>How long a -WhatIf/-Confirm may spend looking up what an id names before it falls back to the id alone.</summary>
    // 5 s: a first query in a new session connects and loads the registry, which a busy machine makes slow.
    private static readonly TimeSpan LookupBudget = TimeSpan.FromSeconds(5);

    /// <summary>Whether ShouldProcess will print or ask (so a lookup to describe the target is worth making).</summary>
    public static bool WillExplain(PSCmdlet cmdlet, ConfirmImpact impact)
    {
        var bound = cmdlet.MyInvocation.BoundParameters;
        if (bound.TryGetValue("WhatIf", out var w) && w is SwitchParameter { IsPresent: true }) return true;
        if (bound.TryGetValue("Confirm", out var c) && c is SwitchParameter { IsPresent: true }) return true;
        if (LanguagePrimitives.IsTrue(cmdlet.SessionState.PSVariable.GetValue("WhatIfPreference"))) return true;
        return cmdlet.SessionState.PSVariable.GetValue("ConfirmPreference") is ConfirmImpact preference
            && preference != ConfirmImpact.None && impact >= preference;
    }

    /// <summary>"web@1.2.3 (id) on host:port" for a registered id, or the id alone when it cannot be found within the budget.</summary>
    public static string Describe(PSCmdlet cmdlet, RemoteOpsConfig config, string id, ConfirmImpact impact)
    {
        if (!WillExplain(cmdlet, impact)) return id;
        try
        {
            using var budget = new CancellationTokenSource(LookupBudget);
            var found = Task.Run(() => SeaportQueries.QueryAsync(config, null, [id], null, budget.Token)).GetAwaiter().GetResult();
            return found.Count > 0 ? Describe(found[0]) : $"{id} (not found among the live services)";
        }
        catch (Exception) { return id; } // describing is best effort: the call itself reports real errors
    }

    public static string Describe(SeaportService s) =>
        $"{s.Role} ({s.Id}) on {s.HostName}:{(s.Ports.Count > 1 ? string.Join(", ", s.Ports.Select(p => $"{p.Key}={p.Value}")) : s.Port.ToString(System.Globalization.CultureInfo.InvariantCulture))}";

    /// <summary>"web@1.2.3 on host, port 8080" or "..., a free port in 20000-32767", with named ports and id.</summary>
    public static string DescribeNew(RemoteOpsConfig config, string role, string? hostName, int? port, string[]? portNames, int[]? range, string? id)
    {
        var r = range is { Length: 2 } ? range : config.Section<SeaportConfig>().Range;
        var ports = port is { } p ? $"port {p}" : $"a free port in {r[0]}-{r[1]}";
        if (portNames is { Length: > 0 }) ports += $" (named {string.Join(", ", portNames)})";
        return $"{role} on {hostName ?? SeaportRegistrar.LocalHostName}, {ports}{(id is null ? "" : $", id {id}")}";
    }

    /// <summary>"set a=1, remove b" for Set-SeaportService -Meta.</summary>
    public static string DescribeMeta(Hashtable meta) =>
        string.Join(", ", meta.Keys.Cast<object>().Select(k => meta[k] is null ? $"remove {k}" : $"set {k}={meta[k]}"));
}
