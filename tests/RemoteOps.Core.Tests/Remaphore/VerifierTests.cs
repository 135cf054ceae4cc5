using System.Text;
using RemoteOps.Config;
using RemoteOps.Identity;
using RemoteOps.Messaging;
using RemoteOps.Remaphore;

namespace RemoteOps.Core.Tests.Remaphore;

public class VerifierTests : IDisposable
{
    private readonly SigningKey _peer = SigningKey.Generate();
    private readonly SigningKey _stranger = SigningKey.Generate();
    private readonly RemoteOpsConfig _config;

    public VerifierTests()
    {
        _config = new RemoteOpsConfig
        {
            Destination = "com.crypto.us.left",
            AllowSkew = TimeSpan.FromSeconds(5),
            MaxPayload = 100,
            Peers = [new PeerConfig { Destination = "com.crypto.us.right", Public = _peer.PublicBase58, Verbs = ["ping", "deploy"] }],
        };
    }

    public void Dispose()
    {
        _peer.Dispose();
        _stranger.Dispose();
    }

    private RemaphoreVerifier Verifier(ReplayGuard? guard = null) => new(_config, guard ?? new ReplayGuard(_config.AllowSkew));

    private static byte[] Message(SigningKey key, string destination = "com.crypto.**", string verb = "ping", string payload = "hi", long? time = null, bool request = false) =>
        RemaphoreWire.Encode(key, destination, time ?? RemaphoreWire.NowNanos(), RemaphoreWire.UuidBytes(null), verb, request, payload);

    private static long Now => RemaphoreWire.NowNanos();

    [Fact]
    public void A_good_message_is_accepted()
    {
        var v = Verifier().VerifyMessage(Message(_peer), "com.crypto.us.left", Now);
        Assert.True(v.Accepted, v.Reason);
        Assert.Equal("com.crypto.us.right", v.Peer!.Destination);
    }

    [Fact]
    public void Garbage_is_a_bad_encoding()
    {
        var v = Verifier().VerifyMessage([0xff, 0x00, 0x2c, 0x41], "com.crypto.us.left", Now);
        Assert.Equal(DropReason.BadEncoding, v.Drop);
        Assert.Contains("bad encoding", v.Reason);
    }

    [Fact]
    public void A_tampered_message_is_a_bad_signature()
    {
        var raw = Message(_peer, payload: "deploy v1");
        raw[^1] = (byte)'2';
        var v = Verifier().VerifyMessage(raw, "com.crypto.us.left", Now);
        Assert.Equal(DropReason.BadSignature, v.Drop);
        Assert.Contains("bad signature", v.Reason);
    }

    [Fact]
    public void The_signature_is_checked_before_anything_else_is_believed()
    {
        // Tampered AND from a stranger AND a forbidden verb AND the wrong destination AND skewed: the signature speaks first.
        var raw = Message(_stranger, destination: "org.other", verb: "rm", time: Now - TimeSpan.FromHours(1).Ticks * 100);
        raw[^1] ^= 1;
        Assert.Equal(DropReason.BadSignature, Verifier().VerifyMessage(raw, "com.crypto.us.left", Now).Drop);
    }

    [Fact]
    public void An_unknown_sender_is_dropped()
    {
        var v = Verifier().VerifyMessage(Message(_stranger), "com.crypto.us.left", Now);
        Assert.Equal(DropReason.UnknownSender, v.Drop);
        Assert.Contains(_stranger.PublicBase58, v.Reason);
    }

    [Fact]
    public void A_verb_the_peer_may_not_use_is_dropped()
    {
        var v = Verifier().VerifyMessage(Message(_peer, verb: "reboot"), "com.crypto.us.left", Now);
        Assert.Equal(DropReason.ForbiddenVerb, v.Drop);
        Assert.Contains("'reboot'", v.Reason);
    }

    [Fact]
    public void Another_destination_is_dropped_unless_any_destination()
    {
        var raw = Message(_peer, destination: "com.crypto.eu.**");
        Assert.Equal(DropReason.WrongDestination, Verifier().VerifyMessage(raw, "com.crypto.us.left", Now).Drop);
        Assert.True(Verifier().VerifyMessage(raw, null, Now).Accepted);
    }

    [Fact]
    public void A_waiter_naming_a_pattern_takes_messages_sent_to_exactly_that_pattern()
    {
        Assert.True(Verifier().VerifyMessage(Message(_peer, destination: "com.crypto.*.left"), "com.crypto.*.left", Now).Accepted);
        Assert.Equal(DropReason.WrongDestination, Verifier().VerifyMessage(Message(_peer, destination: "com.crypto.**"), "com.crypto.*.left", Now).Drop);
    }

    [Theory]
    [InlineData(-60)]
    [InlineData(60)]
    public void A_skewed_clock_is_dropped(int seconds)
    {
        var v = Verifier().VerifyMessage(Message(_peer, time: Now + seconds * 1_000_000_000L), "com.crypto.us.left", Now);
        Assert.Equal(DropReason.ClockSkew, v.Drop);
        Assert.Contains("allow_skew 5s", v.Reason);
    }

