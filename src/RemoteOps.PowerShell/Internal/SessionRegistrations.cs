using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using RemoteOps.Config;
using RemoteOps.Seaport;

namespace RemoteOps.PowerShell.Internal;

/// <summary>Ties seaport registrations to the PowerShell session (runspace) that made them: when it closes (pwsh exits,
/// a thread job ends, a hosted runspace is disposed), its registrations are freed, so watchers see Freed rather than,
/// a timeout later, Expired. The process-exit hook in the core covers what is left.</summary>
internal static class SessionRegistrations
{
    private static readonly ConditionalWeakTable<Runspace, Tracker> Trackers = new();

    public static void Track(Runspace? runspace, RemoteOpsConfig config, string id)
    {
        if (runspace is null) return;
        var tracker = Trackers.GetValue(runspace, r =>
        {
            var t = new Tracker();
            r.StateChanged += t.OnStateChanged;
            return t;
        });
        tracker.Add(config, id);
    }

    private sealed class Tracker
    {
        private readonly List<(RemoteOpsConfig Config, string Id)> _owned = new();
        private bool _freed;

        public void Add(RemoteOpsConfig config, string id)
        {
            lock (_owned) _owned.Add((config, id));
        }

        public void OnStateChanged(object? sender, RunspaceStateEventArgs e)
        {
            if (e.RunspaceStateInfo.State is not (RunspaceState.Closing or RunspaceState.Closed or RunspaceState.Broken)) return;
            List<(RemoteOpsConfig Config, string Id)> owned;
            lock (_owned)
            {
                if (_freed) return;
                _freed = true;
                owned = _owned.Where(o => SeaportRegistrar.Owns(o.Id)).ToList();
            }
            if (owned.Count == 0) return;
            using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            try
            {
                Task.WhenAll(owned.Select(o => SeaportRegistrar.FreeQuietlyAsync(o.Config, o.Id, budget.Token))).Wait(budget.Token);
            }
            catch (Exception) { /* closing: what is not freed expires */ }
        }
    }
}
