using System.Diagnostics;
using System.Globalization;
using System.Text;
using NATS.Client.Core;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;
using RemoteOps.Remaphore;
using RemoteOps.TestSupport;

namespace RemoteOps.Benchmarks;

/// <summary>Remaphore against raw NATS.Client.Core on the same nats-server:
/// Send→Wait latency, fan-out to 100 waiters, Invoke with 20 responders, verified replies per second (fan-in),
/// 1,000 Send-Remaphore calls through PowerShell, and a cold Import-Module (the last two in child processes, since this
/// process references RemoteOps.Core directly and would not load the module as users do).</summary>
public static class RemaphoreBenchmarks
{
    public static async Task RunAsync(Report report)
    {
        await using var server = await NatsServer.StartAsync();
        using var dir = new TempDir();
        var ka = SigningKey.Generate();
        var kb = SigningKey.Generate();
        var subject = "bench" + Guid.NewGuid().ToString("N")[..8];
        var a = Node(server, subject, ka, "com.bench.a", [(kb, "com.bench.b")]);
        var b = Node(server, subject, kb, "com.bench.b", [(ka, "com.bench.a")]);

        await using var raw = new NatsConnection(new NatsOpts { Url = server.Url });
        await raw.ConnectAsync();

        await SendWaitLatency(report, raw, a, b);
        await FanOut(report, raw, a, b, waiters: 100);
        await InvokeResponders(report, server, subject, ka, responders: 20);
        await FanIn(report, server, raw, subject, ka, replies: 20_000);
        VerifyCpu(report, ka, b);
        await PowerShellSendLoop(report, server, raw, dir, subject, ka, kb);
        ImportModule(report);
    }

    private static RemoteOpsConfig Node(NatsServer server, string subject, SigningKey self, string destination, IEnumerable<(SigningKey Key, string Destination)> peers)
    {
        return new RemoteOpsConfig
        {
            Servers = [server.Url],
            Sections = [new RemaphoreConfig { Subject = subject }],
            Destination = destination,
            AllowSkew = TimeSpan.FromSeconds(30),
            Identities = [new IdentityConfig { Public = self.PublicBase58, Private = self.ExportSeedBase58(), Verbs = ["*"] }],
            DefaultIdentity = self.PublicBase58,
            Peers = [.. peers.Select(p => new PeerConfig { Public = p.Key.PublicBase58, Destination = p.Destination, Verbs = ["*"] })],
        };
    }

    private static string Us(double v) => Samples.Micros(v);

    // ---- 1. Send → Wait latency -------------------------------------------------------------------------------

