using System.Diagnostics;
using NATS.Client.Core;
using RemoteOps.Config;
using RemoteOps.Core.Tests.Remaphore;
using RemoteOps.Identity;
using RemoteOps.Steward;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>Fleet governors (Invoke-StewardMethod -Governor) against a real nats-server: three senders, each on its own
/// connection, and thirty node agents; a dead agent's slot freed after its timeout; bad names and capacities.</summary>
public class StewardGovernorTests(NatsFixture nats) : IClassFixture<NatsFixture>
{
    /// <summary>Senders and node agents on their own stream and buckets (governors too). Agents run in this process on one
    /// connection; each sender has its own connection, as separate sessions would.</summary>
    private sealed class Fleet : IAsyncDisposable
    {
        public required StewardConfig Section { get; init; }
        public required SigningKey[] SenderKeys { get; init; }
        public required SigningKey[] NodeKeys { get; init; }
        public required string Directory { get; init; }
        public required string Url { get; init; }
        public List<StewardAgent> Agents { get; } = [];
        public List<StewardClient> Clients { get; } = [];
        public List<NatsConnection> Connections { get; } = [];
        public List<StewardLogEntry> Log { get; } = [];
        public static string Node(int i) => $"com.gov.n{i:D2}";
        public static string Sender(int i) => $"com.gov.ops{i}";

        public static Fleet Create(string url, int nodes, int senders, Func<StewardConfig, StewardConfig>? change = null)
        {
            var suffix = Guid.NewGuid().ToString("N")[..10];
            var dir = System.IO.Directory.CreateTempSubdirectory("steward-gov-").FullName;
            var section = new StewardConfig
            {
                Stream = "gs_" + suffix, ResultsBucket = "gr_" + suffix, NodesBucket = "gn_" + suffix, GovernorsBucket = "gg_" + suffix,
                DataDirectory = dir, MethodTimeout = TimeSpan.FromSeconds(60),
                Methods = new Dictionary<StewardMethod, IReadOnlyList<string>> { [StewardMethod.Ping] = ["*"], [StewardMethod.CliCommand] = ["*"] },
            };
            return new Fleet
            {
                Section = change?.Invoke(section) ?? section, Directory = dir, Url = url,
                SenderKeys = Enumerable.Range(0, senders).Select(_ => SigningKey.Generate()).ToArray(),
                NodeKeys = Enumerable.Range(0, nodes).Select(_ => SigningKey.Generate()).ToArray(),
            };
        }

        private IEnumerable<PeerConfig> SenderPeers => SenderKeys.Select((k, i) => new PeerConfig { Destination = Sender(i), Public = k.PublicBase58, Verbs = ["*"] });

        public RemoteOpsConfig NodeConfig(int i) => new()
        {
            Servers = [Url], Destination = Node(i), AllowSkew = TimeSpan.FromMilliseconds(500),
            Identities = [new IdentityConfig { Public = NodeKeys[i].PublicBase58, Private = NodeKeys[i].ExportSeedBase58(), Verbs = ["*"] }],
            DefaultIdentity = NodeKeys[i].PublicBase58,
            Peers = [.. SenderPeers],
            Sections = [Section],
        };

        public RemoteOpsConfig SenderConfig(int s) => new()
        {
            Servers = [Url], Destination = Sender(s), AllowSkew = TimeSpan.FromMilliseconds(500),
            Identities = [new IdentityConfig { Public = SenderKeys[s].PublicBase58, Private = SenderKeys[s].ExportSeedBase58(), Verbs = ["*"] }],
            DefaultIdentity = SenderKeys[s].PublicBase58,
            Peers = [.. NodeKeys.Select((k, i) => new PeerConfig { Destination = Node(i), Public = k.PublicBase58, Verbs = ["*"] }), .. SenderPeers.Where(p => p.Destination != Sender(s))],
            Sections = [Section],
        };

