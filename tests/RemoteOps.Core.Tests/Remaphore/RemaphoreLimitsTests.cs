using System.Text;
using FsCheck;
using FsCheck.Fluent;
using NATS.Client.Core;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;
using RemoteOps.Remaphore;

namespace RemoteOps.Core.Tests.Remaphore;

/// <summary>What the wire cannot carry is refused before anything is sent or subscribed, and the shared connection is
/// never disturbed; one verb rule everywhere.</summary>
public class RemaphoreLimitsTests(NatsFixture nats) : IClassFixture<NatsFixture>, IDisposable
{
    private readonly SigningKey _a = SigningKey.Generate();

    public void Dispose() => _a.Dispose();

    /// <summary>A node that is its own peer, on a subject of its own, with an identity that may send every verb.</summary>
    private RemoteOpsConfig Node() => new()
    {
        Servers = [nats.Server.Url],
        Destination = "com.test.a",
        Sections = [new RemaphoreConfig { Subject = "lim" + Guid.NewGuid().ToString("N")[..8], LatchBucket = "latch_lim" }],
        Identities = [new IdentityConfig { Public = _a.PublicBase58, Private = _a.ExportSeedBase58(), Verbs = ["*"] }],
        Peers = [new PeerConfig { Public = _a.PublicBase58, Destination = "com.test.a", Verbs = ["*"] }],
    };

    /// <summary>Counts the shared connection's disconnects from now on.</summary>
    private static async Task<(NatsConnection Connection, Func<int> Disconnects)> WatchAsync(RemoteOpsConfig config)
    {
        var connection = await ConnectionPool.GetAsync(config);
        int disconnects = 0;
        connection.ConnectionDisconnected += (_, _) => { Interlocked.Increment(ref disconnects); return ValueTask.CompletedTask; };
        return (connection, () => Volatile.Read(ref disconnects));
    }

    /// <summary>A message sent and received on the same config: the connection still carries both ways.</summary>
    private static async Task AssertSendAndWaitWorkAsync(RemoteOpsConfig config, string? subject = null)
    {
        await using var waiter = await RemaphoreWaiter.StartAsync(config, new RemaphoreWaitOptions { Once = true, Subject = subject, Timeout = TimeSpan.FromSeconds(30) });
        var sent = await RemaphoreClient.SendAsync(config, new RemaphoreSendOptions { Payload = "after", Destination = "com.test.a", Subject = subject });
        RemaphoreMessage? got = null;
        await foreach (var e in waiter.ReadAllAsync())
            if (e is RemaphoreReceived r) got = r.Message;
        Assert.NotNull(got);
        Assert.Equal(sent.Hash, got.Hash);
    }

    [Fact]
    public async Task A_subject_longer_than_the_control_line_is_refused_on_send_and_wait_and_the_connection_carries_on()
    {
        var config = Node();
        var (connection, disconnects) = await WatchAsync(config);
        var tooLong = new string('x', 5000);

        var send = await Assert.ThrowsAsync<RemaphoreArgumentException>(() =>
            RemaphoreClient.SendAsync(config, new RemaphoreSendOptions { Payload = "lost?", Subject = tooLong }));
        Assert.Contains("-Subject is too long", send.Message);
        Assert.Contains($"at most {NatsLimits.MaxSubjectBytes}", send.Message);
        var wait = await Assert.ThrowsAsync<RemaphoreArgumentException>(() =>
            RemaphoreWaiter.StartAsync(config, new RemaphoreWaitOptions { Subject = tooLong, Timeout = TimeSpan.FromSeconds(30) }));
        Assert.Contains("-Subject is too long", wait.Message);
        await Assert.ThrowsAsync<RemaphoreArgumentException>(() =>
            RemaphoreRequest.StartAsync(config, new RemaphoreSendOptions { Subject = tooLong }, TimeSpan.FromSeconds(1), null));

        // The server has seen nothing it refuses: after a round trip the same connection is up and was never dropped.
        await connection.PingAsync();
        Assert.Equal(NatsConnectionState.Open, connection.ConnectionState);
        Assert.Same(connection, await ConnectionPool.GetAsync(config));
        await AssertSendAndWaitWorkAsync(config);
        Assert.Equal(0, disconnects());
    }

