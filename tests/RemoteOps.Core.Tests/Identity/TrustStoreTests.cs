using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Seaport;

namespace RemoteOps.Core.Tests.Identity;

public class TrustStoreTests : IDisposable
{
    private readonly SigningKey _a = SigningKey.Generate();
    private readonly SigningKey _b = SigningKey.Generate();

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
    }

    [Fact]
    public void Peers_are_found_by_key_and_the_first_listing_of_a_key_decides_its_verbs()
    {
        var trust = new TrustStore([
            new PeerConfig { Destination = "com.a", Public = _a.PublicBase58, Verbs = ["ping"] },
            new PeerConfig { Destination = "com.a2", Public = _a.PublicBase58, Verbs = ["*"] },
        ]);
        var peer = trust.Find(_a.PublicBase58)!;
        Assert.Equal("com.a", peer.Destination);
        Assert.True(peer.MayUse("ping"));
        Assert.False(peer.MayUse("reboot"));
        Assert.Null(trust.Find(_b.PublicBase58));
        Assert.Equal(2, trust.Peers.Count);
    }

    [Fact]
    public void A_peer_whose_key_is_not_a_key_is_refused_with_its_line()
    {
        var e = Assert.Throws<IdentityException>(() => new TrustStore([new PeerConfig { Destination = "com.x", Public = "not-a-key", Line = 7 }]));
        Assert.Contains("line 7", e.Message);
    }

    [Fact]
    public void A_scope_nobody_granted_is_open_and_a_granted_scope_admits_only_its_keys()
    {
        var open = new TrustStore([]);
        Assert.True(open.IsAuthorized("seaport", _b.PublicBase58));
        Assert.Empty(open.Granted("seaport"));

        var limited = new TrustStore([], [KeyValuePair.Create("seaport", (IReadOnlyList<string>)[_a.PublicBase58])]);
        Assert.True(limited.IsAuthorized("seaport", _a.PublicBase58));
        Assert.False(limited.IsAuthorized("seaport", _b.PublicBase58));
        Assert.True(limited.IsAuthorized("another-scope", _b.PublicBase58));
    }

    [Fact]
    public void Seaport_authorized_in_the_config_file_is_the_seaport_scope_of_the_config_trust_store()
    {
        var config = ConfigLoader.Parse($"seaport:\n  authorized: [{_a.PublicBase58}]\n", "/tmp/trust.yaml");
        var trust = TrustStore.For(config);
        Assert.True(trust.IsAuthorized(SeaportEntryCodec.TrustScope, _a.PublicBase58));
        Assert.False(trust.IsAuthorized(SeaportEntryCodec.TrustScope, _b.PublicBase58));
        Assert.Same(trust, TrustStore.For(config));
    }
}
