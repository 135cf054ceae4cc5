using System.Runtime.CompilerServices;
using RemoteOps.Config;

namespace RemoteOps.Seaport;

/// <summary>Reading the registry: seaport's query(), get() and its events, over the watched index.</summary>
public static class SeaportQueries
{
    /// <summary>seaport's query(): every live, verified match (none is an empty list, not an error).</summary>
    public static async Task<List<SeaportService>> QueryAsync(RemoteOpsConfig config, string? pattern, IReadOnlyCollection<string>? ids, Action<string>? verbose, CancellationToken ct)
    {
        var parsed = SeaportPattern.Parse(pattern);
        var index = await SeaportIndex.GetAsync(config, ct).ConfigureAwait(false);
        return index.Query(parsed, verbose, ids);
    }

    /// <summary>seaport's get(): the live matches as soon as there is at least one (at once if there is).</summary>
    /// <exception cref="TimeoutException">None appeared within <paramref name="timeout"/>.</exception>
    public static async Task<List<SeaportService>> WaitAsync(RemoteOpsConfig config, string pattern, TimeSpan? timeout, Action<string>? verbose, CancellationToken ct)
    {
        var parsed = SeaportPattern.Parse(pattern);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (timeout is { } t) limit.CancelAfter(t);
        try
        {
            var index = await SeaportIndex.GetAsync(config, limit.Token).ConfigureAwait(false);
            try
            {
                var events = index.Subscribe(parsed, existing: false, limit.Token, out var current);
                if (current.Count == 0) verbose?.Invoke($"Waiting for a live service matching '{parsed}' (bucket {config.Seaport.Bucket}).");
                while (current.Count == 0)
                {
                    var e = await events.ReadAsync(limit.Token).ConfigureAwait(false);
                    if (e.Action is SeaportAction.Registered or SeaportAction.Updated)
                        current = index.Query(parsed, verbose);
                }
                return current;
            }
            finally { limit.Cancel(); } // ends the subscription
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"No live service matched '{parsed}' within {Duration.Format(timeout!.Value)}.");
        }
    }

    /// <summary>Registry events for matches, until cancelled or <paramref name="timeout"/> (which ends quietly).</summary>
    public static async IAsyncEnumerable<SeaportEvent> WatchAsync(RemoteOpsConfig config, string? pattern, bool existing, TimeSpan? timeout,
        Action<string>? verbose, [EnumeratorCancellation] CancellationToken ct)
    {
        var parsed = SeaportPattern.Parse(pattern);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (timeout is { } t) limit.CancelAfter(t);
        SeaportIndex index;
        try { index = await SeaportIndex.GetAsync(config, limit.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested) { yield break; }
        if (verbose is not null) index.Rejected += verbose;
        try
        {
            var events = index.Subscribe(parsed, existing, limit.Token, out _);
            verbose?.Invoke($"Watching '{parsed}' (bucket {config.Seaport.Bucket}).");
            while (true)
            {
                SeaportEvent e;
                try
                {
                    if (!await events.WaitToReadAsync(limit.Token).ConfigureAwait(false)) yield break;
                    if (!events.TryRead(out e!)) continue;
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested) { yield break; }
                yield return e;
            }
        }
        finally
        {
            if (verbose is not null) index.Rejected -= verbose;
        }
    }
}