    private static async Task SendWaitLatency(Report report, NatsConnection raw, RemoteOpsConfig a, RemoteOpsConfig b, int n = 3000)
    {
        // Interleaved, so that all three see the same machine load (other processes share these cores):
        //  raw:   publish → subscriber receives (NATS.Client.Core, 180-byte payload);
        //  floor: the same plus what any signed protocol must do: sign before publishing, decode and verify on receipt;
        //  ours:  Send (validate, pick identity, sign, publish, flush) → Wait (shared subscription, verify, peer, verb,
        //         destination, time, replay, filters) yields the message object.
        var rawSamples = new Samples();
        var floorSamples = new Samples();
        var samples = new Samples();
        var rawSubject = a.Subject + ".raw";
        await using var sub = await raw.SubscribeCoreAsync<byte[]>(rawSubject);
        await raw.PingAsync();
        var payload = new byte[180];
        using var floorKey = SigningKey.Generate();
        var floorPeers = new TrustStore([new PeerConfig { Public = floorKey.PublicBase58, Destination = "x", Verbs = ["*"] }]);
        await using var waiter = await RemaphoreWaiter.StartAsync(b, new RemaphoreWaitOptions());
        await using var reader = waiter.ReadAllAsync().GetAsyncEnumerator();
        var options = new RemaphoreSendOptions { Payload = "go", Verb = "ping", Destination = "com.bench.*" };
        for (int i = 0; i < n + 300; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            await raw.PublishAsync(rawSubject, payload);
            await sub.Msgs.ReadAsync();
            long rawTicks = Stopwatch.GetTimestamp() - t0;

            t0 = Stopwatch.GetTimestamp();
            var wire = RemaphoreWire.Encode(floorKey, "**", RemaphoreWire.NowNanos(), RemaphoreWire.UuidBytes(null), "ping", false, "go");
            await raw.PublishAsync(rawSubject, wire);
            var got = await sub.Msgs.ReadAsync();
            RemaphoreWire.TryDecode(got.Data!, out var m, out _);
            if (!VerificationKey.Verify(floorPeers.Find(m.SenderBase58)!.Key, m.SignedBytes, m.Signature)) throw new InvalidOperationException("floor verify");
            long floorTicks = Stopwatch.GetTimestamp() - t0;

            t0 = Stopwatch.GetTimestamp();
            var send = RemaphoreClient.SendAsync(a, options);
            long t1;
            while (true)
            {
                if (!await reader.MoveNextAsync()) throw new InvalidOperationException("wait ended");
                if (reader.Current is RemaphoreReceived) { t1 = Stopwatch.GetTimestamp(); break; }
            }
            await send;
            if (i >= 300)
            {
                rawSamples.AddTicks(rawTicks);
                floorSamples.AddTicks(floorTicks);
                samples.AddTicks(t1 - t0);
            }
        }
        report.Add("Send→Wait latency p50", Us(samples.Percentile(50)), Us(rawSamples.Percentile(50)), samples.Percentile(50) / rawSamples.Percentile(50), "≤ 2× raw");
        report.Add("Send→Wait latency p99", Us(samples.Percentile(99)), Us(rawSamples.Percentile(99)), samples.Percentile(99) / rawSamples.Percentile(99));
        report.Add("  crypto floor (raw + sign + verify, no protocol) p50", Us(floorSamples.Percentile(50)), Us(rawSamples.Percentile(50)), floorSamples.Percentile(50) / rawSamples.Percentile(50));
        report.Add("  Send→Wait over the crypto floor, p50", Us(samples.Percentile(50)), Us(floorSamples.Percentile(50)) + " (floor)", samples.Percentile(50) / floorSamples.Percentile(50));
    }

    // ---- 2. Fan-out to 100 waiters ----------------------------------------------------------------------------

    private static async Task FanOut(Report report, NatsConnection raw, RemoteOpsConfig a, RemoteOpsConfig b, int waiters, int n = 400)
    {
        var rawSamples = new Samples();
        var rawSubject = a.Subject + ".rawfan";
        {
            var subs = new List<INatsSub<byte[]>>();
            for (int i = 0; i < waiters; i++) subs.Add(await raw.SubscribeCoreAsync<byte[]>(rawSubject));
            await raw.PingAsync();
            var payload = new byte[180];
            for (int i = 0; i < n + 50; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                await raw.PublishAsync(rawSubject, payload);
                var all = subs.Select(async s => { await s.Msgs.ReadAsync(); return Stopwatch.GetTimestamp(); }).ToArray();
                var last = (await Task.WhenAll(all)).Max();
                if (i >= 50) rawSamples.AddTicks(last - t0);
            }
            foreach (var s in subs) await s.DisposeAsync();
        }

        var samples = new Samples();
        var list = new List<RemaphoreWaiter>();
        var readers = new List<IAsyncEnumerator<RemaphoreEvent>>();
        for (int i = 0; i < waiters; i++)
        {
            var w = await RemaphoreWaiter.StartAsync(b, new RemaphoreWaitOptions());
            list.Add(w);
            readers.Add(w.ReadAllAsync().GetAsyncEnumerator());
        }
        try
        {
            var options = new RemaphoreSendOptions { Payload = "fan", Verb = "ping" };
            for (int i = 0; i < n + 50; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                var send = RemaphoreClient.SendAsync(a, options);
                var all = readers.Select(async r =>
                {
                    while (await r.MoveNextAsync() && r.Current is not RemaphoreReceived) { }
                    return Stopwatch.GetTimestamp();
                }).ToArray();
                var last = (await Task.WhenAll(all)).Max();
                await send;
                if (i >= 50) samples.AddTicks(last - t0);
            }
        }
        finally
        {
            foreach (var w in list) await w.DisposeAsync();
            foreach (var r in readers) await r.DisposeAsync();
        }
        report.Add($"Fan-out to {waiters} waiters, all received, p50", Us(samples.Percentile(50)), Us(rawSamples.Percentile(50)), samples.Percentile(50) / rawSamples.Percentile(50));
        report.Add($"Fan-out to {waiters} waiters, all received, p99", Us(samples.Percentile(99)), Us(rawSamples.Percentile(99)), samples.Percentile(99) / rawSamples.Percentile(99), "≤ 3× raw");
    }

