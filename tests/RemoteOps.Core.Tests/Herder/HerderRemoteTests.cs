using System.Text;
using RemoteOps.Herder;
using RemoteOps.Messaging;
using RemoteOps.Steward;
using RemoteOps.Core.Tests.Steward;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Herder;

/// <summary>Minions on another node: the request as steward's HerderMinion method to a real agent on a real
/// nats-server, run there under the node's own herder config, the result back to the sender.</summary>
public sealed class HerderRemoteTests : IAsyncLifetime
{
    private NatsServer _server = null!;
    private StewardTestBed _bed = null!;

    public async Task InitializeAsync()
    {
        _server = await NatsServer.StartAsync();
        _bed = new StewardTestBed(_server.Url, s => s with
        {
            Methods = new Dictionary<StewardMethod, IReadOnlyList<string>>(s.Methods) { [StewardMethod.HerderMinion] = [StewardTestBed.SenderName] },
        });
        // The node's herder section is the node's: an environment only it has, and its own ceiling.
        var herder = new HerderConfig
        {
            MaxTimeout = TimeSpan.FromSeconds(20),
            Environments = new Dictionary<string, IReadOnlyList<string>> { ["nodeonly"] = ["bash", "-c", "echo only on $0", "node"] },
        };
        await _bed.StartAgentAsync(_bed.NodeConfig with { Sections = [.. _bed.NodeConfig.Sections, herder] });
    }

    public async Task DisposeAsync()
    {
        await _bed.DisposeAsync();
        await ConnectionPool.DisconnectAsync(_bed.SenderConfig);
        await _server.DisposeAsync();
    }

    private static Dictionary<string, byte[]> Files(string name, string text) => new() { [name] = Encoding.UTF8.GetBytes(text) };

    [Fact]
    public async Task A_minion_runs_on_the_node_and_its_output_file_comes_back()
    {
        var r = await HerderRemote.RunMinionAsync(_bed.SenderConfig, StewardTestBed.NodeName, new HerderMinionRequest
        {
            Environment = "python", Files = Files("main.py", "open('r.txt','w').write('6x7=42')\nprint('done')"), Output = "r.txt",
        }, CancellationToken.None);
        Assert.Equal((StewardTestBed.NodeName, "python", 0, "done\n", true), (r.Node, r.Environment, r.ExitCode, r.Stdout, r.Sandboxed));
        Assert.Equal("6x7=42", Encoding.UTF8.GetString(r.Output!));
        // The node's own environments apply, not the sender's.
        var only = await HerderRemote.RunMinionAsync(_bed.SenderConfig, StewardTestBed.NodeName, new HerderMinionRequest { Environment = "nodeonly" }, CancellationToken.None);
        Assert.Equal("only on node\n", only.Stdout);
    }

    [Fact]
    public async Task The_timeout_bounds_a_remote_minion()
    {
        var r = await HerderRemote.RunMinionAsync(_bed.SenderConfig, StewardTestBed.NodeName, new HerderMinionRequest
        {
            Environment = "bash", Files = Files("main.sh", "sleep 120"), Timeout = TimeSpan.FromSeconds(2),
        }, CancellationToken.None);
        Assert.True(r.TimedOut);
    }

    [Fact]
    public async Task The_nodes_refusals_come_back_with_their_own_error_ids()
    {
        var unknown = await Assert.ThrowsAsync<HerderException>(() => HerderRemote.RunMinionAsync(_bed.SenderConfig, StewardTestBed.NodeName,
            new HerderMinionRequest { Environment = "cobol" }, CancellationToken.None));
        Assert.Equal(HerderFailure.UnknownEnvironment, unknown.Failure);
        Assert.StartsWith($"Node {StewardTestBed.NodeName}: Unknown environment 'cobol'", unknown.Message);
        var slow = await Assert.ThrowsAsync<HerderException>(() => HerderRemote.RunMinionAsync(_bed.SenderConfig, StewardTestBed.NodeName,
            new HerderMinionRequest { Environment = "bash", Timeout = TimeSpan.FromMinutes(5) }, CancellationToken.None));
        Assert.Equal(HerderFailure.InvalidLimit, slow.Failure);
        // Bad file names never leave the sender.
        var bad = await Assert.ThrowsAsync<HerderException>(() => HerderRemote.RunMinionAsync(_bed.SenderConfig, StewardTestBed.NodeName,
            new HerderMinionRequest { Environment = "bash", Files = Files("../x", "") }, CancellationToken.None));
        Assert.Equal(HerderFailure.InvalidFile, bad.Failure);
    }

