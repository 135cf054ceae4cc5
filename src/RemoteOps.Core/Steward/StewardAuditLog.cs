using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using RemoteOps.Config;
using RemoteOps.Messaging;

namespace RemoteOps.Steward;

/// <summary>A steward audit log: JSON lines (<see cref="StewardAuditRecord"/>), appended one line per message, rotated by
/// size (<c>audit.jsonl</c> → <c>audit.1.jsonl</c> … <c>audit.N.jsonl</c>, the oldest removed). One writer per file per
/// process, so agents and clients in one process share it; each line is written with one append, so another process
/// appending to the same file never interleaves within a line.</summary>
public sealed class StewardAuditLog
{
    /// <summary>Rotating a file smaller than this would mostly rotate.</summary>
    public const int MinMaxSize = 1024;
    public const int MaxKeep = 1000;
    /// <summary>A line is a message's arguments and some names: a PwshScript's script may be long, but never this long.</summary>
    public const int MaxLineChars = 16 * 1024 * 1024;
    public const string FileName = "audit.jsonl";

    private static readonly ConcurrentDictionary<string, StewardAuditLog> Open = new(StringComparer.Ordinal);

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        PropertyNameCaseInsensitive = true,
        MaxDepth = 8,
        // A log read with grep and jq, never embedded in HTML: '>' and '&' stay as they are.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly Lock _gate = new();
    public string Path { get; }
    public long MaxSize { get; private set; }
    public int Keep { get; private set; }

    private StewardAuditLog(string path, long maxSize, int keep) { Path = path; MaxSize = maxSize; Keep = keep; }

    /// <summary>The writer of <paramref name="path"/> (one per file per process; the latest limits win).</summary>
    public static StewardAuditLog At(string path, long maxSize, int keep)
    {
        var log = Open.GetOrAdd(System.IO.Path.GetFullPath(path), p => new StewardAuditLog(p, maxSize, keep));
        lock (log._gate) { log.MaxSize = Math.Max(MinMaxSize, maxSize); log.Keep = Math.Clamp(keep, 0, MaxKeep); }
        return log;
    }

    /// <summary>The agent's log: on unless steward.audit_log is false; audit.jsonl in the agent's own data folder unless
    /// steward.audit_log names a file.</summary>
    public static StewardAuditLog? ForAgent(StewardConfig section, string agentDirectory) =>
        section.AuditLog == false ? null : At(section.AuditPath ?? System.IO.Path.Combine(agentDirectory, FileName), section.AuditMaxSize, section.AuditKeep);

    /// <summary>A client's log: off unless steward.audit_log is true (audit.jsonl in steward.data_directory) or a file.</summary>
    public static StewardAuditLog? ForClient(StewardConfig section) =>
        section.AuditLog == true ? At(ClientPath(section), section.AuditMaxSize, section.AuditKeep) : null;

    public static string ClientPath(StewardConfig section) => section.AuditPath ?? System.IO.Path.Combine(section.EffectiveDataDirectory, FileName);

    /// <summary>The files Get-StewardAudit reads when given no -Path: the configured file, or the client's log and the
    /// agent's log of <paramref name="node"/> (the config's destination), those that exist.</summary>
    public static IReadOnlyList<string> DefaultPaths(StewardConfig section, string? node)
    {
        if (section.AuditPath is { } configured) return [configured];
        var paths = new List<string> { ClientPath(section) };
        if (!string.IsNullOrEmpty(node))
            paths.Add(System.IO.Path.Combine(section.EffectiveDataDirectory, StewardAgent.LocalFolder(node), FileName));
        return paths;
    }

    /// <summary>The rotated file number <paramref name="n"/> of <paramref name="path"/>: audit.jsonl → audit.1.jsonl.</summary>
    public static string Rotated(string path, int n)
    {
        var ext = System.IO.Path.GetExtension(path);
        return ext.Length == 0 ? $"{path}.{n}" : $"{path[..^ext.Length]}.{n}{ext}";
    }

