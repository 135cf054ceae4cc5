using System.Globalization;

namespace RemoteOps.Processes;

/// <summary>A snapshot of /proc (Linux): parent, process group and state of every process.</summary>
internal sealed class ProcTable
{
    private readonly Dictionary<int, (int Ppid, int Pgrp, char State)> _entries = [];

    public static ProcTable Read()
    {
        var table = new ProcTable();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            if (TryReadStat(pid, out var entry)) table._entries[pid] = entry;
        }
        return table;
    }

    /// <summary>Reads /proc/PID/stat: state, ppid, pgrp (the fields after the parenthesized command name).</summary>
    public static bool TryReadStat(int pid, out (int Ppid, int Pgrp, char State) entry)
    {
        entry = default;
        string text;
        try { text = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
        var close = text.LastIndexOf(')');
        if (close < 0) return false;
        var fields = text[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 3) return false;
        if (!int.TryParse(fields[1], CultureInfo.InvariantCulture, out var ppid) ||
            !int.TryParse(fields[2], CultureInfo.InvariantCulture, out var pgrp)) return false;
        entry = (ppid, pgrp, fields[0][0]);
        return true;
    }

    /// <summary>Alive: present and neither a zombie nor dead (an unreaped orphan of a non-reaping init counts as gone).</summary>
    public bool IsAlive(int pid) => _entries.TryGetValue(pid, out var e) && e.State is not ('Z' or 'X' or 'x');

    public IEnumerable<int> GroupMembers(int pgrp) =>
        _entries.Where(kv => kv.Value.Pgrp == pgrp && IsAlive(kv.Key)).Select(kv => kv.Key);

    public HashSet<int> DescendantsOf(int root)
    {
        var children = _entries.ToLookup(kv => kv.Value.Ppid, kv => kv.Key);
        var found = new HashSet<int>();
        var queue = new Queue<int>([root]);
        while (queue.Count > 0)
            foreach (var child in children[queue.Dequeue()])
                if (found.Add(child)) queue.Enqueue(child);
        return found;
    }
}
