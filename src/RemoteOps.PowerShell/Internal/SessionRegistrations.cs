using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using RemoteOps.Seaport;

namespace RemoteOps.PowerShell.Internal;

/// <summary>Ties seaport registrations to the PowerShell session (runspace) that made them: when it closes (pwsh exits,
/// a thread job ends, a hosted runspace is disposed), its registrations are freed, so watchers see Freed rather than,
/// a timeout later, Expired. The process-exit hook in the core covers what is left.</summary>
internal static class SessionRegistrations
{
    private static readonly ConditionalWeakTable<Runspace, Tracker> Trackers = new();

    public static void Track(Runspace? runspace, string id)
    {
        if (runspace is null) return;
        var tracker = Trackers.GetValue(runspace, r =>
        {
            var t = new Tracker();
            r.StateChanged += t.OnStateChanged;
            return t;
        });
        tracker.Add(id);
    }

    private sealed class Tracker
    {
        private readonly List<string> _ids = new();
        private bool _closed;

        public void Add(string id)
        {
            lock (_ids) _ids.Add(id);
        }

        public void OnStateChanged(object? sender, RunspaceStateEventArgs e)
        {
            if (e.RunspaceStateInfo.State is not (RunspaceState.Closing or RunspaceState.Closed or RunspaceState.Broken)) return;
            List<string> ids;
            lock (_ids)
            {
                if (_closed) return;
                _closed = true;
                ids = _ids.ToList();
            }
            SeaportRegistrar.FreeOwned(ids, TimeSpan.FromSeconds(3));
        }
    }
}
