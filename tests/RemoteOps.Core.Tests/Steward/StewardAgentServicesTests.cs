using RemoteOps.Config;
using RemoteOps.Steward;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>The registry of services a tool runs with the node agent (herder's proxy): each starter is asked, what it
/// returns runs until the agent stops (stopped in reverse order), and one that fails is a warning, not a failed start.</summary>
public class StewardAgentServicesTests
{
    private sealed class Recorder(List<string> stopped, string name) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() { lock (stopped) stopped.Add(name); return ValueTask.CompletedTask; }
    }

    [Fact]
    public async Task Services_start_for_their_node_fail_alone_and_stop_in_reverse_order()
    {
        // The registry is process-wide: these starters act only for this test's node, so other agents never see them.
        var node = $"test.services.{Guid.NewGuid():N}";
        var stopped = new List<string>();
        var prefix = $"t{Guid.NewGuid():N}";
        StewardAgentServices.Register(prefix + ".a", (c, _) => Task.FromResult<IAsyncDisposable?>(c.Node == node ? new Recorder(stopped, "a") : null));
        StewardAgentServices.Register(prefix + ".b", (c, _) => c.Node == node ? throw new InvalidOperationException("port taken") : Task.FromResult<IAsyncDisposable?>(null));
        StewardAgentServices.Register(prefix + ".c", (c, _) => Task.FromResult<IAsyncDisposable?>(c.Node == node ? new Recorder(stopped, "c") : null));
        StewardAgentServices.Register(prefix + ".d", (_, _) => Task.FromResult<IAsyncDisposable?>(null));

        var log = new List<(StewardLogLevel Level, string Text)>();
        var data = Directory.CreateTempSubdirectory("agent-services").FullName;
        var context = new StewardAgentServiceContext(new RemoteOpsConfig(), node, data, (l, t) => { lock (log) log.Add((l, t)); });
        var running = await StewardAgentServices.StartAllAsync(context, default);
        // The tools' own services (herder's daemon host) run for every agent too; these are the test's.
        Assert.Equal(2, running.OfType<Recorder>().Count());
        var warning = Assert.Single(log, e => e.Text.Contains(prefix + ".b"));
        Assert.Equal(StewardLogLevel.Warning, warning.Level);
        Assert.Contains("port taken", warning.Text);

        await StewardAgentServices.StopAllAsync(running, context.Log);
        Assert.Equal(["c", "a"], stopped);
        Directory.Delete(data, recursive: true);
    }
}
