using RemoteOps.Config;
using RemoteOps.Messaging;

namespace RemoteOps.Core.Tests.Config;

/// <summary>inbox_prefix: a connection's reply inboxes, so that per-user NATS permissions can keep each user to its own
/// (examples/steward/nats-permissions.conf; its use on a real server is in StewardPermissionTests).</summary>
public class InboxPrefixTests
{
    private static RemoteOpsConfig Parse(string yaml) => ConfigLoader.Parse(yaml, "/cfg/config.yaml");

    [Fact]
    public void The_default_is_NATSs_own()
    {
        var config = Parse("servers: [nats://127.0.0.1:4222]\n");
        Assert.Null(config.InboxPrefix);
        Assert.Equal("_INBOX", ConnectionPool.BuildOptions(config).InboxPrefix);
    }

    [Theory]
    [InlineData("_INBOX_web1")]
    [InlineData("_INBOX.web1")]
    [InlineData("inbox-1")]
    public void A_prefix_reaches_the_connection_and_keeps_it_apart(string prefix)
    {
        var config = Parse($"servers: [nats://127.0.0.1:4222]\ninbox_prefix: {prefix}\n");
        Assert.Equal(prefix, config.InboxPrefix);
        Assert.Equal(prefix, ConnectionPool.BuildOptions(config).InboxPrefix);
        // Two configs that differ only by prefix never share a pooled connection.
        Assert.NotEqual(Parse("servers: [nats://127.0.0.1:4222]\n").ConnectionKey, config.ConnectionKey);
    }

    [Theory]
    [InlineData("\"_INBOX.>\"")]
    [InlineData("_INBOX.*")]
    [InlineData("\"a b\"")]
    [InlineData("a..b")]
    [InlineData(".a")]
    [InlineData("\"\"")]
    [InlineData("[a, b]")]
    public void A_prefix_that_is_not_a_subject_is_refused_naming_the_key(string value)
    {
        var e = Assert.Throws<ConfigException>(() => Parse($"servers: [nats://127.0.0.1:4222]\ninbox_prefix: {value}\n"));
        Assert.Equal("inbox_prefix", e.Key);
    }
}
