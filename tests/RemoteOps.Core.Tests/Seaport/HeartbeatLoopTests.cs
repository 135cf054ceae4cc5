using RemoteOps.Config;
using RemoteOps.Core.Tests.Remaphore;
using RemoteOps.Identity;
using RemoteOps.Seaport;

namespace RemoteOps.Core.Tests.Seaport;

/// <summary>A heartbeat loop lives as long as it has registrations to keep alive: none runs forever.</summary>
public class HeartbeatLoopTests(NatsFixture nats) : IClassFixture<NatsFixture>, IDisposable
{
    private readonly SigningKey _key = SigningKey.Generate();

    public void Dispose() => _key.Dispose();

    private RemoteOpsConfig Config() => new()
    {
        Servers = [nats.Server.Url],
        Identities = [new IdentityConfig { Public = _key.PublicBase58, Private = _key.ExportSeedBase58(), Verbs = ["*"] }],
        DefaultIdentity = _key.PublicBase58,
        Sections = [new SeaportConfig { Bucket = "hb_" + Guid.NewGuid().ToString("N")[..10], Heartbeat = TimeSpan.FromMilliseconds(200) }],
    };

    private static async Task<bool> EventuallyAsync(Func<bool> condition)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!condition())
        {
            if (limit.IsCancellationRequested) return false;
            await Task.Delay(50);
        }
        return true;
    }

    [Fact]
    public async Task The_loop_stops_after_its_last_registration_is_freed_and_the_next_registration_starts_one()
    {
        var config = Config();
        Assert.False(SeaportRegistrar.HeartbeatsRunning(config));
        var first = await SeaportRegistrar.RegisterAsync(config, new SeaportRegistration { Role = "hb@1.0.0", HostName = "hosthb" }, default);
        Assert.True(SeaportRegistrar.HeartbeatsRunning(config));
        await SeaportRegistrar.FreeAsync(config, first.Id, default);
        Assert.True(await EventuallyAsync(() => !SeaportRegistrar.HeartbeatsRunning(config)), "the heartbeat loop should end with its last registration");

        var second = await SeaportRegistrar.RegisterAsync(config, new SeaportRegistration { Role = "hb@1.0.0", HostName = "hosthb" }, default);
        Assert.True(SeaportRegistrar.HeartbeatsRunning(config));
        Assert.Contains(await SeaportQueries.QueryAsync(config, null, [second.Id], null, default), s => s.Id == second.Id);
        await SeaportRegistrar.FreeAsync(config, second.Id, default);
        Assert.True(await EventuallyAsync(() => !SeaportRegistrar.HeartbeatsRunning(config)));
    }
}
