using System.Text.Json;

namespace RemoteOps.TestSupport;

/// <summary>A real cluster of nats-servers (from PATH) on loopback: JetStream and clustering, each server with its own
/// store directory, client port, route port and monitoring port, every server routed to every other. Started, it is
/// ready for replicated streams: JetStream's meta group has a leader that every running server knows.
/// Dispose stops every server and removes the stores.</summary>
public sealed class NatsCluster : IAsyncDisposable
{
    private readonly int[] _monitorPorts;

    public IReadOnlyList<NatsServer> Servers { get; }
    public IReadOnlyList<string> Names { get; }

    /// <summary>Every server's client URL, for a config's <c>servers:</c> list.</summary>
    public IReadOnlyList<string> Urls => Servers.Select(s => s.Url).ToArray();

    private NatsCluster(IReadOnlyList<NatsServer> servers, IReadOnlyList<string> names, int[] monitorPorts)
    {
        Servers = servers; Names = names; _monitorPorts = monitorPorts;
    }

    /// <summary>Starts <paramref name="size"/> servers and waits (bounded, generously: a loaded machine elects slowly)
    /// until JetStream's meta group has a leader.</summary>
    public static async Task<NatsCluster> StartAsync(int size = 3, TimeSpan? readyWithin = null)
    {
        var suffix = Guid.NewGuid().ToString("N")[..6];
        var names = Enumerable.Range(1, size).Select(i => $"s{i}-{suffix}").ToArray();
        var clientPorts = Enumerable.Range(0, size).Select(_ => NatsServer.FreePort()).ToArray();
        var routePorts = Enumerable.Range(0, size).Select(_ => NatsServer.FreePort()).ToArray();
        var monitorPorts = Enumerable.Range(0, size).Select(_ => NatsServer.FreePort()).ToArray();
        var routes = string.Join(", ", routePorts.Select(p => $"\"nats-route://127.0.0.1:{p}\""));
        var servers = new List<NatsServer>();
        try
        {
            // Started together: a server waits for its routes anyway, and one at a time is three times the wait.
            servers.AddRange(await Task.WhenAll(Enumerable.Range(0, size).Select(i => NatsServer.StartWithConfigAsync(clientPorts[i], store => $$"""
                server_name: {{names[i]}}
                listen: 127.0.0.1:{{clientPorts[i]}}
                http: 127.0.0.1:{{monitorPorts[i]}}
                jetstream { store_dir: "{{store}}/js", max_memory_store: 64MB, max_file_store: 1GB }
                cluster {
                  name: remoteops-test-{{suffix}}
                  listen: 127.0.0.1:{{routePorts[i]}}
                  routes: [{{routes}}]
                }

                """))));
            var cluster = new NatsCluster(servers, names, monitorPorts);
            await cluster.WaitForMetaLeaderAsync(readyWithin ?? TimeSpan.FromSeconds(90));
            return cluster;
        }
        catch
        {
            foreach (var s in servers) s.Dispose();
            throw;
        }
    }

    /// <summary>The name of the server <paramref name="index"/>'s /jsz says leads JetStream's meta group; null when
    /// there is none yet (or the server does not answer).</summary>
    public async Task<string?> MetaLeaderAsync(int index)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var doc = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{_monitorPorts[index]}/jsz"));
            return doc.RootElement.TryGetProperty("meta_cluster", out var meta) && meta.TryGetProperty("leader", out var leader)
                && leader.GetString() is { Length: > 0 } name ? name : null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException) { return null; }
    }

    /// <summary>Waits until every running server names the same, running meta leader.</summary>
    public async Task WaitForMetaLeaderAsync(TimeSpan within)
    {
        using var limit = new CancellationTokenSource(within);
        string?[] seen = [];
        while (true)
        {
            var running = Enumerable.Range(0, Servers.Count).Where(i => Servers[i].IsRunning).ToArray();
            seen = await Task.WhenAll(running.Select(MetaLeaderAsync));
            var runningNames = running.Select(i => Names[i]).ToHashSet();
            if (seen.Length > 0 && seen.All(l => l is not null && l == seen[0]) && runningNames.Contains(seen[0]!)) return;
            if (limit.IsCancellationRequested)
                throw new TimeoutException($"The NATS cluster has no JetStream meta leader within {within.TotalSeconds:0} s; the servers say: {string.Join(", ", seen.Select(l => l ?? "none"))}.");
            // Polled: the monitoring endpoint has nothing to wait on.
            await Task.Delay(200);
        }
    }

    /// <summary>The index of the server named <paramref name="name"/> (a client's ServerInfo.Name).</summary>
    public int IndexOf(string name) => Array.IndexOf(Names.ToArray(), name);

    public ValueTask DisposeAsync()
    {
        foreach (var s in Servers) s.Dispose();
        return ValueTask.CompletedTask;
    }
}