    [Fact]
    public async Task A_sender_not_allowed_HerderMinion_is_denied_and_nothing_runs()
    {
        var guest = _bed.SenderConfig with
        {
            Destination = StewardTestBed.GuestName,
            Identities = [new RemoteOps.Config.IdentityConfig { Public = _bed.GuestKey.PublicBase58, Private = _bed.GuestKey.ExportSeedBase58(), Verbs = ["*"] }],
            DefaultIdentity = _bed.GuestKey.PublicBase58,
        };
        var marker = Path.Combine(_bed.WorkDirectory, "guest-ran");
        var e = await Assert.ThrowsAsync<HerderException>(() => HerderRemote.RunMinionAsync(guest, StewardTestBed.NodeName,
            new HerderMinionRequest { Environment = "bash", Files = Files("main.sh", $"touch {marker}"), Network = true }, CancellationToken.None));
        Assert.Equal(HerderFailure.RemoteFailed, e.Failure);
        Assert.Contains("Denied", e.Message);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void A_result_larger_than_the_cap_still_parses_without_its_output_file()
    {
        var big = new HerderMinionResult { Environment = "bash", Stdout = new string('x', 5000), OutputName = "o.bin", Output = new byte[5000] };
        var json = HerderRemote.Fit(big, 2000);
        Assert.True(Encoding.UTF8.GetByteCount(json) <= 2000);
        var back = System.Text.Json.JsonSerializer.Deserialize<HerderMinionResult>(json, new System.Text.Json.JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;
        Assert.Null(back.Output);
        Assert.Contains("does not fit", back.Stderr);
        Assert.EndsWith("cut to fit steward.max_output]", back.Stdout);
    }

    /// <summary>Two node agents charging one owner's balance at once, each every second of each of its minions: the
    /// balance drops by exactly what the results say was spent (no compare-and-set update lost).</summary>
    [Fact]
    public async Task Two_agents_spending_for_one_owner_at_once_add_up_exactly()
    {
        static StewardConfig AllowMinions(StewardConfig s) => s with
        {
            Methods = new Dictionary<StewardMethod, IReadOnlyList<string>>(s.Methods) { [StewardMethod.HerderMinion] = [StewardTestBed.SenderName] },
        };
        await using var a = new StewardTestBed(_server.Url, AllowMinions);
        await using var b = new StewardTestBed(_server.Url, AllowMinions);
        var herder = new HerderConfig { TokenIssuers = [a.SenderKey.PublicBase58], LedgerBucket = "hl_" + Guid.NewGuid().ToString("N")[..10] };
        await a.StartAgentAsync(a.NodeConfig with { Sections = [.. a.NodeConfig.Sections, herder] });
        await b.StartAgentAsync(b.NodeConfig with { Sections = [.. b.NodeConfig.Sections, herder] });
        var issuer = a.SenderConfig with { Sections = [.. a.SenderConfig.Sections, herder] };
        var token = await HerderTokenService.IssueAsync(issuer, "shared-owner", 1000, null, CancellationToken.None);

        // Three minions on each agent, all paid by the same owner, all running at once for a few seconds.
        var runs = Enumerable.Range(0, 6).Select(i => HerderRemote.RunMinionAsync((i % 2 == 0 ? a : b).SenderConfig, StewardTestBed.NodeName,
            new HerderMinionRequest { Environment = "bash", Files = Files("main.sh", "sleep 2.5"), Token = token.Token }, CancellationToken.None));
        var results = await Task.WhenAll(runs);

        Assert.All(results, r => Assert.Equal(0, r.ExitCode));
        Assert.All(results, r => Assert.True(r.CreditsSpent >= 2, $"charged {r.CreditsSpent} for {r.Duration}"));
        var left = (await HerderTokenService.InspectAsync(issuer, token.Token, CancellationToken.None)).Credits;
        Assert.Equal(1000 - results.Sum(r => r.CreditsSpent), left);
        await ConnectionPool.DisconnectAsync(a.SenderConfig);
        await ConnectionPool.DisconnectAsync(b.SenderConfig);
        await ConnectionPool.DisconnectAsync(issuer);
    }
}
