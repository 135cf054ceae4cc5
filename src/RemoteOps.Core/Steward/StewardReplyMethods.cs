using System.Text;
using RemoteOps.Processes;

namespace RemoteOps.Steward;

/// <summary>What a reply method did where the reply was received: the file written, or the reply command's result.</summary>
public sealed record StewardReplyOutcome(StewardMethod Method, string? Path, OneShotResult? Command)
{
    /// <summary>Null when it went well; else why not (the reply command failed to start, exited non-zero or timed out).</summary>
    public string? Problem => Command switch
    {
        null => null,
        { StartFailure: { } f } => $"the reply command did not start: {f}",
        { TimedOut: true } => "the reply command timed out",
        { ExitCode: not 0 } c => $"the reply command exited with {c.ExitCode}: {c.StandardError.Trim()}",
        _ => null,
    };
}

/// <summary>The seed's reply methods, run where the reply is received (the waiting session): ToConsole (the pipeline,
/// nothing to do here), ToFile (overwrite) and ToFileAppend (Directory/FileName, relative to the steward data directory
/// unless absolute, created as needed), and CliCommand, whose arguments may hold <see cref="DataPlaceholder"/>.</summary>
public static class StewardReplyMethods
{
    /// <summary>The seed's template variable for the method's output in a CliCommand reply.</summary>
    public const string DataPlaceholder = "{{STEWARD_DATA}}";
    /// <summary>The environment variable that carries the output: the seed replaces the placeholder with
    /// <c>$STEWARD_DATA</c> and passes the data in the environment, so a node's output is never read as shell code (and
    /// <c>echo "{{STEWARD_DATA}}"</c> keeps new lines where <c>echo {{STEWARD_DATA}}</c> does not, as the seed says).</summary>
    public const string DataVariable = "STEWARD_DATA";

    /// <summary>Whether a reply method runs for this record: a final status with a result (not NoAck, Denied, Cancelled).</summary>
    public static bool HasResult(StewardRecord record) =>
        record.Status is StewardStatus.Succeeded or StewardStatus.Failed or StewardStatus.TimedOut;

    /// <summary>Checks what the sender gave before anything is sent: a file name is a name, not a path.</summary>
    public static void CheckFields(StewardMethod? replyMethod, string? directory, string? fileName)
    {
        if (fileName is not null && (fileName.Length == 0 || fileName is "." or ".." || fileName.IndexOfAny(['/', '\\', '\0']) >= 0))
            throw new StewardArgumentException($"The fileName '{Messaging.UntrustedText.Clean(fileName)}' is not a file name (no directories; put them in directory).");
        if (directory is not null && directory.Contains('\0'))
            throw new StewardArgumentException("The directory holds a NUL character.");
        _ = replyMethod;
    }

    /// <summary>Directory/FileName under <paramref name="dataDirectory"/> unless Directory is absolute; the file name
    /// defaults to "&lt;node&gt;.&lt;method&gt;.result".</summary>
    public static string FilePath(StewardRecord record, string dataDirectory)
    {
        var directory = string.IsNullOrEmpty(record.Directory) ? dataDirectory : Path.Combine(dataDirectory, record.Directory);
        var name = string.IsNullOrEmpty(record.FileName) ? $"{record.Node}.{record.Method}.result" : record.FileName;
        return Path.GetFullPath(Path.Combine(directory, name));
    }

    /// <summary>The working directory of a CliCommand reply: Directory (as for files), else the data directory.</summary>
    public static string WorkingDirectory(StewardRecord record, string dataDirectory) =>
        Path.GetFullPath(string.IsNullOrEmpty(record.Directory) ? dataDirectory : Path.Combine(dataDirectory, record.Directory));

    /// <summary>The reply command's arguments and environment: each placeholder becomes <c>$STEWARD_DATA</c>, and the data
    /// goes in the environment only when a placeholder was there.</summary>
    public static (IReadOnlyList<string> Args, IReadOnlyDictionary<string, string> Environment) CliCommand(IReadOnlyList<string> replyArgs, string data)
    {
        var found = replyArgs.Any(a => a.Contains(DataPlaceholder, StringComparison.Ordinal));
        var args = replyArgs.Select(a => a.Replace(DataPlaceholder, "$" + DataVariable, StringComparison.Ordinal)).ToArray();
        IReadOnlyDictionary<string, string> env = found ? new Dictionary<string, string> { [DataVariable] = data } : new Dictionary<string, string>();
        return (args, env);
    }

    /// <summary>Appends lines of a streaming method as they arrive (ToFileAppend).</summary>
    public static async Task AppendLinesAsync(string path, IEnumerable<string> lines, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var text = new StringBuilder();
        foreach (var line in lines) text.Append(line).Append('\n');
        await File.AppendAllTextAsync(path, text.ToString(), ct).ConfigureAwait(false);
    }

    /// <summary>Runs the record's reply method with <paramref name="data"/> (the method's output). ToConsole does nothing
    /// here. <paramref name="appended"/>: the data was appended line by line already (a streamed ToFileAppend).</summary>
    public static async Task<StewardReplyOutcome?> RunAsync(StewardRecord record, string data, string dataDirectory, TimeSpan defaultTimeout,
        bool appended, CancellationToken ct)
    {
        switch (record.ReplyMethod)
        {
            case null or StewardMethod.ToConsole:
                return null;
            case StewardMethod.ToFile:
            {
                var path = FilePath(record, dataDirectory);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                await File.WriteAllTextAsync(path, data, ct).ConfigureAwait(false);
                return new StewardReplyOutcome(StewardMethod.ToFile, path, null);
            }
            case StewardMethod.ToFileAppend:
            {
                var path = FilePath(record, dataDirectory);
                if (!appended)
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    await File.AppendAllTextAsync(path, data.Length == 0 || data.EndsWith('\n') ? data : data + "\n", ct).ConfigureAwait(false);
                }
                return new StewardReplyOutcome(StewardMethod.ToFileAppend, path, null);
            }
            case StewardMethod.CliCommand:
            {
                if (record.ReplyArgs.Count == 0) throw new StewardArgumentException("A CliCommand reply method needs replyMethodArgs (the program and its arguments).");
                var (args, env) = CliCommand(record.ReplyArgs, data);
                var directory = WorkingDirectory(record, dataDirectory);
                Directory.CreateDirectory(directory);
                var result = await OneShotRunner.RunAsync(new OneShotOptions(args)
                {
                    Environment = env, WorkingDirectory = directory, Timeout = record.ReplyMethodTimeout ?? defaultTimeout,
                }, ct).ConfigureAwait(false);
                return new StewardReplyOutcome(StewardMethod.CliCommand, directory, result);
            }
            default:
                throw new StewardArgumentException($"{record.ReplyMethod} is not a reply method; expected one of: {string.Join(", ", StewardMethods.ReplyMethods)}");
        }
    }
}
