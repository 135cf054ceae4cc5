using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RemoteOps.Identity;
using RemoteOps.Remaphore;

namespace RemoteOps.Core.Tests.Remaphore;

public class RemaphoreWirePropertyTests
{
    private static readonly SigningKey Key = SigningKey.FromSeed(new byte[32]);

    private static readonly Gen<string> Field = FuzzText.Text(12).Select(s => new string(s.Where(c => c != ',' && !char.IsSurrogate(c)).ToArray()));

    // Genuine messages with random fields (the payload may hold commas and anything else).
    private static readonly Gen<byte[]> Genuine =
        from destination in Field
        from hi in Gen.Choose(int.MinValue, int.MaxValue)
        from lo in Gen.Choose(int.MinValue, int.MaxValue)
        from uuid in FuzzText.Bytes(12)
        from verb in Field
        from request in Gen.Elements(true, false)
        from payload in FuzzText.Text(40).Select(s => new string(s.Where(c => !char.IsSurrogate(c)).ToArray()))
        select RemaphoreWire.Encode(Key, destination, (long)hi << 32 | (uint)lo, uuid, verb, request, payload);

    private static Gen<byte[]> MutateBytes(byte[] raw) =>
        from kind in Gen.Choose(0, 3)
        from at in Gen.Choose(0, raw.Length)
        from length in Gen.Choose(0, Math.Min(6, raw.Length - at))
        from insert in Gen.OneOf(FuzzText.Bytes(4), Gen.Elements(new byte[][] { [(byte)','], [(byte)'-'], [0], [0xff], [0xc3], [(byte)'Q'], [(byte)'0'] }))
        select Edit(raw, kind, at, length, insert);

    private static byte[] Edit(byte[] raw, int kind, int at, int length, byte[] insert) => kind switch
    {
        0 => [.. raw[..at], .. insert, .. raw[at..]],
        1 => [.. raw[..at], .. raw[(at + length)..]],
        2 => [.. raw[..at], .. insert, .. raw[(at + length)..]],
        _ => [.. raw[..(at + length)], .. raw[at..]],
    };

    private static readonly Gen<byte[]> Inputs = Gen.OneOf(
        FuzzText.Bytes(300),
        Genuine,
        Genuine.SelectMany(MutateBytes),
        Genuine.SelectMany(MutateBytes).SelectMany(MutateBytes).SelectMany(MutateBytes));

    [Property(MaxTest = 1000)]
    public Property TryDecode_never_throws_and_a_decoded_message_re_encodes_to_the_same_bytes() =>
        Prop.ForAll(Inputs.ToArbitrary(), raw =>
        {
            if (!RemaphoreWire.TryDecode(raw, out var m, out var error))
            {
                Assert.NotEmpty(error);
                return;
            }
            var pre = RemaphoreWire.PreMessage(m.Destination, m.TimeNanos, m.Uuid, m.Verb, m.RequestReply, m.Payload);
            var again = Encoding.ASCII.GetBytes(Base58.Encode(m.SenderKey) + "," + Base58.Encode(m.Signature) + ",").Concat(pre).ToArray();
            Assert.Equal(raw, again);
            Assert.Equal(m.SenderBase58, Base58.Encode(m.SenderKey));
            Assert.Equal(Encoding.UTF8.GetByteCount(m.Payload), m.PayloadBytes);
        });

    [Property(MaxTest = 300)]
    public Property A_genuine_message_decodes_and_verifies() =>
        Prop.ForAll(Genuine.ToArbitrary(), raw =>
        {
            Assert.True(RemaphoreWire.TryDecode(raw, out var m, out var error), error);
            Assert.True(SigningKey.Verify(m.SenderKey, m.SignedBytes, m.Signature));
        });
}
