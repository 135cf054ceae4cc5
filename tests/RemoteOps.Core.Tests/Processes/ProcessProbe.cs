namespace RemoteOps.Core.Tests.Processes;

/// <summary>Looks at processes through /proc, independently of the code under test.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class ProcessProbe
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>Alive: /proc/PID exists and the process is not a zombie (an unreaped orphan is dead).</summary>
    public static bool Alive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..][0];
            return state is not ('Z' or 'X');
        }
        catch (IOException) { return false; }
    }

    /// <summary>The pids a script appended to a file, one a line (none while the file does not exist).</summary>
    public static int[] ReadPids(string file) =>
        File.Exists(file) ? File.ReadAllLines(file).Where(l => l.Trim().Length > 0).Select(l => int.Parse(l.Trim())).ToArray() : [];

    /// <summary>
    /// Waits until <paramref name="file"/> lists <paramref name="count"/> pids or <paramref name="stopIf"/> has
    /// completed. The script gives no other signal than the file, so it is looked at again shortly.
    /// </summary>
    public static async Task<int[]> PidsAsync(string file, int count, Task stopIf)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (true)
        {
            var pids = ReadPids(file);
            if (pids.Length >= count || stopIf.IsCompleted || DateTime.UtcNow > deadline) return pids;
            await Task.WhenAny(stopIf, Task.Delay(20));
        }
    }
}