    // ---- 3. Invoke with 20 responders -------------------------------------------------------------------------

    private static async Task InvokeResponders(Report report, NatsServer server, string subject, SigningKey requesterKey, int responders, int n = 300)
    {
        var keys = Enumerable.Range(0, responders).Select(_ => SigningKey.Generate()).ToList();
        var requester = Node(server, subject, requesterKey, "com.bench.q", keys.Select((k, i) => (k, $"com.bench.r{i}")));
        var cts = new CancellationTokenSource();
        var loops = new List<Task>();
        var waiters = new List<RemaphoreWaiter>();
        for (int i = 0; i < responders; i++)
        {
            var cfg = Node(server, subject, keys[i], $"com.bench.r{i}", [(requesterKey, "com.bench.q")]);
            var w = await RemaphoreWaiter.StartAsync(cfg, new RemaphoreWaitOptions { Verbs = ["status"] });
            waiters.Add(w);
            loops.Add(Task.Run(async () =>
            {
                try
                {
                    await foreach (var e in w.ReadAllAsync(cts.Token))
                        if (e is RemaphoreReceived r) await w.ReplyAsync(r.Message, 0, "ok", cts.Token);
                }
                catch (OperationCanceledException) { }
            }));
        }
        var samples = new Samples();
        var options = new RemaphoreSendOptions { Payload = "?", Verb = "status", Destination = "com.bench.r*" };
        for (int i = 0; i < n + 30; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            await using var request = await RemaphoreRequest.StartAsync(requester, options, TimeSpan.FromSeconds(10), null);
            int got = 0;
            await foreach (var e in request.Events.ReadAllAsync()) if (e is RemaphoreReplied) got++;
            long t1 = Stopwatch.GetTimestamp();
            if (got != responders) throw new InvalidOperationException($"Invoke got {got} of {responders} replies.");
            if (i >= 30) samples.AddTicks(t1 - t0);
        }
        cts.Cancel();
        await Task.WhenAll(loops);
        foreach (var w in waiters) await w.DisposeAsync();
        report.Add($"Invoke-Remaphore, {responders} responders, all replies, p50", Us(samples.Percentile(50)));
        report.Add($"Invoke-Remaphore, {responders} responders, all replies, p99", Us(samples.Percentile(99)));
    }

    // ---- 4. Fan-in: verified replies per second ---------------------------------------------------------------

