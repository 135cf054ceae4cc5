using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using RemoteOps.Herder;

namespace RemoteOps.PowerShell.Internal;

/// <summary>Ties the daemons a session started on this machine (no agent running here) to that session (runspace):
/// when it closes, they stop. The process-exit hook in the core covers what is left.</summary>
internal static class SessionDaemons
{
    private static readonly ConditionalWeakTable<Runspace, Tracker> Trackers = new();

    public static void Track(Runspace? runspace, HerderDaemonHost host, string owner, string name)
    {
        if (runspace is null) return;
        var tracker = Trackers.GetValue(runspace, r =>
        {
            var t = new Tracker();
            r.StateChanged += t.OnStateChanged;
            return t;
        });
        tracker.Add((host.Root, owner, name));
    }

    private sealed class Tracker
    {
        private readonly List<(string Root, string Owner, string Name)> _daemons = [];
        private bool _closed;

        public void Add((string, string, string) daemon)
        {
            lock (_daemons) _daemons.Add(daemon);
        }

        public void OnStateChanged(object? sender, RunspaceStateEventArgs e)
        {
            if (e.RunspaceStateInfo.State is not (RunspaceState.Closing or RunspaceState.Closed or RunspaceState.Broken)) return;
            List<(string, string, string)> daemons;
            lock (_daemons)
            {
                if (_closed) return;
                _closed = true;
                daemons = _daemons.Distinct().ToList();
            }
            HerderDaemons.StopSessionDaemons(daemons, TimeSpan.FromSeconds(10));
        }
    }
}
