using System.Text;
using RemoteOps.Config;
using RemoteOps.Core.Tests.Remaphore;
using RemoteOps.Identity;
using RemoteOps.Seaport;

namespace RemoteOps.Core.Tests.Seaport;

/// <summary>Values written straight into the bucket by anyone with write access, against a real nats-server: they never
/// throw, hide, delay or replace a trusted entry.</summary>
public class SeaportTamperingTests(NatsFixture nats) : IClassFixture<NatsFixture>
{
    private readonly SigningKey _key = SigningKey.Generate();

    private RemoteOpsConfig Config(string heartbeat = "5s") => new()
    {
        Servers = [nats.Server.Url],
        Identities = [new IdentityConfig { Public = _key.PublicBase58, Private = _key.ExportSeedBase58(), Verbs = ["*"] }],
        DefaultIdentity = _key.PublicBase58,
        Sections = [new SeaportConfig { Bucket = "st_" + Guid.NewGuid().ToString("N")[..10], Heartbeat = Duration.Parse(heartbeat) }],
    };

    private static string Entry(string id, string numbers, string signer = "zzzz") =>
        "3yZe7d\n{\"id\":\"" + id + "\",\"name\":\"web\",\"version\":\"1.0.0\",\"host\":\"h\",\"ports\":{\"port\":1},\"meta\":{},"
        + numbers + ",\"signer\":\"" + signer + "\",\"live\":true}";

    /// <summary>The hostile values of the issue: numbers at Int64's ends in every numeric field, a non-ASCII signer.</summary>
    private static IEnumerable<(string Id, string Value)> Hostile()
    {
        const string max = "9223372036854775807", min = "-9223372036854775808";
        yield return ("timeoutmax", Entry("timeoutmax", $"\"port\":1,\"registered\":0,\"time\":0,\"timeout\":{max}"));
        yield return ("timeoutmin", Entry("timeoutmin", $"\"port\":1,\"registered\":0,\"time\":0,\"timeout\":{min}"));
        yield return ("timemax", Entry("timemax", $"\"port\":1,\"registered\":0,\"time\":{max},\"timeout\":60000"));
        yield return ("timemin", Entry("timemin", $"\"port\":1,\"registered\":0,\"time\":{min},\"timeout\":60000"));
        yield return ("registeredmax", Entry("registeredmax", $"\"port\":1,\"registered\":{max},\"time\":0,\"timeout\":60000"));
        yield return ("portmax", Entry("portmax", $"\"port\":{max},\"registered\":0,\"time\":0,\"timeout\":60000"));
        yield return ("signer", Entry("signer", "\"port\":1,\"registered\":0,\"time\":0,\"timeout\":60000", signer: "ééééé"));
    }

    /// <summary>A well-formed forgery of <paramref name="genuine"/> (moved to port 1, claiming the genuine signer).</summary>
    private byte[] Forge(byte[] genuine)
    {
        using var forger = SigningKey.Generate();
        var parsed = SeaportEntryCodec.Parse(genuine, out _)!;
        var forged = Encoding.UTF8.GetString(SeaportEntryCodec.Encode(parsed with { Port = 1 }, forger));
        return Encoding.UTF8.GetBytes(forged.Replace(forger.PublicBase58, _key.PublicBase58));
    }

