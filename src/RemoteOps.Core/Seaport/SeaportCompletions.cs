using RemoteOps.Config;

namespace RemoteOps.Seaport;

/// <summary>What the registry offers to argument completion: roles and ids of the live services. Bounded in time and
/// silent on failure: completion must never hang or throw.</summary>
public static class SeaportCompletions
{
    public static readonly TimeSpan Budget = TimeSpan.FromSeconds(2);

    /// <summary>The live services, or none when the registry does not answer within <see cref="Budget"/>.</summary>
    public static IReadOnlyList<SeaportService> Services(RemoteOpsConfig config)
    {
        try
        {
            using var budget = new CancellationTokenSource(Budget);
            var query = Task.Run(() => SeaportQueries.QueryAsync(config, null, null, null, budget.Token), budget.Token);
            // The query honours the token; the wait is bounded too, in case a step does not.
            return query.Wait(Budget + TimeSpan.FromMilliseconds(250)) ? query.Result : [];
        }
        catch (Exception) { return []; }
    }

    /// <summary>Roles (name@version) and bare names, each with where it runs.</summary>
    public static IEnumerable<CompletionValue> Roles(IReadOnlyList<SeaportService> services) =>
        services.GroupBy(s => s.Role).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new CompletionValue(g.Key, string.Join(", ", g.Select(s => $"{s.HostName}:{s.Port}"))))
            .Concat(services.GroupBy(s => s.Name).Where(g => g.Select(s => s.Role).Distinct().Count() > 1).OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new CompletionValue(g.Key, $"every version of {g.Key}: {string.Join(", ", g.Select(s => s.Version).Distinct())}")));

    /// <summary>Ids, each with its role, host and port.</summary>
    public static IEnumerable<CompletionValue> Ids(IReadOnlyList<SeaportService> services) =>
        services.OrderBy(s => s.Id, StringComparer.Ordinal).Select(s => new CompletionValue(s.Id, $"{s.Role} on {s.HostName}:{s.Port}"));
}