        /// <summary>Node i's config as YAML, for an agent in another process.</summary>
        public string WriteNodeYaml(int i)
        {
            var path = Path.Combine(Directory, $"node{i}.yaml");
            var k = NodeKeys[i];
            var peers = string.Join("\n", SenderPeers.Select(p => $"  - {{ destination: {p.Destination}, public: {p.Public}, verbs: ['*'] }}"));
            File.WriteAllText(path, $$"""
                servers: ['{{Url}}']
                destination: {{Node(i)}}
                allow_skew: 500ms
                identities:
                  - { public: {{k.PublicBase58}}, private: {{k.ExportSeedBase58()}}, verbs: ['*'] }
                peers:
                {{peers}}
                steward:
                  stream: {{Section.Stream}}
                  results_bucket: {{Section.ResultsBucket}}
                  nodes_bucket: {{Section.NodesBucket}}
                  governors_bucket: {{Section.GovernorsBucket}}
                  governor_timeout: {{Duration.Format(Section.GovernorTimeout)}}
                  data_directory: {{Directory}}
                  method_timeout: 60s
                  methods:
                    Ping: { allowed: ['*'] }
                    CliCommand: { allowed: ['*'] }

                """);
            return path;
        }

        public async Task StartAgentsAsync(IEnumerable<int> nodes)
        {
            var connection = new NatsConnection(new NatsOpts { Url = Url });
            await connection.ConnectAsync();
            Connections.Add(connection);
            foreach (var i in nodes)
                Agents.Add(await StewardAgent.StartAsync(NodeConfig(i), null, e => { lock (Log) Log.Add(e); }, default, connection));
        }

        public async Task<StewardClient> ClientAsync(int s)
        {
            var connection = new NatsConnection(new NatsOpts { Url = Url });
            await connection.ConnectAsync();
            Connections.Add(connection);
            var config = SenderConfig(s);
            var client = new StewardClient(config, await StewardStore.OpenAsync(connection, config, default));
            Clients.Add(client);
            return client;
        }

        public string LogText { get { lock (Log) return string.Join('\n', Log); } }

        public async ValueTask DisposeAsync()
        {
            await Parallel.ForEachAsync(Agents, async (a, _) => await a.DisposeAsync());
            foreach (var c in Connections) await c.DisposeAsync();
            foreach (var k in SenderKeys.Concat(NodeKeys)) k.Dispose();
            try { System.IO.Directory.Delete(Directory, true); } catch (IOException) { }
        }
    }

    private static async Task<List<StewardReply>> WaitAllAsync(StewardClient client, IReadOnlyList<StewardRecord> sent, int seconds = 240)
    {
        var replies = new List<StewardReply>();
        await foreach (var e in client.WaitAsync(sent, null, false, TimeSpan.FromSeconds(seconds), default))
            if (e.Reply is { } r) replies.Add(r);
        return replies;
    }