    [Fact]
    public async Task The_longest_subject_allowed_is_carried_end_to_end()
    {
        var config = Node();
        var (_, disconnects) = await WatchAsync(config);
        var longest = new string('s', NatsLimits.MaxSubjectBytes - config.Subject.Length - 1);
        Assert.Equal(NatsLimits.MaxSubjectBytes, Encoding.UTF8.GetByteCount(RemaphoreWire.MessageSubject(config.Subject, longest)));
        await AssertSendAndWaitWorkAsync(config, longest);
        await Assert.ThrowsAsync<RemaphoreArgumentException>(() =>
            RemaphoreClient.SendAsync(config, new RemaphoreSendOptions { Subject = longest + "s" }));
        Assert.Equal(0, disconnects());
    }

    [Fact]
    public async Task A_latched_signal_whose_latch_key_would_not_fit_is_refused_before_anything_is_sent()
    {
        var config = Node();
        var (_, disconnects) = await WatchAsync(config);
        // Fits as a message subject, but '@' is not a key character: the latch key is the subject's hex, twice as long.
        var subject = new string('@', 2000);
        var e = await Assert.ThrowsAsync<RemaphoreArgumentException>(() =>
            RemaphoreClient.SendAsync(config, new RemaphoreSendOptions { Subject = subject, Uuid = "u1", Latch = true }));
        Assert.Contains("latched signal", e.Message);
        await Assert.ThrowsAsync<RemaphoreArgumentException>(() =>
            RemaphoreWaiter.StartAsync(config, new RemaphoreWaitOptions { Subject = subject, Uuid = "u1", Timeout = TimeSpan.FromSeconds(30) }));
        await AssertSendAndWaitWorkAsync(config);
        Assert.Equal(0, disconnects());
    }

    [Fact]
    public async Task A_message_beyond_the_servers_max_payload_is_refused_even_when_the_config_allows_it()
    {
        var config = Node() with { MaxPayload = 8 * 1024 * 1024 };
        var (connection, disconnects) = await WatchAsync(config);
        var max = NatsLimits.MaxPayload(connection);
        Assert.Equal(connection.ServerInfo!.MaxPayload, max);
        var e = await Assert.ThrowsAsync<RemaphoreArgumentException>(() =>
            RemaphoreClient.SendAsync(config, new RemaphoreSendOptions { Payload = new string('p', (int)max), Destination = "com.test.a" }));
        Assert.Contains("max_payload", e.Message);
        await Assert.ThrowsAsync<RemaphoreArgumentException>(() =>
            RemaphoreRequest.StartAsync(config, new RemaphoreSendOptions { Payload = new string('p', (int)max) }, TimeSpan.FromSeconds(1), null));
        await AssertSendAndWaitWorkAsync(config);
        Assert.Equal(0, disconnects());
    }

    [Fact]
    public async Task A_command_that_cannot_start_fails_before_the_wait_begins()
    {
        var config = Node();
        var events = new List<RemaphoreEvent>();
        // No timeout: before the check, this would wait for a message that never comes.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await RemaphoreReceiver.RunAsync(config, new RemaphoreWaitOptions(), new RemaphoreHandling { Command = ["/no/such/program"] }, events.Add, cts.Token);
        var failed = Assert.IsType<RemaphoreCommandFailed>(Assert.Single(events));
        Assert.Equal("/no/such/program", failed.Program);
        Assert.Contains("does not exist", failed.Error);
        Assert.False(cts.IsCancellationRequested);
    }

    // --- the verb rule ---