    [Fact]
    public async Task Extreme_numbers_and_a_non_ascii_signer_never_break_queries_or_expiry_of_other_services()
    {
        var config = Config(heartbeat: "100ms");
        var index = await SeaportIndex.GetAsync(config, default);
        var good = await SeaportRegistrar.RegisterAsync(config, new SeaportRegistration { Role = "web@1.0.0", HostName = "hostg" }, default);
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var events = SeaportQueries.WatchAsync(config, "web", existing: false, timeout: null, verbose: null, limit.Token).GetAsyncEnumerator();
        var next = events.MoveNextAsync().AsTask(); // subscribes
        ulong last = 0;
        foreach (var (id, value) in Hostile()) last = await index.Store.PutAsync("s." + id, Encoding.UTF8.GetBytes(value));
        await index.WaitForRevisionAsync(last, default);
        // A service whose owner goes silent (no heartbeats), among the hostile values: it must still be reported Expired.
        var silent = await SeaportRegistrar.RegisterAsync(config, new SeaportRegistration { Role = "web@1.0.0", HostName = "hosts", Heartbeat = false }, default);

        var rejected = new List<string>();
        var found = index.Query(SeaportPattern.Parse("web"), rejected.Add);
        Assert.Contains(found, s => s.Id == good.Id);
        Assert.All(Hostile(), h => Assert.DoesNotContain(found, s => s.Id == h.Id));
        Assert.All(Hostile(), h => Assert.Contains(rejected, r => r.Contains("s." + h.Id)));
        Assert.Null(index.Find("timeoutmax"));
        Assert.False(index.IdHeld("signer"));

        while (true)
        {
            Assert.True(await next);
            if (events.Current is { Action: SeaportAction.Expired } e && e.Service.Id == silent.Id) break;
            next = events.MoveNextAsync().AsTask();
        }
        Assert.Contains(index.Query(SeaportPattern.Parse("web")), s => s.Id == good.Id);
        limit.Cancel();
        await SeaportRegistrar.FreeAsync(config, good.Id, default);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task Tampered_copies_written_in_a_row_never_hide_the_genuine_entry(bool watching, bool corruptFirst)
    {
        var config = Config();
        var service = await SeaportRegistrar.RegisterAsync(config, new SeaportRegistration { Role = "victim@1.0.0", HostName = "hostf", Heartbeat = false }, default);
        var index = await SeaportIndex.GetAsync(config, default);
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        // A watcher makes the index check each value as it arrives; without one, checks wait for a query.
        var watch = watching ? SeaportQueries.WatchAsync(config, "victim", existing: false, timeout: null, verbose: null, limit.Token).GetAsyncEnumerator() : null;
        var pending = watch?.MoveNextAsync().AsTask();
        var key = "s." + service.Id;
        var genuine = (await index.Store.GetEntryAsync<byte[]>(key)).Value!;
        byte[][] tampered = corruptFirst
            ? ["forged\n{}"u8.ToArray(), Forge(genuine), Forge(genuine), "junk"u8.ToArray()]
            : [Forge(genuine), Forge(genuine), "forged\n{}"u8.ToArray(), Forge(genuine)];
        ulong revision = 0;
        foreach (var value in tampered) revision = await index.Store.PutAsync(key, value);
        await index.WaitForRevisionAsync(revision, default);

        var found = Assert.Single(index.Query(SeaportPattern.Parse("victim")));
        Assert.Equal(service.Port, found.Port);
        Assert.Equal(service.Port, index.Find(service.Id)!.Port);
        Assert.True(index.IdHeld(service.Id));
        // The owner's next write (Free, here) goes over the forgeries: the key is theirs again.
        await SeaportRegistrar.FreeAsync(config, service.Id, default);
        Assert.Empty(index.Query(SeaportPattern.Parse("victim")));
        limit.Cancel();
        if (watch is not null)
        {
            try { await pending!; } catch (OperationCanceledException) { }
            await watch.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_last_verified_value_stays_only_until_it_expires_itself()
    {
        var config = Config(heartbeat: "1s");
        var index = await SeaportIndex.GetAsync(config, default);
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var events = SeaportQueries.WatchAsync(config, "fading", existing: false, timeout: null, verbose: null, limit.Token).GetAsyncEnumerator();
        var next = events.MoveNextAsync().AsTask(); // subscribes
        var service = await SeaportRegistrar.RegisterAsync(config, new SeaportRegistration { Role = "fading@1.0.0", HostName = "hoste", Heartbeat = false }, default);
        var key = "s." + service.Id;
        var genuine = (await index.Store.GetEntryAsync<byte[]>(key)).Value!;
        var revision = await index.Store.PutAsync(key, Forge(genuine));
        revision = await index.Store.PutAsync(key, Forge(genuine));
        await index.WaitForRevisionAsync(revision, default);
        // With no heartbeat, the genuine value expires after its timeout (3 s): the forgeries never stand in for it.
        var seen = new List<SeaportAction>();
        while (!seen.Contains(SeaportAction.Expired))
        {
            Assert.True(await next);
            Assert.Equal(service.Port, events.Current.Service.Port);
            seen.Add(events.Current.Action);
            next = events.MoveNextAsync().AsTask();
        }
        Assert.Equal([SeaportAction.Registered, SeaportAction.Expired], seen);
        Assert.Empty(index.Query(SeaportPattern.Parse("fading")));
        limit.Cancel();
        try { await next; } catch (OperationCanceledException) { }
    }
}