    /// <summary>The governor once no slot is held, or as it is after 60 s (the assertion then says what is still held).</summary>
    private static async Task<StewardGovernor> FreedAsync(StewardGovernors governors, string name)
    {
        var until = DateTimeOffset.UtcNow.AddSeconds(60);
        while (true)
        {
            var state = Assert.Single(await governors.ListAsync(name, DateTimeOffset.UtcNow, default));
            if (state.InUse == 0 || DateTimeOffset.UtcNow > until) return state;
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Three_senders_thirty_nodes_capacity_four_never_more_than_four_run_at_once_and_every_node_finishes()
    {
        await using var fleet = Fleet.Create(nats.Server.Url, nodes: 30, senders: 3);
        await fleet.StartAgentsAsync(Enumerable.Range(0, 30));
        var clients = new[] { await fleet.ClientAsync(0), await fleet.ClientAsync(1), await fleet.ClientAsync(2) };
        var governors = await StewardGovernors.OpenAsync(clients[0].Store.Connection, clients[0].Config, default);
        await governors.DefineAsync("deploy", 4, fleet.SenderKeys[0], force: false, default);

        // Each method appends a start and an end line to one shared file; O_APPEND writes of a line are atomic, so the
        // file's order is the order in which they happened, and the running count over it is the concurrency observed.
        var ledger = Path.Combine(fleet.Directory, "ledger");
        var nodes = Enumerable.Range(0, 30).Select(Fleet.Node).ToArray();
        var request = new StewardRequest
        {
            Method = StewardMethod.CliCommand, Governor = "deploy", AckTimeout = TimeSpan.FromMinutes(2), Retries = 2,
            MethodArgs = ["sh", "-c", $"echo \"start $0\" >> '{ledger}'; sleep 0.4; echo \"end $0\" >> '{ledger}'", "x"],
        };
        // The three sessions send at once, each to all thirty nodes: 90 methods under one governor.
        var runs = clients.Select((client, s) => Task.Run(async () =>
        {
            var sent = await client.SendAsync(request with { MethodArgs = [.. request.MethodArgs.Take(request.MethodArgs.Count - 1), $"s{s}"] }, nodes, 32, (n, e) => throw e, default);
            return await WaitAllAsync(client, sent);
        })).ToArray();
        var replies = (await Task.WhenAll(runs)).SelectMany(r => r).ToList();

        Assert.Equal(90, replies.Count);
        Assert.All(replies, r => Assert.True(r.Status == StewardStatus.Succeeded, $"{r.Node}: {r.Status} {r.Error}\n{fleet.LogText}"));
        foreach (var node in nodes) Assert.Equal(3, replies.Count(r => r.Node == node));
        var lines = File.ReadAllLines(ledger);
        Assert.Equal(180, lines.Length);
        int running = 0, most = 0;
        foreach (var line in lines)
        {
            running += line.StartsWith("start ", StringComparison.Ordinal) ? 1 : -1;
            most = Math.Max(most, running);
        }
        Assert.Equal(0, running);
        Assert.Equal(4, most);
        // Every slot is freed (a node frees its slot just after writing its result, so the last ones may lag the replies).
        var state = await FreedAsync(governors, "deploy");
        Assert.Equal(0, state.InUse);
        Assert.Equal(4, state.Capacity);
    }

    private static readonly string HostDll = Path.Combine(Repo.Root, "tests", "RemoteOps.StewardNodeHost", "bin",
#if DEBUG
        "Debug",
#else
        "Release",
#endif
        "net10.0", "RemoteOps.StewardNodeHost.dll");

    [Fact]
    public async Task A_killed_agents_slot_is_taken_over_once_its_timeout_passed()
    {
        Assert.True(File.Exists(HostDll), $"{HostDll} is built with the tests");
        await using var fleet = Fleet.Create(nats.Server.Url, nodes: 2, senders: 1, s => s with { GovernorTimeout = TimeSpan.FromSeconds(2) });
        var client = await fleet.ClientAsync(0);
        var governors = await StewardGovernors.OpenAsync(client.Store.Connection, client.Config, default);
        await governors.DefineAsync("single", 1, fleet.SenderKeys[0], force: false, default);

        // Node 0 runs in its own process and takes the only slot with a long command.
        var output = new System.Text.StringBuilder();
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var host = new Process { StartInfo = new ProcessStartInfo("dotnet", [HostDll, fleet.WriteNodeYaml(0)]) { RedirectStandardOutput = true, RedirectStandardError = true } };
        DataReceivedEventHandler onLine = (_, e) => { if (e.Data is null) return; lock (output) output.AppendLine(e.Data); if (e.Data == "READY") ready.TrySetResult(); };
        host.OutputDataReceived += onLine;
        host.ErrorDataReceived += onLine;
        host.Start();
        host.BeginOutputReadLine();
        host.BeginErrorReadLine();
        var marker = Path.Combine(fleet.Directory, "long-started");
        try
        {
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(90));
            var request = new StewardRequest { Method = StewardMethod.CliCommand, Governor = "single", AckTimeout = TimeSpan.FromMinutes(1), Retries = 1 };
            var held = await client.SendAsync(request with { MethodArgs = ["sh", "-c", $"touch '{marker}'; exec sleep 20"] }, [Fleet.Node(0)], 1, (n, e) => throw e, default);
            using (var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
                while (!File.Exists(marker)) await Task.Delay(50, limit.Token);
            var before = Assert.Single(await governors.ListAsync("single", DateTimeOffset.UtcNow, default));
            Assert.Equal([Fleet.Node(0)], before.Holders);

            // The agent dies holding it: nothing releases the slot but its expiry.
            Process.Start("kill", ["-KILL", host.Id.ToString()])!.WaitForExit();
            await host.WaitForExitAsync();

            await fleet.StartAgentsAsync([1]);
            var sent = await client.SendAsync(request with { Method = StewardMethod.Ping }, [Fleet.Node(1)], 1, (n, e) => throw e, default);
            var reply = Assert.Single(await WaitAllAsync(client, sent, 120));
            Assert.True(reply.Status == StewardStatus.Succeeded, $"{reply.Status} {reply.Error}\n{fleet.LogText}");
            Assert.Contains($"took over slot 0 from {Fleet.Node(0)} (message {held[0].MessageId})", fleet.LogText);
            // Node 1 frees it when its Ping ended (just after its result is written).
            Assert.Equal(0, (await FreedAsync(governors, "single")).InUse);
        }
        finally
        {
            if (!host.HasExited) host.Kill(entireProcessTree: true);
            // The detached `sleep 20` of the dead agent ends on its own.
        }
    }

    [Fact]
    public async Task A_message_waits_delivered_without_blocking_other_methods_and_is_TimedOut_when_its_window_passes()
    {
        await using var fleet = Fleet.Create(nats.Server.Url, nodes: 1, senders: 1);
        await fleet.StartAgentsAsync([0]);
        var client = await fleet.ClientAsync(0);
        var governors = await StewardGovernors.OpenAsync(client.Store.Connection, client.Config, default);
        await governors.DefineAsync("busy", 1, fleet.SenderKeys[0], force: false, default);
        // Someone else holds the only slot and keeps it (a live holder: its expiry is far).
        using var other = SigningKey.Generate();
        await using var lease = await governors.AcquireAsync("busy", "com.gov.elsewhere", "held-" + Guid.NewGuid().ToString("N"), other,
            TimeSpan.FromMinutes(10), DateTimeOffset.UtcNow.AddSeconds(30), null, default);

        var waiting = await client.SendAsync(new StewardRequest { Method = StewardMethod.Ping, Governor = "busy", AckTimeout = TimeSpan.FromSeconds(1), Retries = 1 },
            [Fleet.Node(0)], 1, (n, e) => throw e, default);
        // The same node answers an ungoverned Ping meanwhile.
        var free = await client.SendAsync(new StewardRequest { Method = StewardMethod.Ping }, [Fleet.Node(0)], 1, (n, e) => throw e, default);
        Assert.Equal(StewardStatus.Succeeded, Assert.Single(await WaitAllAsync(client, free, 60)).Status);
        Assert.False(StewardStatuses.IsFinal((await client.GetAsync(waiting[0].MessageId, default))!.Value.Record!.Status));

        var reply = Assert.Single(await WaitAllAsync(client, waiting, 60));
        Assert.Equal(StewardStatus.TimedOut, reply.Status);
        Assert.Contains("No slot of governor 'busy' (capacity 1)", reply.Error);
        Assert.Contains("delivery window", reply.Error);
        await lease.ReleaseAsync();
    }

    [Fact]
    public async Task A_listing_ends_when_the_newest_entry_of_the_bucket_is_a_released_slot()
    {
        // A released slot is deleted from the bucket: the listing's watch must still end when that delete is the newest
        // entry, and when nothing but deletes is left.
        await using var fleet = Fleet.Create(nats.Server.Url, nodes: 1, senders: 1);
        var client = await fleet.ClientAsync(0);
        var governors = await StewardGovernors.OpenAsync(client.Store.Connection, client.Config, default);
        await governors.DefineAsync("once", 1, fleet.SenderKeys[0], force: false, default);
        using var holder = SigningKey.Generate();
        var lease = await governors.AcquireAsync("once", "com.gov.elsewhere", "held-" + Guid.NewGuid().ToString("N"), holder,
            TimeSpan.FromMinutes(10), DateTimeOffset.UtcNow.AddSeconds(30), null, default);
        await lease.ReleaseAsync();

        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var state = Assert.Single(await governors.ListAsync("once", DateTimeOffset.UtcNow, limit.Token));
        Assert.Equal(0, state.InUse);
        Assert.Equal(1, state.Capacity);
        // And with nothing but deletes after the definition is removed.
        Assert.True(await governors.RemoveAsync("once", default));
        Assert.Empty(await governors.ListAsync(null, DateTimeOffset.UtcNow, limit.Token));
    }

    [Fact]
    public async Task An_unknown_governor_is_refused_at_send_time_and_Failed_on_a_node_that_does_not_know_it()
    {
        await using var fleet = Fleet.Create(nats.Server.Url, nodes: 1, senders: 1);
        await fleet.StartAgentsAsync([0]);
        var client = await fleet.ClientAsync(0);
        var e = await Assert.ThrowsAsync<StewardGovernorNotFoundException>(() =>
            client.SendAsync(new StewardRequest { Method = StewardMethod.Ping, Governor = "nosuch" }, [Fleet.Node(0)], 1, null, default));
        Assert.Contains("No governor 'nosuch'", e.Message);
        Assert.Contains("New-StewardGovernor", e.Message);

        // A sender that bypasses the check (an older client, a hand-made message): the node fails it with the reason.
        var outgoing = StewardClient.Build(new StewardRequest { Method = StewardMethod.Ping, Governor = "nosuch" }, Fleet.Node(0), fleet.Section, fleet.SenderKeys[0], DateTimeOffset.UtcNow);
        await client.SendOneAsync(outgoing, fleet.SenderKeys[0], default);
        var reply = Assert.Single(await WaitAllAsync(client, [outgoing.Record], 60));
        Assert.Equal(StewardStatus.Failed, reply.Status);
        Assert.Contains("No governor 'nosuch'", reply.Error);
    }

    [Fact]
    public async Task A_governor_from_the_config_is_written_to_the_bucket_by_the_first_sender_and_the_bucket_wins_after()
    {
        await using var fleet = Fleet.Create(nats.Server.Url, nodes: 1, senders: 1, s => s with { Governors = new Dictionary<string, int> { ["patch"] = 2 } });
        await fleet.StartAgentsAsync([0]);
        var client = await fleet.ClientAsync(0);
        var sent = await client.SendAsync(new StewardRequest { Method = StewardMethod.Ping, Governor = "patch" }, [Fleet.Node(0)], 1, (n, e) => throw e, default);
        Assert.Equal(StewardStatus.Succeeded, Assert.Single(await WaitAllAsync(client, sent, 60)).Status);
        var governors = await StewardGovernors.OpenAsync(client.Store.Connection, client.Config, default);
        Assert.Equal(2, Assert.Single(await governors.ListAsync(null, DateTimeOffset.UtcNow, default)).Capacity);

        // New-StewardGovernor without -Force refuses an existing name; with it, the capacity changes for everyone.
        await Assert.ThrowsAsync<StewardGovernorExistsException>(() => governors.DefineAsync("patch", 5, fleet.SenderKeys[0], force: false, default));
        await governors.DefineAsync("patch", 5, fleet.SenderKeys[0], force: true, default);
        Assert.Equal(5, (await governors.ResolveAsync("patch", fleet.SenderKeys[0], default)).Capacity);

        // A definition signed by a key nobody knows is not believed (and the config's is not written over it unasked).
        using var stranger = SigningKey.Generate();
        var forged = SignedJson.Encode(new StewardGovernorRecord { Name = "forged", Capacity = 100 }, stranger, StewardGovernorRecord.Domain);
        await governors.Bucket.PutAsync("forged", forged);
        var refused = await Assert.ThrowsAsync<StewardGovernorNotFoundException>(() => governors.ResolveAsync("forged", fleet.SenderKeys[0], default));
        Assert.Contains("not a configured peer or identity", refused.Message);
        Assert.DoesNotContain(await governors.ListAsync(null, DateTimeOffset.UtcNow, default), g => g.Name == "forged");

        Assert.True(await governors.RemoveAsync("patch", default));
        Assert.False(await governors.RemoveAsync("patch", default));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    [InlineData(StewardGovernors.MaxCapacity + 1)]
    public void A_capacity_outside_one_to_the_maximum_is_refused(int capacity)
    {
        var e = Assert.Throws<StewardArgumentException>(() => StewardGovernors.CheckCapacity(capacity));
        Assert.Contains("out of range", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a.b")]
    [InlineData("a b")]
    [InlineData("a*")]
    [InlineData(">")]
    [InlineData("ünï")]
    [InlineData("x\n")]
    public void A_bad_governor_name_is_refused_by_the_request_the_command_and_the_config(string name)
    {
        Assert.Throws<StewardArgumentException>(() => StewardGovernors.CheckName(name));
        Assert.Throws<StewardArgumentException>(() => StewardClient.Check(new StewardRequest { ToNode = "n1", Method = StewardMethod.Ping, Governor = name }, new StewardConfig()));
        var json = System.Text.Json.JsonSerializer.Serialize(new { toNode = "n1", method = "Ping", governor = name });
        Assert.Throws<StewardArgumentException>(() => StewardRequestParser.Parse(json));
        Assert.False(StewardGovernors.TryValidateName(new string('a', StewardGovernors.MaxNameLength + 1), out _));
        Assert.True(StewardGovernors.TryValidateName(new string('a', StewardGovernors.MaxNameLength), out _));
    }

    [Fact]
    public void The_governor_travels_in_the_signed_command_and_a_bad_one_on_the_wire_is_refused()
    {
        using var key = SigningKey.Generate();
        var command = new StewardCommand { MessageId = "m1", Node = "n1", Method = StewardMethod.Ping, Governor = "deploy", Time = 1 };
        var wire = StewardCodec.Encode(command, key);
        Assert.True(StewardCodec.Instance.TryDecode(wire, out var decoded, out var problem), problem);
        Assert.Equal("deploy", decoded.Governor);
        Assert.True(decoded.SameContent(command with { Sender = key.PublicBase58 }));
        // Without a governor the wire is as before (no field).
        Assert.DoesNotContain("governor", System.Text.Encoding.UTF8.GetString(StewardCodec.Encode(command with { Governor = null }, key)));
        var text = System.Text.Encoding.UTF8.GetString(wire);
        foreach (var bad in new[] { "\"governor\":\"a.b\"", "\"governor\":7", "\"governor\":\"deploy\",\"governor\":\"deploy\"" })
        {
            var json = text[(text.IndexOf('\n') + 1)..].Replace("\"governor\":\"deploy\"", bad);
            var forged = System.Text.Encoding.UTF8.GetBytes(text[..(text.IndexOf('\n') + 1)] + json);
            Assert.False(StewardCodec.Instance.TryDecode(forged, out _, out var why));
            Assert.NotEmpty(why);
        }
    }

    [Fact]
    public void The_config_reads_governors_and_refuses_bad_ones_with_the_key_named()
    {
        var section = ConfigLoader.Parse("steward:\n  governors:\n    deploy: 4\n    db-patch: 1\n  governors_bucket: my_gov\n  governor_timeout: 10s\n", "/cfg/config.yaml").Steward;
        Assert.Equal(4, section.Governors["deploy"]);
        Assert.Equal(1, section.Governors["db-patch"]);
        Assert.Equal("my_gov", section.GovernorsBucket);
        Assert.Equal(TimeSpan.FromSeconds(10), section.GovernorTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), new StewardConfig().GovernorTimeout);
        foreach (var (yaml, key) in new[]
        {
            ("steward:\n  governors:\n    deploy: 0\n", "steward.governors.deploy"),
            ("steward:\n  governors:\n    deploy: -3\n", "steward.governors.deploy"),
            ("steward:\n  governors:\n    a.b: 2\n", "steward.governors.a.b"),
            ("steward:\n  governors: [1, 2]\n", "steward.governors"),
            ("steward:\n  governor_timeout: 0s\n", "steward.governor_timeout"),
        })
        {
            var e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(yaml, "/cfg/config.yaml"));
            Assert.Contains(key, e.Message);
        }
    }
}
