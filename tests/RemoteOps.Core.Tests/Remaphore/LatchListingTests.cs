using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;
using RemoteOps.Remaphore;

namespace RemoteOps.Core.Tests.Remaphore;

/// <summary>Listing latches (Get-RemaphoreLatch) against a real nats-server: what verifies, and a bounded fuzz of the
/// latch value parser with whatever someone with write access to the bucket can put there.</summary>
public class LatchListingTests(NatsFixture nats) : IClassFixture<NatsFixture>
{
    private readonly SigningKey _a = SigningKey.Generate();
    private readonly SigningKey _b = SigningKey.Generate();

    private (RemoteOpsConfig A, RemoteOpsConfig B) Pair()
    {
        var subject = "rl" + Guid.NewGuid().ToString("N")[..8];
        var bucket = "latch_" + subject;
        RemoteOpsConfig Node(SigningKey self, string destination, SigningKey peer, string peerDestination) => new()
        {
            Servers = [nats.Server.Url],
            Destination = destination,
            Sections = [new RemaphoreConfig { Subject = subject, LatchBucket = bucket }],
            Identities = [new IdentityConfig { Public = self.PublicBase58, Private = self.ExportSeedBase58(), Verbs = ["*"] }],
            Peers = [new PeerConfig { Public = peer.PublicBase58, Destination = peerDestination, Verbs = ["*"] }],
        };
        return (Node(_a, "com.test.a", _b, "com.test.b"), Node(_b, "com.test.b", _a, "com.test.a"));
    }

    private static async Task<INatsKVStore> Bucket(RemoteOpsConfig config)
    {
        var connection = await ConnectionPool.GetAsync(config);
        return await new NatsKVContext(new NatsJSContext(connection)).GetStoreAsync(config.LatchBucket);
    }

    [Fact]
    public async Task A_genuine_latch_verifies_with_its_senders_name_and_a_moved_one_does_not()
    {
        var (a, b) = Pair();
        await RemaphoreClient.SendAsync(a, new RemaphoreSendOptions { Payload = "p", Uuid = "one", Verb = "deploy", Latch = true, LatchTtl = TimeSpan.FromMinutes(5) });
        var notes = new List<string>();
        var entry = Assert.Single(await RemaphoreLatchStore.ListAsync(b, null, null, verified: true, notes.Add, default));
        Assert.Null(entry.Problem);
        var model = entry.ToModel();
        Assert.Equal("com.test.a", model.SenderName);
        Assert.Equal("one", model.Uuid);
        Assert.Equal(a.Subject + ".all", model.Subject);

        // The same value under another subject's key: the latch signature binds the subject, so it does not verify.
        var store = await Bucket(b);
        var value = (await store.GetEntryAsync<byte[]>(entry.Key)).Value!;
        var moved = "elsewhere.all." + entry.UuidHex;
        await store.PutAsync(moved, value);
        var all = await RemaphoreLatchStore.ListAsync(b, null, null, verified: false, _ => { }, default);
        Assert.Equal("bad latch signature", Assert.Single(all, e => e.Key == moved).Problem);
        Assert.Single(await RemaphoreLatchStore.ListAsync(b, null, null, verified: true, _ => { }, default));
        Assert.True(await RemaphoreLatchStore.DeleteAsync(b, moved, default));
        Assert.False(await RemaphoreLatchStore.DeleteAsync(b, moved, default));
    }

    [Fact]
    public async Task Arbitrary_values_under_latch_keys_never_throw_and_never_verify()
    {
        var (a, b) = Pair();
        await RemaphoreClient.SendAsync(a, new RemaphoreSendOptions { Payload = "p", Uuid = "seed", Latch = true });
        var store = await Bucket(b);
        var genuineKey = RemaphoreLatchStore.KeyFor(a.Subject + ".all", Encoding.UTF8.GetBytes("seed"));
        var genuine = (await store.GetEntryAsync<byte[]>(genuineKey)).Value!;
        var random = new Random(7); // fixed seed: a failure reproduces
        for (int i = 0; i < 60; i++)
        {
            byte[] value = (i % 3) switch
            {
                0 => RandomBytes(random, random.Next(0, 200)),
                1 => Mutate(random, genuine),
                _ => [.. Encoding.ASCII.GetBytes(RandomHex(random) + "," + RandomText(random) + "\n"), .. RandomBytes(random, random.Next(0, 120))],
            };
            var key = a.Subject + ".all." + Convert.ToHexStringLower(RandomBytes(random, random.Next(1, 13)));
            await store.PutAsync(key, value);
            var entries = await RemaphoreLatchStore.ListAsync(b, null, null, verified: false, _ => { }, default);
            var listed = Assert.Single(entries, e => e.Key == key);
            if (!value.AsSpan().SequenceEqual(genuine)) Assert.NotNull(listed.Problem);
            _ = listed.ToModel(); // the model is built for any entry, verified or not
            await store.DeleteAsync(key);
        }
    }

    private static byte[] RandomBytes(Random r, int n) { var b = new byte[n]; r.NextBytes(b); return b; }
    private static string RandomHex(Random r) => r.Next(4) switch { 0 => "", 1 => "zz", 2 => "ffffffffffffffffff", _ => r.NextInt64().ToString("x") };
    private static string RandomText(Random r) => new(Enumerable.Range(0, r.Next(0, 90)).Select(_ => (char)r.Next(32, 127)).ToArray());

    private static byte[] Mutate(Random r, byte[] genuine)
    {
        var copy = (byte[])genuine.Clone();
        int n = r.Next(1, 4);
        for (int i = 0; i < n; i++) copy[r.Next(copy.Length)] ^= (byte)r.Next(1, 256);
        return copy;
    }
}
