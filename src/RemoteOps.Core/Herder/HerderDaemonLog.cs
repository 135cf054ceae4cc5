using System.Text;

namespace RemoteOps.Herder;

/// <summary>Where a reader of a daemon's logs is: the byte offset reached in out.log and in err.log.</summary>
public sealed record HerderDaemonLogPosition(long Output, long Error);

/// <summary>
/// Follows a daemon's two log files as they grow (attach, -Follow): each call returns the complete lines written since
/// the last one. A file that shrank was rotated (copied aside and truncated): reading starts again at its beginning.
/// </summary>
public sealed class HerderDaemonTail : IDisposable
{
    /// <summary>A line longer than this is cut into pieces rather than held back for ever.</summary>
    public const int MaxLineBytes = 64 * 1024;
    private readonly string _name;
    private readonly string[] _paths;
    private readonly long[] _offsets = new long[2];
    private readonly List<byte>[] _partial = [[], []];
    private readonly SemaphoreSlim _changed = new(0, 1);
    private FileSystemWatcher? _watcher;

    private HerderDaemonTail(string name, string directory, HerderDaemonLogPosition? from)
    {
        _name = name;
        var files = new HerderDaemonFiles(directory);
        _paths = [files.Log(HerderDaemonStream.Output), files.Log(HerderDaemonStream.Error)];
        if (from is null)
            for (int i = 0; i < 2; i++) _offsets[i] = File.Exists(_paths[i]) ? new FileInfo(_paths[i]).Length : 0;
        else { _offsets[0] = from.Output; _offsets[1] = from.Error; }
    }

    /// <summary>Follows the logs in <paramref name="directory"/> from <paramref name="from"/>; from their current ends when null.</summary>
    public static HerderDaemonTail Open(string name, string directory, HerderDaemonLogPosition? from) => new(name, directory, from);

    public HerderDaemonLogPosition Position => new(_offsets[0], _offsets[1]);

    /// <summary>Waits until a log file changes (inotify, through FileSystemWatcher) or <paramref name="most"/> passed:
    /// a follower wakes as the daemon writes instead of on the next tick of a poll.</summary>
    public async Task WaitAsync(TimeSpan most, CancellationToken ct)
    {
        if (_watcher is null)
        {
            try
            {
                _watcher = new FileSystemWatcher(Path.GetDirectoryName(_paths[0])!) { NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.Size };
                _watcher.Filters.Add(Path.GetFileName(_paths[0]));
                _watcher.Filters.Add(Path.GetFileName(_paths[1]));
                _watcher.Changed += (_, _) => { if (_changed.CurrentCount == 0) try { _changed.Release(); } catch (SemaphoreFullException) { } };
                _watcher.EnableRaisingEvents = true;
            }
            catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException)
            {
                _watcher = null; // no watcher (out of inotify instances): the poll alone
            }
        }
        await _changed.WaitAsync(most, ct).ConfigureAwait(false);
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _changed.Dispose();
    }

    /// <summary>The complete lines written since the last call, stdout's first.</summary>
    public List<HerderDaemonOutput> ReadNew()
    {
        var lines = new List<HerderDaemonOutput>();
        var now = DateTimeOffset.UtcNow;
        for (int i = 0; i < 2; i++)
        {
            var stream = (HerderDaemonStream)i;
            FileStream file;
            try { file = new FileStream(_paths[i], FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            using (file)
            {
                var length = file.Length;
                if (length < _offsets[i]) { _offsets[i] = 0; _partial[i].Clear(); } // rotated
                if (length == _offsets[i]) continue;
                file.Position = _offsets[i];
                var buffer = new byte[Math.Min(length - _offsets[i], 1 << 20)];
                var read = file.Read(buffer, 0, buffer.Length);
                _offsets[i] += read;
                foreach (var line in Split(_partial[i], buffer.AsSpan(0, read)))
                    lines.Add(new HerderDaemonOutput { Name = _name, Stream = stream, Line = line, Time = now });
            }
        }
        return lines;
    }

    /// <summary>Complete lines of <paramref name="partial"/> + <paramref name="data"/>; what follows the last newline
    /// stays in <paramref name="partial"/>. A carriage return before the newline is dropped.</summary>
    internal static List<string> Split(List<byte> partial, ReadOnlySpan<byte> data)
    {
        var lines = new List<string>();
        foreach (var b in data)
        {
            if (b == (byte)'\n' || partial.Count >= MaxLineBytes)
            {
                var count = partial.Count > 0 && partial[^1] == (byte)'\r' && b == (byte)'\n' ? partial.Count - 1 : partial.Count;
                lines.Add(Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(partial)[..count]));
                partial.Clear();
                if (b != (byte)'\n') partial.Add(b);
            }
            else partial.Add(b);
        }
        return lines;
    }
}

/// <summary>Reads a daemon's logs back: the rotated files, oldest first, then the current one.</summary>
public static class HerderDaemonLogReader
{
    /// <summary>The last <paramref name="tail"/> lines of each stream (all when null), stdout's first, with their
    /// position (to follow from). A line's time is not recorded in the files: Time is null.</summary>
    public static (List<HerderDaemonOutput> Lines, HerderDaemonLogPosition Position) Read(string name, string directory, int? tail)
    {
        var files = new HerderDaemonFiles(directory);
        var result = new List<HerderDaemonOutput>();
        var ends = new long[2];
        foreach (var stream in new[] { HerderDaemonStream.Output, HerderDaemonStream.Error })
        {
            var kept = new Queue<string>();
            foreach (var path in files.Rotated(stream).Append(files.Log(stream)))
            {
                byte[] bytes;
                try
                {
                    using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                    bytes = new byte[f.Length];
                    f.ReadExactly(bytes);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
                if (path == files.Log(stream)) ends[(int)stream] = bytes.Length;
                var partial = new List<byte>();
                var lines = HerderDaemonTail.Split(partial, bytes);
                if (partial.Count > 0 && path != files.Log(stream)) lines.Add(Encoding.UTF8.GetString(partial.ToArray()));
                else if (partial.Count > 0) ends[(int)stream] -= partial.Count; // an unfinished line: followed once it ends
                foreach (var line in lines)
                {
                    kept.Enqueue(line);
                    if (tail is { } n && kept.Count > n) kept.Dequeue();
                }
            }
            result.AddRange(kept.Select(l => new HerderDaemonOutput { Name = name, Stream = stream, Line = l }));
        }
        return (result, new HerderDaemonLogPosition(ends[0], ends[1]));
    }
}
