using System.Text;
using NATS.Client.KeyValueStore;
using RemoteOps.Config;
using RemoteOps.Core.Tests.Remaphore;
using RemoteOps.Identity;
using RemoteOps.Seaport;

namespace RemoteOps.Core.Tests.Seaport;

/// <summary>The registry's concurrency rules against a real nats-server: claims, reaping, takeovers.</summary>
public class SeaportRegistryTests(NatsFixture nats) : IClassFixture<NatsFixture>
{
    private readonly SigningKey _key = SigningKey.Generate();

    private RemoteOpsConfig Config(string heartbeat = "5s") => new()
    {
        Servers = [nats.Server.Url],
        Identities = [new IdentityConfig { Public = _key.PublicBase58, Private = _key.ExportSeedBase58(), Verbs = ["*"] }],
        DefaultIdentity = _key.PublicBase58,
        Sections = [new SeaportConfig { Bucket = "sr_" + Guid.NewGuid().ToString("N")[..10], Heartbeat = Duration.Parse(heartbeat) }],
    };

    [Fact]
    public async Task Concurrent_claims_of_one_port_have_exactly_one_winner()
    {
        var config = Config();
        var index = await SeaportIndex.GetAsync(config, default);
        var wins = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            SeaportClaims.TryClaimAsync(index.Store, index, "hostx", 25555, $"id{i}", TimeSpan.FromMinutes(1), default)));
        Assert.Single(wins, w => w);
    }

    [Fact]
    public async Task A_claim_whose_owner_is_dead_and_old_is_taken_over_but_a_new_one_is_not()
    {
        var config = Config();
        var index = await SeaportIndex.GetAsync(config, default);
        var store = index.Store;
        // An old claim by an id with no live entry: taken over.
        await store.PutAsync(SeaportStore.ClaimKey("hosty", 26000), Encoding.UTF8.GetBytes("ghost,1000"));
        Assert.True(await SeaportClaims.TryClaimAsync(store, index, "hosty", 26000, "me", TimeSpan.FromSeconds(45), default));
        // A fresh claim (registration in flight, entry not written yet): respected.
        Assert.True(await SeaportClaims.TryClaimAsync(store, index, "hosty", 26001, "first", TimeSpan.FromSeconds(45), default));
        Assert.False(await SeaportClaims.TryClaimAsync(store, index, "hosty", 26001, "second", TimeSpan.FromSeconds(45), default));
        // Claiming again what one holds is fine.
        Assert.True(await SeaportClaims.TryClaimAsync(store, index, "hosty", 26001, "first", TimeSpan.FromSeconds(45), default));
    }

    [Fact]
    public async Task The_reaper_never_deletes_a_heartbeat_that_landed_after_it_looked()
    {
        var config = Config();
        var service = await SeaportRegistrar.RegisterAsync(config, new SeaportRegistration { Role = "reap@1.0.0", HostName = "hostz", Heartbeat = false }, default);
        var index = await SeaportIndex.GetAsync(config, default);
        var store = index.Store;
        var key = "s." + service.Id;
        var seen = await store.GetEntryAsync<byte[]>(key);
        var entry = SeaportEntryCodec.Parse(seen.Value, out _)!;
        // A heartbeat lands (a new revision) after the reaper decided, on the revision it saw, that the entry was stale.
        var beat = entry with { Time = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() };
        await store.UpdateAsync(key, SeaportEntryCodec.Encode(beat, _key), seen.Revision);
        await index.ReapAsync(key, seen.Revision, entry);
        var after = await store.TryGetEntryAsync<byte[]>(key);
        Assert.True(after.Success, "the fresh heartbeat was reaped");
        // With the current revision, the purge goes through (and the claims go with it).
        await index.ReapAsync(key, after.Value.Revision, entry);
        Assert.False((await store.TryGetEntryAsync<byte[]>(key)).Success);
        Assert.False((await store.TryGetEntryAsync<byte[]>(SeaportStore.ClaimKey("hostz", service.Port))).Success);
    }

    [Fact]
    public async Task An_owner_re_creates_its_entry_after_it_was_reaped_while_it_was_cut_off()
    {
        var config = Config(heartbeat: "100ms");
        var service = await SeaportRegistrar.RegisterAsync(config, new SeaportRegistration { Role = "phoenix@1.0.0", HostName = "hostw" }, default);
        var index = await SeaportIndex.GetAsync(config, default);
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var events = SeaportQueries.WatchAsync(config, "phoenix", existing: false, timeout: null, verbose: null, limit.Token).GetAsyncEnumerator();
        var next = events.MoveNextAsync().AsTask(); // subscribes
        await index.Store.PurgeAsync("s." + service.Id);
        // The purge reads as the service gone (a bare purge of a live entry, no authorized list: Freed); the owner's next
        // heartbeat finds the key gone, with no tombstone, and writes it again: Registered.
        var seen = new List<SeaportAction>();
        while (!seen.Contains(SeaportAction.Registered))
        {
            Assert.True(await next);
            Assert.Equal(service.Id, events.Current.Service.Id);
            seen.Add(events.Current.Action);
            next = events.MoveNextAsync().AsTask();
        }
        Assert.Equal([SeaportAction.Freed, SeaportAction.Registered], seen);
        limit.Cancel();
        try { await next; } catch (OperationCanceledException) { }
        Assert.True(SeaportRegistrar.Owns(service.Id));
        await SeaportRegistrar.FreeAsync(config, service.Id, default);
        Assert.False(SeaportRegistrar.Owns(service.Id));
    }

    [Fact]
    public async Task Set_from_elsewhere_is_kept_by_the_owners_next_heartbeat()
    {
        var config = Config(heartbeat: "100ms");
        var service = await SeaportRegistrar.RegisterAsync(config, new SeaportRegistration { Role = "meta@1.0.0", HostName = "hostv" }, default);
        using var other = SigningKey.Generate();
        var index = await SeaportIndex.GetAsync(config, default);
        // Another identity updates the metadata directly (as Set-SeaportService from another machine would).
        var current = await index.Store.GetEntryAsync<byte[]>("s." + service.Id);
        var theirs = SeaportEntryCodec.Parse(current.Value, out _)! with { Meta = new Dictionary<string, string> { ["owner"] = "other" }, Time = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() };
        await index.Store.UpdateAsync("s." + service.Id, SeaportEntryCodec.Encode(theirs, other), current.Revision);
        // Several heartbeats later the metadata is still theirs, now signed again by the owner.
        NatsKVEntry<byte[]> latest = default;
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var beats = 0;
        await foreach (var e in index.Store.WatchAsync<byte[]>("s." + service.Id, opts: new NatsKVWatchOpts { UpdatesOnly = true }, cancellationToken: limit.Token))
        {
            latest = e;
            if (++beats == 3) break;
        }
        var now = SeaportEntryCodec.Decode("s." + service.Id, latest.Value, new RemoteOps.Identity.TrustStore([]), out _)!;
        Assert.Equal("other", now.Meta["owner"]);
        Assert.Equal(_key.PublicBase58, now.Signer);
        await SeaportRegistrar.FreeAsync(config, service.Id, default);
    }

    [Fact]
    public async Task A_well_formed_forgery_over_a_live_entry_never_replaces_it_in_queries()
    {
        var config = Config();
        var service = await SeaportRegistrar.RegisterAsync(config, new SeaportRegistration { Role = "victim@1.0.0", HostName = "hostf", Heartbeat = false }, default);
        var index = await SeaportIndex.GetAsync(config, default);
        var key = "s." + service.Id;
        var current = await index.Store.GetEntryAsync<byte[]>(key);
        // The same entry moved to port 1 and claiming the same signer, signed by someone else: parses, fails verification.
        using var forger = SigningKey.Generate();
        var genuine = SeaportEntryCodec.Parse(current.Value, out _)!;
        var forged = SeaportEntryCodec.Encode(genuine with { Port = 1 }, forger);
        var text = System.Text.Encoding.UTF8.GetString(forged).Replace(forger.PublicBase58, _key.PublicBase58);
        var revision = await index.Store.UpdateAsync(key, System.Text.Encoding.UTF8.GetBytes(text), current.Revision);
        await index.WaitForRevisionAsync(revision, default);
        var rejected = new List<string>();
        var found = index.Query(SeaportPattern.Parse("victim"), rejected.Add);
        Assert.Equal(service.Port, Assert.Single(found).Port);
        Assert.Contains(rejected, r => r.Contains("bad signature"));
    }
}
