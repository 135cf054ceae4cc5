using System.Collections;
using System.Management.Automation;
using System.Text;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>Each kind of bad input ends in a logged drop (-Verbose says why), nothing acts on it, and the waiter still
/// takes the good message that follows.</summary>
public class RemaphoreBadInputTests(RemaphoreServerFixture nats) : IClassFixture<RemaphoreServerFixture>
{
    private const long Second = 1_000_000_000L;

    public enum Bad { Garbage, TamperedSignature, Replay, SkewedClock, UnknownPeer, ForbiddenVerb, OversizePayload, WrongDestination, NotUtf8 }

    [Theory]
    [InlineData(Bad.Garbage, "bad encoding")]
    [InlineData(Bad.NotUtf8, "bad encoding")]
    [InlineData(Bad.TamperedSignature, "bad signature")]
    [InlineData(Bad.Replay, "replay")]
    [InlineData(Bad.SkewedClock, "outside allow_skew")]
    [InlineData(Bad.UnknownPeer, "unknown sender")]
    [InlineData(Bad.ForbiddenVerb, "may not use verb 'reboot'")]
    [InlineData(Bad.OversizePayload, "exceeds max_payload 1000")]
    [InlineData(Bad.WrongDestination, "does not match 'com.test.b'")]
    public async Task Bad_input_is_dropped_with_a_reason_and_the_waiter_keeps_working(Bad kind, string reason)
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var ka = fleet.NewKey();
        var kb = fleet.NewKey();
        var stranger = fleet.NewKey();
        var b = fleet.Node("b", "com.test.b", [("com.test.a", ka.Public, "ping, deploy")], key: kb, extra: "max_payload: 1000\n");

        var now = TestWire.NowNanos;
        byte[][] bad = kind switch
        {
            Bad.Garbage => [[0x00, 0xff, 0x2c, 0x2c, 0x41], Encoding.UTF8.GetBytes("hello, remaphore"), []],
            Bad.NotUtf8 => [Replace(TestWire.Message(ka, "com.test.b", "ping", "evil", "u1", now), "evil", [0xc3, 0x28, 0xff, 0xfe])],
            Bad.TamperedSignature => [Replace(TestWire.Message(ka, "com.test.b", "ping", "deploy v1", "u1", now), "v1", "v2"u8.ToArray())],
            Bad.Replay => [],
            Bad.SkewedClock => [TestWire.Message(ka, "com.test.b", "ping", "late", "u1", now - 3600 * Second), TestWire.Message(ka, "com.test.b", "ping", "early", "u1", now + 3600 * Second)],
            Bad.UnknownPeer => [TestWire.Message(stranger, "com.test.b", "ping", "who", "u1", now)],
            Bad.ForbiddenVerb => [TestWire.Message(ka, "com.test.b", "reboot", "now", "u1", now)],
            Bad.OversizePayload => [TestWire.Message(ka, "com.test.b", "ping", new string('x', 1001), "u1", now)],
            Bad.WrongDestination => [TestWire.Message(ka, "com.test.c", "ping", "not for b", "u1", now)],
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        if (kind == Bad.Replay)
        {
            // A good message is taken by a first waiter; the same bytes sent again are a replay for a waiter started
            // after they were first seen (a waiter that saw them twice is covered by the core tests).
            var original = TestWire.Message(ka, "com.test.b", "deploy", "first", "u1", now);
            using var first = new BackgroundPwsh("param($c) Wait-Remaphore -ConfigPath $c -Timeout 60 -Verb deploy -Once", new Hashtable { ["c"] = b.ConfigPath });
            await first.Ready;
            await fleet.PublishRawAsync(original);
            Assert.Equal("first", Assert.Single(await first.CompletedAsync()).Properties["Payload"].Value);
            bad = [original, original];
        }
        // The command would leave a file behind if anything acted on the bad message.
        var marker = Path.Combine(fleet.Directory, "acted");
        using var waiter = new BackgroundPwsh("param($c, $m) Wait-Remaphore -ConfigPath $c -Timeout 60 -Verb ping, deploy, reboot -Once -Command sh, -c, 'echo \"$2\" >> \"$0\"', $m",
            new Hashtable { ["c"] = b.ConfigPath, ["m"] = marker });
        // sh -c 'script' <marker> <verb> <payload>: $0 is the marker file, $2 the payload.
        await waiter.Ready;

        await fleet.PublishRawAsync(bad);
        await fleet.PublishRawAsync(TestWire.Message(ka, "com.test.b", "ping", "good", "u2"));

        var output = await waiter.CompletedAsync();
        Assert.Empty(waiter.Errors);
        var m = Assert.Single(output);
        Assert.Equal("good", m.Properties["Payload"].Value);
        // Only the good message was acted on.
        Assert.Equal("good", File.ReadAllText(marker).Trim());
        var drops = waiter.Verbose.Where(v => v.StartsWith("Dropped", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(drops);
        Assert.All(drops, d => Assert.Contains(reason, d));
        Assert.Equal(kind == Bad.Garbage ? 3 : kind is Bad.SkewedClock or Bad.Replay ? 2 : 1, drops.Count);
    }

    private static byte[] Replace(byte[] raw, string what, byte[] with)
    {
        var text = Encoding.UTF8.GetString(raw);
        int at = text.LastIndexOf(what, StringComparison.Ordinal);
        var before = Encoding.UTF8.GetBytes(text[..at]);
        var after = Encoding.UTF8.GetBytes(text[(at + what.Length)..]);
        return [.. before, .. with, .. after];
    }
}