    [Fact]
    public void Extreme_times_do_not_overflow()
    {
        Assert.Equal(DropReason.ClockSkew, Verifier().VerifyMessage(Message(_peer, time: long.MinValue), "com.crypto.us.left", Now).Drop);
        Assert.Equal(DropReason.ClockSkew, Verifier().VerifyMessage(Message(_peer, time: long.MaxValue), "com.crypto.us.left", Now).Drop);
    }

    [Fact]
    public void A_replay_is_dropped()
    {
        var raw = Message(_peer);
        var verifier = Verifier();
        Assert.True(verifier.VerifyMessage(raw, "com.crypto.us.left", Now).Accepted);
        var v = verifier.VerifyMessage(raw, "com.crypto.us.left", Now);
        Assert.Equal(DropReason.Replay, v.Drop);
    }

    [Fact]
    public void A_later_waiter_does_not_take_a_replay_of_a_message_seen_before_it_began()
    {
        var raw = Message(_peer);
        Assert.True(Verifier().VerifyMessage(raw, "com.crypto.us.left", Now).Accepted);
        var later = Verifier();
        Assert.Equal(DropReason.Replay, later.VerifyMessage(raw, "com.crypto.us.left", Now).Drop);
    }

    [Fact]
    public void Two_waiters_listening_at_once_both_take_a_message()
    {
        var a = Verifier();
        var b = Verifier();
        var raw = Message(_peer);
        Assert.True(a.VerifyMessage(raw, "com.crypto.us.left", Now).Accepted);
        Assert.True(b.VerifyMessage(raw, "com.crypto.us.left", Now).Accepted);
        Assert.Equal(DropReason.Replay, b.VerifyMessage(raw, "com.crypto.us.left", Now).Drop);
    }

    [Fact]
    public void An_oversize_payload_is_dropped()
    {
        var v = Verifier().VerifyMessage(Message(_peer, payload: new string('x', 101)), "com.crypto.us.left", Now);
        Assert.Equal(DropReason.Oversize, v.Drop);
        Assert.Contains("max_payload 100", v.Reason);
    }

    [Fact]
    public void Replies_need_a_known_peer_but_no_verb_permission_and_must_not_be_requests()
    {
        var verifier = Verifier();
        Assert.True(verifier.VerifyReply(Message(_peer, destination: "", verb: "reply", payload: "0,ok"), Now).Accepted);
        Assert.Equal(DropReason.NotAReply, verifier.VerifyReply(Message(_peer, destination: "", verb: "reply", request: true), Now).Drop);
        Assert.Equal(DropReason.UnknownSender, verifier.VerifyReply(Message(_stranger, destination: "", verb: "reply"), Now).Drop);
    }

    [Fact]
    public void Latched_messages_may_be_old_but_not_from_the_future_and_are_not_replays()
    {
        var verifier = Verifier();
        var old = Message(_peer, time: Now - TimeSpan.FromMinutes(30).Ticks * 100);
        Assert.True(verifier.VerifyLatched(old, "com.crypto.us.left", Now).Accepted);
        Assert.True(verifier.VerifyLatched(old, "com.crypto.us.left", Now).Accepted);
        var future = Message(_peer, time: Now + TimeSpan.FromMinutes(30).Ticks * 100);
        Assert.Equal(DropReason.ClockSkew, verifier.VerifyLatched(future, "com.crypto.us.left", Now).Drop);
    }

    [Fact]
    public void Attacker_text_in_reasons_is_escaped_and_bounded()
    {
        var v = Verifier().VerifyMessage(Message(_peer, verb: "evil\u001b[31m" + new string('v', 200)), "com.crypto.us.left", Now);
        Assert.Equal(DropReason.ForbiddenVerb, v.Drop);
        Assert.DoesNotContain('\u001b', v.Reason);
        Assert.True(v.Reason.Length < 300, v.Reason);
    }

    [Fact]
    public void Reply_payloads_parse_as_exit_code_and_output()
    {
        Assert.Equal((3, "a,b\nc"), RemaphoreRequest.ParseReply("3,a,b\nc"));
        Assert.Equal((-1, ""), RemaphoreRequest.ParseReply("-1,"));
        Assert.Equal(((int?)null, ""), RemaphoreRequest.ParseReply("NO_DATA"));
        Assert.Equal(((int?)null, "whatever"), RemaphoreRequest.ParseReply("whatever"));
    }

    [Fact]
    public void Text_output_frames_multi_line_replies()
    {
        var one = RemaphoreText.Format(new RemaphoreResponse { Destination = "com.a", Payload = "0,ok\n" }, "sep");
        Assert.Equal(["com.a,0,ok"], one);
        var multi = RemaphoreText.Format(new RemaphoreResponse { Destination = "com.a", Payload = "0,line1\nline2\n" }, "sep");
        Assert.Equal(["--> sep", "com.a,0,line1", "line2", "--< sep"], multi);
    }
}