    private static async Task FanIn(Report report, NatsServer server, NatsConnection raw, string subject, SigningKey requesterKey, int replies)
    {
        // A requester that knows `replies` peers; a raw publisher answers for all of them at once with pre-signed replies.
        // Seeds, not keys: each NSec key holds guarded native memory (several memory mappings), and 20,000 of them at
        // once exceed Linux's mapping limit. A key exists only while it signs.
        var seeds = Enumerable.Range(0, replies).Select(_ => System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).ToArray();
        var publics = seeds.Select(s => { using var k = SigningKey.FromSeed(s); return k.PublicBase58; }).ToArray();
        var requester = new RemoteOpsConfig
        {
            Servers = [server.Url],
            Sections = [new RemaphoreConfig { Subject = subject }],
            Destination = "com.bench.q",
            AllowSkew = TimeSpan.FromSeconds(30),
            Identities = [new IdentityConfig { Public = requesterKey.PublicBase58, Private = requesterKey.ExportSeedBase58(), Verbs = ["*"] }],
            Peers = [.. publics.Select((p, i) => new PeerConfig { Public = p, Destination = $"com.bench.f{i}", Verbs = ["*"] })],
        };
        TrustStore.For(requester); // import the peer keys up front, as a long-running session would have
        var best = 0.0;
        for (int run = 0; run < 3; run++)
        {
            var now = RemaphoreWire.NowNanos();
            var wires = seeds.Select(seed => { using var k = SigningKey.FromSeed(seed); return RemaphoreWire.Encode(k, "", now, RemaphoreWire.UuidBytes(null), "reply", false, "0,ok"); }).ToArray();
            await using var requestSub = await raw.SubscribeCoreAsync<byte[]>(subject + ".all");
            await raw.PingAsync();
            var options = new RemaphoreSendOptions { Payload = "fan-in", Verb = "status", Destination = "com.bench.f*" };
            var answer = Task.Run(async () =>
            {
                var msg = await requestSub.Msgs.ReadAsync();
                var replySubject = RemaphoreWire.ReplySubject(subject, System.Security.Cryptography.SHA256.HashData(msg.Data!));
                long t = Stopwatch.GetTimestamp();
                foreach (var w in wires) await raw.PublishAsync(replySubject, w);
                await raw.PingAsync();
                return t;
            });
            await using var request = await RemaphoreRequest.StartAsync(requester, options, TimeSpan.FromSeconds(60), null);
            int got = 0;
            await foreach (var e in request.Events.ReadAllAsync()) if (e is RemaphoreReplied) got++;
            long end = Stopwatch.GetTimestamp();
            long start = await answer;
            if (got != replies) throw new InvalidOperationException($"Fan-in verified {got} of {replies} replies.");
            var perSecond = replies / Stopwatch.GetElapsedTime(start, end).TotalSeconds;
            best = Math.Max(best, perSecond);
        }
        report.Add($"Verified replies/s collected by Invoke ({replies:N0} replies, {Environment.ProcessorCount} cores, best of 3)", best.ToString("N0", CultureInfo.InvariantCulture), target: "≥ 20,000/s");
    }

    private static void VerifyCpu(Report report, SigningKey sender, RemoteOpsConfig receiver)
    {
        // Pure verification throughput on all cores (no network): distinct signed messages through the verifier.
        const int n = 40_000;
        var now = RemaphoreWire.NowNanos();
        var wires = Enumerable.Range(0, n).Select(i => RemaphoreWire.Encode(sender, "com.bench.b", now, RemaphoreWire.UuidBytes(null), "ping", false, "m" + i)).ToArray();
        var verifier = new RemaphoreVerifier(receiver, replay: null);
        int ok = 0;
        var sw = Stopwatch.StartNew();
        Parallel.For(0, n, i => { if (verifier.VerifyMessage(wires[i], "com.bench.b", now).Accepted) Interlocked.Increment(ref ok); });
        sw.Stop();
        if (ok != n) throw new InvalidOperationException($"verified {ok} of {n}");
        report.Add($"Signed messages verified/s (all {Environment.ProcessorCount} cores, CPU only)", (n / sw.Elapsed.TotalSeconds).ToString("N0", CultureInfo.InvariantCulture));
        var one = Stopwatch.StartNew();
        for (int i = 0; i < 5000; i++) verifier.VerifyMessage(wires[i], "com.bench.b", now);
        report.Add("Signed messages verified/s (one core)", (5000 / one.Elapsed.TotalSeconds).ToString("N0", CultureInfo.InvariantCulture));
    }

    // ---- 5. 1,000 Send-Remaphore through PowerShell -----------------------------------------------------------

    private static string PwshHost => Path.Combine(Repo.Root, "tests", "RemoteOps.PwshHost", "bin", "Release", "net10.0",
        OperatingSystem.IsWindows() ? "RemoteOps.PwshHost.exe" : "RemoteOps.PwshHost");

