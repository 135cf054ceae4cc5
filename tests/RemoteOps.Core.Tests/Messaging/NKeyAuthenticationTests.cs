using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using NATS.Client.Core;
using NATS.NKeys;
using RemoteOps.Config;
using RemoteOps.Messaging;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.NKeys;

/// <summary>A real nats-server checks our NKey signatures: NKey users, and .creds files in operator (JWT) mode.</summary>
public class NKeyAuthenticationTests
{
    [Fact]
    public async Task A_seed_file_authenticates_an_nkey_user_and_another_seed_is_refused()
    {
        using var user = KeyPair.CreatePair(PrefixByte.User);
        using var stranger = KeyPair.CreatePair(PrefixByte.User);
        await using var server = await NatsServer.StartAsync($"authorization {{ users = [ {{ nkey: \"{user.GetPublicKey()}\" }} ] }}", jetStream: false);
        using var dir = new TempDir();
        File.WriteAllText(dir.File("user.nk"), user.GetSeed() + "\n");
        File.WriteAllText(dir.File("stranger.nk"), stranger.GetSeed() + "\n");

        var config = new RemoteOpsConfig { Servers = [server.Url], NkeySeedFile = dir.File("user.nk") };
        try
        {
            await RoundTripAsync(await ConnectionPool.GetAsync(config));
        }
        finally
        {
            await ConnectionPool.DisconnectAsync(config);
        }

        var refused = new RemoteOpsConfig { Servers = [server.Url], NkeySeedFile = dir.File("stranger.nk") };
        try
        {
            await Assert.ThrowsAsync<RemoteOpsConnectionException>(async () => await ConnectionPool.GetAsync(refused));
        }
        finally
        {
            await ConnectionPool.DisconnectAsync(refused);
        }
    }

    [Fact]
    public async Task A_creds_file_authenticates_in_operator_mode_and_a_foreign_user_is_refused()
    {
        using var op = KeyPair.CreatePair(PrefixByte.Operator);
        using var account = KeyPair.CreatePair(PrefixByte.Account);
        using var user = KeyPair.CreatePair(PrefixByte.User);
        using var otherAccount = KeyPair.CreatePair(PrefixByte.Account);

        var unlimited = new Dictionary<string, object> { ["subs"] = -1, ["data"] = -1, ["payload"] = -1, ["imports"] = -1, ["exports"] = -1, ["wildcards"] = true, ["conn"] = -1, ["leaf"] = -1 };
        var operatorJwt = Jwt(op, op.GetPublicKey(), "operator", new() { ["type"] = "operator", ["version"] = 2 });
        var accountJwt = Jwt(op, account.GetPublicKey(), "app", new() { ["limits"] = unlimited, ["type"] = "account", ["version"] = 2 });
        var userClaims = new Dictionary<string, object> { ["pub"] = new { }, ["sub"] = new { }, ["subs"] = -1, ["data"] = -1, ["payload"] = -1, ["type"] = "user", ["version"] = 2 };
        var userJwt = Jwt(account, user.GetPublicKey(), "alice", userClaims);
        // Signed by an account the server does not know: must be refused.
        var foreignJwt = Jwt(otherAccount, user.GetPublicKey(), "mallory", userClaims);

        await using var server = await NatsServer.StartAsync(
            $"operator: {operatorJwt}\nresolver: MEMORY\nresolver_preload: {{ {account.GetPublicKey()}: {accountJwt} }}", jetStream: false);
        using var dir = new TempDir();
        File.WriteAllText(dir.File("alice.creds"), Creds(userJwt, user.GetSeed()));
        File.WriteAllText(dir.File("mallory.creds"), Creds(foreignJwt, user.GetSeed()));

        var config = new RemoteOpsConfig { Servers = [server.Url], Credentials = dir.File("alice.creds") };
        try
        {
            await RoundTripAsync(await ConnectionPool.GetAsync(config));
        }
        finally
        {
            await ConnectionPool.DisconnectAsync(config);
        }

        var refused = new RemoteOpsConfig { Servers = [server.Url], Credentials = dir.File("mallory.creds") };
        try
        {
            await Assert.ThrowsAsync<RemoteOpsConnectionException>(async () => await ConnectionPool.GetAsync(refused));
        }
        finally
        {
            await ConnectionPool.DisconnectAsync(refused);
        }
    }

    [Theory]
    [InlineData("# no seed here\n", "no NKey seed")]
    [InlineData("SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VA\n", "checksum")]
    [InlineData("SU0ACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY\n", "base32")]
    [InlineData("UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4\nS\n", "not a valid NKey seed")]
    public async Task A_bad_seed_file_is_one_clear_connection_error(string content, string why)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("bad.nk"), content);
        var config = new RemoteOpsConfig { Servers = ["nats://127.0.0.1:1"], NkeySeedFile = dir.File("bad.nk") };
        var e = await Assert.ThrowsAsync<RemoteOpsConnectionException>(async () => await ConnectionPool.GetAsync(config));
        Assert.Contains(why, e.Message);
        Assert.Contains("bad.nk", e.Message);
    }

    private static async Task RoundTripAsync(NatsConnection connection)
    {
        await using var sub = await connection.SubscribeCoreAsync<string>("auth.check");
        await connection.PingAsync();
        await connection.PublishAsync("auth.check", "hello");
        var msg = await sub.Msgs.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("hello", msg.Data);
    }

    /// <summary>A NATS JWT (nats-io/jwt v2): header.claims, Ed25519-signed by <paramref name="issuer"/>.</summary>
    private static string Jwt(KeyPair issuer, string subject, string name, Dictionary<string, object> nats)
    {
        var claims = new Dictionary<string, object>
        {
            ["iat"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["iss"] = issuer.GetPublicKey(),
            ["name"] = name,
            ["sub"] = subject,
            ["nats"] = nats,
        };
        // jti: a hash of the claims without it, base32 (as nats-io/jwt computes its id).
        claims["jti"] = Base32(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(claims)));
        var header = B64Url("""{"typ":"JWT","alg":"ed25519-nkey"}"""u8.ToArray());
        var body = B64Url(JsonSerializer.SerializeToUtf8Bytes(claims));
        var sig = new byte[64];
        issuer.Sign(Encoding.ASCII.GetBytes(header + "." + body), sig);
        return header + "." + body + "." + B64Url(sig);
    }

    private static string Creds(string jwt, string seed) => $"""
        -----BEGIN NATS USER JWT-----
        {jwt}
        ------END NATS USER JWT------

        ************************* IMPORTANT *************************
        NKEY Seed printed below can be used to sign and prove identity.
        NKEYs are sensitive and should be treated as secrets.

        -----BEGIN USER NKEY SEED-----
        {seed}
        ------END USER NKEY SEED------

        *************************************************************

        """;

    private static string B64Url(byte[] data) => Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Base32(byte[] data)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var sb = new StringBuilder();
        int bits = 0, value = 0;
        foreach (var b in data)
        {
            value = (value << 8) | b;
            bits += 8;
            while (bits >= 5) { sb.Append(alphabet[(value >> (bits - 5)) & 31]); bits -= 5; }
        }
        if (bits > 0) sb.Append(alphabet[(value << (5 - bits)) & 31]);
        return sb.ToString();
    }
}
