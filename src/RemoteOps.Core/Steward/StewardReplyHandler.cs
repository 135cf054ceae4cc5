namespace RemoteOps.Steward;

/// <summary>Where a waiting session's replies go, by the reply method: streamed lines to the console (ToConsole), appended
/// as they come (a streamed ToFileAppend), or kept, up to max_output, for the reply method that runs on the final reply
/// (ToFile, CliCommand). One per wait; the cmdlet only writes what it is told to.</summary>
public sealed class StewardReplyHandler(StewardConfig section, bool runReplyMethods)
{
    private readonly Dictionary<string, List<string>> _lines = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _kept = new(StringComparer.Ordinal);

    /// <summary>The reply method this session runs for <paramref name="record"/>; null when none (or not this session's).</summary>
    public StewardMethod? MethodFor(StewardRecord record) => runReplyMethods ? record.ReplyMethod : null;

    /// <summary>Handles one streamed line; true when the caller writes it to the pipeline.</summary>
    public async Task<bool> OnLineAsync(StewardRecord record, StewardOutput line, CancellationToken ct)
    {
        switch (MethodFor(record))
        {
            case null or StewardMethod.ToConsole:
                return true;
            case StewardMethod.ToFileAppend:
                await StewardReplyMethods.AppendLinesAsync(StewardReplyMethods.FilePath(record, section.EffectiveDataDirectory), [line.Line], ct).ConfigureAwait(false);
                return false;
            default:
                // ToFile and CliCommand get the whole output at the end, kept up to max_output.
                var kept = _kept.GetValueOrDefault(record.MessageId);
                if (kept + line.Line.Length + 1 <= section.MaxOutput)
                {
                    if (!_lines.TryGetValue(record.MessageId, out var list)) _lines[record.MessageId] = list = [];
                    list.Add(line.Line);
                    _kept[record.MessageId] = kept + line.Line.Length + 1;
                }
                return false;
        }
    }

    /// <summary>Runs the reply method for a final record (when it has one here and the record has a result): the
    /// outcome, or null when nothing ran. Throws what writing or running throws (IOException, StewardArgumentException…).</summary>
    public async Task<StewardReplyOutcome?> OnReplyAsync(StewardRecord record, CancellationToken ct)
    {
        var method = MethodFor(record);
        if (method is null or StewardMethod.ToConsole || !StewardReplyMethods.HasResult(record)) return null;
        var streaming = StewardClient.IsStreaming(record.Method);
        var data = streaming ? string.Concat((_lines.GetValueOrDefault(record.MessageId) ?? []).Select(l => l + "\n")) : record.Output;
        _lines.Remove(record.MessageId);
        _kept.Remove(record.MessageId);
        return await StewardReplyMethods.RunAsync(record, data, section.EffectiveDataDirectory, section.MethodTimeout,
            appended: method == StewardMethod.ToFileAppend && streaming, ct).ConfigureAwait(false);
    }
}