    private static async Task PowerShellSendLoop(Report report, NatsServer server, NatsConnection raw, TempDir dir, string subject, SigningKey ka, SigningKey kb)
    {
        var config = dir.File("sender.yaml");
        File.WriteAllText(config, $"""
            servers: [{server.Url}]
            subject: {subject}
            destination: com.bench.a
            identities:
              - public: {ka.PublicBase58}
                private: {ka.ExportSeedBase58()}
                verbs: ["*"]
            peers:
              - destination: com.bench.b
                public: {kb.PublicBase58}
                verbs: ["*"]
            """);
        // Count what arrives, to be sure every call really sent.
        int received = 0;
        await using var sub = await raw.SubscribeCoreAsync<byte[]>(subject + ".loop");
        var counting = Task.Run(async () => { await foreach (var _ in sub.Msgs.ReadAllAsync()) if (Interlocked.Increment(ref received) == 1200) return; });
        await raw.PingAsync();
        var script = $$"""
            $c = '{{config}}'
            foreach ($i in 1..200) { Send-Remaphore "warm $i" -Subject loop -ConfigPath $c }
            $sw = [System.Diagnostics.Stopwatch]::StartNew()
            foreach ($i in 1..1000) { Send-Remaphore "m $i" -Subject loop -ConfigPath $c }
            $sw.Stop()
            'RESULT ' + $sw.Elapsed.TotalMilliseconds.ToString([cultureinfo]::InvariantCulture)
            """;
        var (code, stdout, stderr) = await RunChild(script);
        if (code != 0) throw new InvalidOperationException("PowerShell send loop failed: " + stderr);
        var ms = double.Parse(stdout.Split('\n').Single(l => l.StartsWith("RESULT ")).Substring(7), CultureInfo.InvariantCulture);
        await counting.WaitAsync(TimeSpan.FromSeconds(30));
        report.Add("1,000 Send-Remaphore in a PowerShell loop (one connection)", $"{1000 / (ms / 1000):N0}/s ({ms:0} ms)", target: "≥ 5,000/s");
    }

    // ---- 6. Import-Module, cold -------------------------------------------------------------------------------

    private static void ImportModule(Report report)
    {
        // PwshHost imports a module at start; give it an empty one, then time Import-Module RemoteOps in the script.
        using var dir = new TempDir();
        var dummy = dir.File("Empty.psd1");
        File.WriteAllText(dummy, "@{ ModuleVersion = '1.0.0' }");
        var script = $$"""
            $m0 = [System.GC]::GetTotalMemory($true)
            $p = [System.Diagnostics.Process]::GetCurrentProcess(); $p.Refresh(); $ws0 = $p.WorkingSet64
            $sw = [System.Diagnostics.Stopwatch]::StartNew()
            Import-Module '{{Repo.ModuleManifest}}'
            $t1 = $sw.Elapsed.TotalMilliseconds
            Send-Remaphore -Uuid x -WhatIf -ConfigPath '{{dir.File("none.yaml")}}' 2>$null
            $t2 = $sw.Elapsed.TotalMilliseconds
            $p.Refresh()
            'RESULT {0} {1} {2} {3}' -f $t1.ToString([cultureinfo]::InvariantCulture), $t2.ToString([cultureinfo]::InvariantCulture), ([System.GC]::GetTotalMemory($false) - $m0), ($p.WorkingSet64 - $ws0)
            """;
        var runs = new List<double[]>();
        for (int i = 0; i < 5; i++)
        {
            var (code, stdout, stderr) = RunChild(script, ("REMOTEOPS_MODULE", dummy)).GetAwaiter().GetResult();
            var line = stdout.Split('\n').SingleOrDefault(l => l.StartsWith("RESULT ")) ?? throw new InvalidOperationException("Import run failed: " + stderr + stdout);
            runs.Add(line[7..].Trim().Split(' ').Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray());
        }
        double Median(int k) => runs.Select(r => r[k]).OrderBy(x => x).ElementAt(runs.Count / 2);
        report.Add("Import-Module RemoteOps, cold (median of 5 processes)", $"{Median(0):0} ms", target: "≤ 300 ms");
        report.Add("Import-Module + first Send-Remaphore -WhatIf (loads the core)", $"{Median(1):0} ms");
        report.Add("Import-Module memory: GC heap / working set growth", $"{Median(2) / 1048576:0.0} MB / {Median(3) / 1048576:0.0} MB");
    }

    private static async Task<(int Code, string Out, string Err)> RunChild(string script, params (string Name, string Value)[] env)
    {
        var psi = new ProcessStartInfo(PwshHost, ["-Command", script]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        return (p.ExitCode, await stdout, await stderr);
    }
}
