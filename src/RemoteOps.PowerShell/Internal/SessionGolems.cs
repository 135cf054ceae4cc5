using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using RemoteOps.Herder;

namespace RemoteOps.PowerShell.Internal;

/// <summary>Ties the golems Start-HerderGolem starts without -Node to the PowerShell session (runspace) that started
/// them: when it closes (pwsh exits, a thread job ends, a hosted runspace is disposed) or removes the module, its
/// golems are stopped. The core kills what is left at the process's exit, and a parent-death signal covers a pwsh
/// that is killed outright.</summary>
internal static class SessionGolems
{
    private static readonly ConditionalWeakTable<Runspace, object> Tracked = new();

    /// <summary>The owner id of golems started in <paramref name="runspace"/> (hooked to stop them when it closes).</summary>
    public static string Owner(Runspace? runspace)
    {
        if (runspace is null) return "process";
        Tracked.GetValue(runspace, r =>
        {
            r.StateChanged += OnStateChanged;
            return new object();
        });
        return OwnerId(runspace);
    }

    /// <summary>Stops the golems of the current runspace (Remove-Module).</summary>
    public static void StopForCurrentRunspace()
    {
        if (Runspace.DefaultRunspace is { } runspace && Tracked.TryGetValue(runspace, out _)) Stop(runspace);
    }

    private static string OwnerId(Runspace runspace) => "session " + runspace.InstanceId.ToString("N");

    private static void OnStateChanged(object? sender, RunspaceStateEventArgs e)
    {
        if (sender is Runspace runspace && e.RunspaceStateInfo.State is RunspaceState.Closing or RunspaceState.Broken) Stop(runspace);
    }

    [MethodImpl(MethodImplOptions.NoInlining)] // keeps the core's types out of the callers (the core loads on demand)
    private static void Stop(Runspace runspace)
    {
        try { HerderGolemHerd.Session.StopOwnedAsync(OwnerId(runspace)).Wait(TimeSpan.FromSeconds(15)); }
        catch (AggregateException) { /* best effort: the process exit and the parent-death signal remain */ }
    }
}