    /// <summary>Appends one record as one line, rotating first when the line would take the file past its size.</summary>
    public void Append(StewardAuditRecord record)
    {
        var line = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(record, Json) + "\n");
        lock (_gate)
        {
            var dir = System.IO.Path.GetDirectoryName(Path);
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
            var size = File.Exists(Path) ? new FileInfo(Path).Length : 0;
            if (size > 0 && size + line.Length > MaxSize) Rotate();
            var options = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.ReadWrite | FileShare.Delete };
            // Arguments can be sensitive (a script, a path): the file is its owner's only.
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using var file = new FileStream(Path, options);
            file.Write(line);
        }
    }

    private void Rotate()
    {
        if (Keep == 0) { File.Delete(Path); return; }
        File.Delete(Rotated(Path, Keep));
        for (var n = Keep - 1; n >= 1; n--)
            if (File.Exists(Rotated(Path, n))) File.Move(Rotated(Path, n), Rotated(Path, n + 1), overwrite: true);
        File.Move(Path, Rotated(Path, 1), overwrite: true);
    }

    // ---- reading ----

    /// <summary>Never throws: the record of one line, or false with the problem.</summary>
    public static bool TryParse(string? line, out StewardAuditRecord record, out string problem)
    {
        record = null!;
        if (string.IsNullOrWhiteSpace(line)) { problem = "an empty line"; return false; }
        if (line.Length > MaxLineChars) { problem = $"a line of {line.Length} characters; at most {MaxLineChars} are read"; return false; }
        StewardAuditRecord? parsed;
        try { parsed = JsonSerializer.Deserialize<StewardAuditRecord>(line, Json); }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException or InvalidOperationException or FormatException or OverflowException)
        {
            problem = $"not an audit record: {UntrustedText.Clean(e.Message)}";
            return false;
        }
        if (parsed is null) { problem = "not an audit record: null"; return false; }
        if (parsed.Verdict is not ("run" or "denied" or "duplicate" or "dropped" or "noack" or "cancelled" or "sent"))
        { problem = $"not an audit record: the verdict '{UntrustedText.Clean(parsed.Verdict ?? "")}' is none of run, denied, duplicate, dropped, noack, cancelled, sent"; return false; }
        if (parsed.Time == default) { problem = "not an audit record: no time"; return false; }
        // Nulls in the JSON for lists and strings read as empty, so the record is whole.
        parsed.MessageId ??= ""; parsed.Side ??= ""; parsed.Sender ??= ""; parsed.SenderName ??= ""; parsed.Node ??= ""; parsed.Method ??= "";
        parsed.MethodArgs = parsed.MethodArgs?.Select(a => a ?? "").ToArray() ?? []; parsed.ReplyMethodArgs = parsed.ReplyMethodArgs?.Select(a => a ?? "").ToArray() ?? [];
        parsed.Reason ??= ""; parsed.Status ??= ""; parsed.OutputSha256 ??= ""; parsed.ErrorSha256 ??= "";
        record = parsed;
        problem = "";
        return true;
    }

    /// <summary>The records of <paramref name="path"/> and its rotated files, oldest first. A line that is not a record is
    /// reported through <paramref name="bad"/> (file, line number, problem) and skipped; a missing file yields nothing.</summary>
    public static IEnumerable<StewardAuditRecord> Read(string path, Action<string, int, string>? bad, CancellationToken ct = default)
    {
        var files = new List<string>();
        for (var n = MaxKeep; n >= 1; n--)
            if (File.Exists(Rotated(path, n))) files.Add(Rotated(path, n));
        if (File.Exists(path)) files.Add(path);
        foreach (var file in files)
        {
            StreamReader reader;
            try { reader = new StreamReader(new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete), Encoding.UTF8); }
            catch (FileNotFoundException) { continue; } // rotated away meanwhile
            using (reader)
            {
                var number = 0;
                while (reader.ReadLine() is { } line)
                {
                    ct.ThrowIfCancellationRequested();
                    number++;
                    if (line.Length == 0) continue;
                    if (TryParse(line, out var record, out var problem)) yield return record;
                    else bad?.Invoke(file, number, problem);
                }
            }
        }
    }

    /// <summary>Get-StewardAudit: the records of <paramref name="paths"/> (each with its rotated files), oldest first,
    /// kept when they match: <paramref name="node"/> (a name or a pattern), at or after <paramref name="since"/>, one of
    /// <paramref name="messageIds"/>, one of <paramref name="verdicts"/> (each filter: all when null or empty). Throws
    /// <see cref="DestinationPatternException"/> for a bad pattern, <see cref="StewardArgumentException"/> for a bad name.</summary>
    public static IReadOnlyList<StewardAuditRecord> Query(IEnumerable<string> paths, string? node, DateTimeOffset? since,
        IReadOnlyCollection<string>? messageIds, IReadOnlyCollection<string>? verdicts, Action<string, int, string>? bad, CancellationToken ct)
    {
        if (node is not null)
        {
            if (StewardTargets.IsPattern(node)) DestinationPattern.Validate(node);
            else if (!StewardSubjects.TryValidateNode(node, out var problem))
                throw new StewardArgumentException($"'{UntrustedText.Clean(node)}' is not a node name: {problem}");
        }
        var ids = messageIds is { Count: > 0 } ? messageIds.ToHashSet(StringComparer.Ordinal) : null;
        var kinds = verdicts is { Count: > 0 } ? verdicts.ToHashSet(StringComparer.OrdinalIgnoreCase) : null;
        bool Wanted(StewardAuditRecord r) =>
            (node is null || r.Node == node || StewardTargets.IsPattern(node) && DestinationPattern.Matches(r.Node, node))
            && (since is null || r.Time >= since) && (ids is null || ids.Contains(r.MessageId)) && (kinds is null || kinds.Contains(r.Verdict));
        var found = new List<StewardAuditRecord>();
        foreach (var path in paths.Distinct(StringComparer.Ordinal))
            found.AddRange(Read(path, bad, ct).Where(Wanted));
        // Several files (a client's and an agent's) interleave by time; one file is in order already (a stable sort keeps it).
        return [.. found.OrderBy(r => r.Time)];
    }

    // ---- what a line says ----

    /// <summary>Size in UTF-8 bytes and SHA-256 (lower-case hex) of an output body; ("", 0) when there is none.</summary>
    public static (long Bytes, string Sha256) Digest(string? body)
    {
        if (string.IsNullOrEmpty(body)) return (0, "");
        var bytes = Encoding.UTF8.GetBytes(body);
        return (bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    public static string VerdictText(StewardVerdict verdict) => verdict switch
    {
        StewardVerdict.Run => "run",
        StewardVerdict.Denied => "denied",
        StewardVerdict.Duplicate => "duplicate",
        StewardVerdict.Dropped => "dropped",
        StewardVerdict.NoAck => "noack",
        _ => "cancelled",
    };

    /// <summary>A client's line: a message it queued (Status Queued), or failed to (Failed, with the reason).</summary>
    public static StewardAuditRecord ForSent(StewardCommand c, StewardRequest request, string senderName, DateTimeOffset queueing, Exception? failure)
    {
        var record = FromCommand(c, "Client", senderName);
        record.ReplyMethodTimeout = request.ReplyMethodTimeout;
        record.Verdict = "sent";
        record.Status = failure is null ? "Queued" : "Failed";
        record.Reason = failure is null ? "" : UntrustedText.Clean(failure.Message);
        record.Started = queueing;
        record.Duration = record.Time - queueing;
        return record;
    }

    /// <summary>The message part of a record, from the command as signed.</summary>
    public static StewardAuditRecord FromCommand(StewardCommand c, string side, string senderName) => new()
    {
        MessageId = c.MessageId, Time = DateTimeOffset.UtcNow, Side = side, Sender = c.Sender, SenderName = senderName, Node = c.Node,
        Method = c.Method.ToString(), MethodArgs = [.. c.Args], ReplyMethod = c.ReplyMethod?.ToString(), ReplyMethodArgs = [.. c.ReplyArgs],
        Directory = c.Directory, FileName = c.FileName, AckTimeout = c.AckTimeout, Retries = c.Retries, MethodTimeout = c.MethodTimeout,
    };
}

/// <summary>The agent's audit: one line per message received, written when judged (denied, duplicate, dropped, noack,
/// cancelled), or when its method ended (run, with the outcome, duration, and the output's size and hash).</summary>
internal sealed class StewardAuditObserver(StewardAuditLog log, string node, RemoteOpsConfig config) : IStewardAgentObserver
{
    public StewardAuditLog Log => log;

    private string NameOf(string key) =>
        config.Peers.FirstOrDefault(p => p.Public == key)?.Destination
        ?? (config.Identities.Any(i => i.Public == key) ? config.Destination ?? node : "");

    public void Received(StewardCommand? command, StewardVerdict verdict, string reason)
    {
        if (verdict == StewardVerdict.Run) return; // written with its outcome, when it ends
        var record = command is null ? new StewardAuditRecord { Time = DateTimeOffset.UtcNow, Side = "Agent", Node = node }
            : StewardAuditLog.FromCommand(command, "Agent", NameOf(command.Sender));
        record.Verdict = StewardAuditLog.VerdictText(verdict);
        record.Reason = reason;
        record.Status = verdict switch { StewardVerdict.Denied => "Denied", StewardVerdict.NoAck => "NoAck", StewardVerdict.Cancelled => "Cancelled", _ => "" };
        log.Append(record);
    }

    public void MethodFinished(StewardCommand command, StewardRecord result)
    {
        var record = StewardAuditLog.FromCommand(command, "Agent", NameOf(command.Sender));
        record.Verdict = "run";
        record.Status = result.Status.ToString();
        record.ExitCode = result.ExitCode;
        record.Started = result.Started;
        record.Duration = result.Finished - result.Started;
        (record.OutputBytes, record.OutputSha256) = StewardAuditLog.Digest(result.Output);
        (record.ErrorBytes, record.ErrorSha256) = StewardAuditLog.Digest(result.Error);
        log.Append(record);
    }

    public void Dispose() { }
}
