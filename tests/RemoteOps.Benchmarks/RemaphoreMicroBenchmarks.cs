using System.Diagnostics;
using System.Security.Cryptography;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;
using RemoteOps.Remaphore;

namespace RemoteOps.Benchmarks;

/// <summary>Costs of the pieces of one message (for finding what to optimise): dotnet run ... -- remaphore-micro</summary>
public static class RemaphoreMicroBenchmarks
{
    public static Task RunAsync(Report report)
    {
        using var key = SigningKey.Generate();
        var config = new RemoteOpsConfig { Destination = "com.b", Peers = [new PeerConfig { Public = key.PublicBase58, Destination = "com.a", Verbs = ["*"] }] };
        var now = RemaphoreWire.NowNanos();
        var wire = RemaphoreWire.Encode(key, "**", now, RemaphoreWire.UuidBytes(null), "ping", false, "payload");
        var sig = key.Sign(wire);
        var sigText = SimpleBase.Base58.Bitcoin.Encode(sig);
        var pre = wire.AsSpan(wire.Length - 40).ToArray();
        Time(report, "Ed25519 sign", () => key.Sign(pre));
        var pk = VerificationKey.Import(key.PublicBase58)!;
        Time(report, "Ed25519 verify", () => VerificationKey.Verify(pk, pre, key.Sign(pre)) , subtract: "Ed25519 sign");
        Time(report, "base58 encode 64 bytes", () => SimpleBase.Base58.Bitcoin.Encode(sig));
        Time(report, "base58 decode 88 chars", () => SimpleBase.Base58.Bitcoin.Decode(sigText));
        Time(report, "SHA-256 of a message", () => SHA256.HashData(wire));
        Time(report, "TryDecode", () => RemaphoreWire.TryDecode(wire, out _, out _));
        Time(report, "Encode (sign included)", () => RemaphoreWire.Encode(key, "**", now, RemaphoreWire.UuidBytes(null), "ping", false, "payload"));
        var verifier = new RemaphoreVerifier(config, null);
        var fresh = Enumerable.Range(0, 20000).Select(i => RemaphoreWire.Encode(key, "**", now, RemaphoreWire.UuidBytes(null), "ping", false, "p" + i)).ToArray();
        int k = 0;
        Time(report, "VerifyMessage (new message)", () => verifier.VerifyMessage(fresh[k++ % fresh.Length], "com.b", now), n: 5000);
        Time(report, "VerifyMessage (same message again: memo)", () => verifier.VerifyMessage(wire, "com.b", now));
        return LatencyPartsAsync(report);
    }

    /// <summary>Send→Wait with parts removed, to see where the time goes.</summary>
    private static async Task LatencyPartsAsync(Report report)
    {
        await using var server = await RemoteOps.TestSupport.NatsServer.StartAsync();
        using var ka = SigningKey.Generate();
        using var kb = SigningKey.Generate();
        var a = new RemoteOpsConfig { Servers = [server.Url], Sections = [new RemaphoreConfig { Subject = "m" }], Destination = "com.a", Identities = [new IdentityConfig { Public = ka.PublicBase58, Private = ka.ExportSeedBase58(), Verbs = ["*"] }], Peers = [new PeerConfig { Public = kb.PublicBase58, Destination = "com.b", Verbs = ["*"] }] };
        var b = new RemoteOpsConfig { Servers = [server.Url], Sections = [new RemaphoreConfig { Subject = "m" }], Destination = "com.b", Identities = [new IdentityConfig { Public = kb.PublicBase58, Private = kb.ExportSeedBase58(), Verbs = ["*"] }], Peers = [new PeerConfig { Public = ka.PublicBase58, Destination = "com.a", Verbs = ["*"] }] };
        var conn = await RemoteOps.Messaging.ConnectionPool.GetAsync(a);
        const int n = 3000;
        // raw on the shared connection
        {
            var s = new Samples();
            await using var sub = await conn.SubscribeCoreAsync<byte[]>("m.raw");
            await conn.PingAsync();
            var pre = RemaphoreWire.Encode(ka, "**", RemaphoreWire.NowNanos(), RemaphoreWire.UuidBytes(null), "ping", false, "x");
            for (int i = 0; i < n; i++) { long t0 = Stopwatch.GetTimestamp(); await conn.PublishAsync("m.raw", pre); await sub.Msgs.ReadAsync(); s.AddTicks(Stopwatch.GetTimestamp() - t0); }
            report.Add("raw pub→sub (shared connection)", Samples.Micros(s.Percentile(50)));
            var v = new Samples();
            var peers = TrustStore.For(b);
            for (int i = 0; i < n; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                var w = RemaphoreWire.Encode(ka, "**", RemaphoreWire.NowNanos(), RemaphoreWire.UuidBytes(null), "ping", false, "x");
                await conn.PublishAsync("m.raw", w);
                var m = await sub.Msgs.ReadAsync();
                RemaphoreWire.TryDecode(m.Data!, out var wm, out _);
                VerificationKey.Verify(peers.Find(wm.SenderBase58)!.Key, wm.SignedBytes, wm.Signature);
                v.AddTicks(Stopwatch.GetTimestamp() - t0);
            }
            report.Add("raw + encode/sign + decode/verify inline (floor)", Samples.Micros(v.Percentile(50)));
        }
        foreach (var ping in new[] { false, true })
        {
            var s = new Samples();
            await using var waiter = await RemaphoreWaiter.StartAsync(b, new RemaphoreWaitOptions());
            await using var reader = waiter.ReadAllAsync().GetAsyncEnumerator();
            await reader.MoveNextAsync();
            var options = new RemaphoreSendOptions { Payload = "x" };
            for (int i = 0; i < n; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                Task send;
                if (ping) send = RemaphoreClient.SendAsync(a, options);
                else { var p = RemaphoreClient.Prepare(a, options, false); send = conn.PublishAsync(p.Subject, p.Wire).AsTask(); }
                await reader.MoveNextAsync();
                s.AddTicks(Stopwatch.GetTimestamp() - t0);
                await send;
            }
            report.Add($"Send→Wait engine, {(ping ? "SendAsync" : "Prepare + PublishAsync")}", Samples.Micros(s.Percentile(50)));
        }
        var sendOptions = new RemaphoreSendOptions { Payload = "x" };
        for (int i = 0; i < 300; i++) await RemaphoreClient.SendAsync(a, sendOptions);
        var sends = Stopwatch.StartNew();
        int sync = 0;
        for (int i = 0; i < 2000; i++) { var t = RemaphoreClient.SendAsync(a, sendOptions); if (t.IsCompleted) sync++; await t; }
        report.Add("SendAsync in a loop (engine only)", $"{sends.Elapsed.TotalMicroseconds / 2000:0.0} µs, {sync * 100 / 2000}% completed synchronously");
        var prep = Stopwatch.StartNew();
        for (int i = 0; i < 5000; i++) RemaphoreClient.Prepare(a, new RemaphoreSendOptions { Payload = "x" }, false);
        report.Add("Prepare (validate, identity, sign, encode)", $"{prep.Elapsed.TotalMicroseconds / 5000:0.0} µs");
    }

    private static readonly Dictionary<string, double> Last = new();

    private static void Time(Report report, string name, Action action, int n = 20000, string? subtract = null)
    {
        for (int i = 0; i < 200; i++) action();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < n; i++) action();
        var us = sw.Elapsed.TotalMicroseconds / n;
        if (subtract is not null) us -= Last[subtract];
        Last[name] = us;
        report.Add(name, $"{us:0.00} µs");
    }
}