    /// <summary>Strings rich in what the rule is about: white space of every kind, commas, controls, surrogates, non-ASCII.</summary>
    private static readonly Arbitrary<string> VerbLike = Gen.OneOf(
            Gen.Elements(' ', '\t', '\n', '\u00a0', '\u2003', ',', '\0', '\u007f', '\u0085', '\ud800', '\udc00', 'é', '*', '.', '-', '_'),
            Gen.Choose('a', 'z').Select(i => (char)i),
            ArbMap.Default.GeneratorFor<char>())
        .ArrayOf().Select(cs => new string(cs)).ToArbitrary();

    [Fact]
    public void Every_verb_entry_point_applies_the_one_rule_and_valid_verbs_survive_the_wire() =>
        Prop.ForAll(VerbLike, verb =>
        {
            var problem = VerbRule.Problem(verb);
            // Remaphore (send, invoke, wait): refused with a remaphore argument error exactly when the rule says so.
            var remaphore = Record.Exception(() => RemaphoreClient.ValidateVerb(verb));
            Assert.Equal(problem is null, remaphore is null);
            if (remaphore is not null) Assert.IsType<RemaphoreArgumentException>(remaphore);
            // New-RemoteOpsIdentity: commas separate verbs there, and each one is held to the same rule.
            var parts = verb.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            var identity = Record.Exception(() => IdentityFactory.NormalizeVerbs([verb]));
            Assert.Equal(parts.All(VerbRule.IsValid), identity is null);
            if (identity is not null) Assert.IsType<ArgumentException>(identity);
            if (problem is null)
            {
                var wire = RemaphoreWire.Encode(_verbKey, "**", RemaphoreWire.NowNanos(), new byte[12], verb, false, "p");
                Assert.True(RemaphoreWire.TryDecode(wire, out var decoded, out var error), error);
                Assert.Equal(verb, decoded.Verb);
            }
        }).Check(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(500));

    private static readonly SigningKey _verbKey = SigningKey.Generate();

    [Theory]
    [InlineData("a b", "white space")]
    [InlineData("a,b", "comma")]
    [InlineData("a\u0001", "control character")]
    [InlineData("", "empty")]
    public void A_bad_verb_is_refused_with_the_reason(string verb, string reason)
    {
        Assert.Contains(reason, VerbRule.Problem(verb));
        Assert.Contains(reason, Assert.Throws<RemaphoreArgumentException>(() => RemaphoreClient.ValidateVerb(verb)).Message);
    }

    [Theory]
    [InlineData("identities", "\"a b\"", "white space")]
    [InlineData("peers", "\"a\\tb\"", "white space")]
    [InlineData("peers", "\"x\\u0001\"", "control character")]
    public void The_config_holds_its_verbs_to_the_same_rule(string section, string verb, string says)
    {
        var key = SigningKey.Generate();
        var file = Path.Combine(Path.GetTempPath(), "verbs-" + Guid.NewGuid().ToString("N") + ".yaml");
        var identityVerbs = section == "identities" ? verb : "\"*\"";
        var peerVerbs = section == "peers" ? verb : "\"*\"";
        File.WriteAllText(file, $"""
            servers: [nats://127.0.0.1:4222]
            identities:
              - public: {key.PublicBase58}
                private: {key.ExportSeedBase58()}
                verbs: [{identityVerbs}]
            peers:
              - destination: com.test.a
                public: {key.PublicBase58}
                verbs: [{peerVerbs}]
            """);
        try
        {
            var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(file));
            Assert.Equal(section + ".verbs", e.Key);
            Assert.Equal(section == "identities" ? 5 : 9, e.Line);
            Assert.Contains(says, e.Message);
        }
        finally
        {
            File.Delete(file);
            key.Dispose();
        }
    }

    [Fact]
    public void A_verb_with_an_unpaired_surrogate_is_refused() =>
        // Built at run time: an attribute argument cannot hold an unpaired surrogate.
        Assert.Contains("unpaired surrogate", VerbRule.Problem("ok" + (char)0xd800));

    [Theory]
    [InlineData("upload_done")]
    [InlineData("deploy.v2")]
    [InlineData("é")]
    [InlineData("*")]
    public void A_good_verb_passes(string verb) => Assert.Null(VerbRule.Problem(verb));
}
