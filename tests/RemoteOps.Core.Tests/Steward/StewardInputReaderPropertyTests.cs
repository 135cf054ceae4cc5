using System.Text;
using FsCheck;
using FsCheck.Fluent;
using RemoteOps.Steward;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>The input API's framing and parsing: a document split anywhere reads back whole; anything else is a
/// <see cref="StewardInputException"/> with a code, never another exception.</summary>
public class StewardInputReaderPropertyTests
{
    private static readonly FsCheck.Config Cases = FsCheck.Config.QuickThrowOnFailure.WithMaxTest(300);

    /// <summary>A stream that hands out its bytes in the given read sizes, then never ends (as netcat's side stays open).</summary>
    private sealed class Trickle(byte[] data, int[] sizes) : Stream
    {
        private int _at, _read;
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            if (_at >= data.Length) return new ValueTask<int>(Task.Delay(Timeout.Infinite, ct).ContinueWith(_ => 0, ct));
            var n = Math.Min(Math.Min(buffer.Length, Math.Max(1, sizes[_read++ % sizes.Length])), data.Length - _at);
            data.AsSpan(_at, n).CopyTo(buffer.Span);
            _at += n;
            return ValueTask.FromResult(n);
        }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static string Message(string node, string arg) =>
        System.Text.Json.JsonSerializer.Serialize(new { toNode = node, method = "REQCliCommand", methodArgs = new[] { "echo", arg }, ACKTimeout = 5 });

    [Fact]
    public void A_document_split_into_any_reads_is_read_whole_without_an_end_of_input()
    {
        var gen =
            from count in Gen.Choose(1, 5)
            from args in Gen.ArrayOf(ArbMap.Default.GeneratorFor<string>().Where(s => s is not null && !s.Any(char.IsSurrogate)), count)
            from sizes in Gen.ArrayOf(Gen.Choose(1, 40), 8)
            from spaces in Gen.Choose(0, 3)
            select (args, sizes, spaces);
        Check.One(Cases, Prop.ForAll(gen.ToArbitrary(), t =>
        {
            var text = new string(' ', t.spaces) + "[\n" + string.Join(",\n", t.args.Select(a => Message("com.a.b", a))) + "\n]";
            var bytes = Encoding.UTF8.GetBytes(text);
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var read = StewardInputReader.ReadDocumentAsync(new Trickle(bytes, t.sizes), StewardInputReader.MaxDocumentBytes, limit.Token).GetAwaiter().GetResult();
            Assert.Equal(text, Encoding.UTF8.GetString(read));
            var parsed = StewardInputReader.Parse(read);
            Assert.Equal(t.args.Length, parsed.Count);
            Assert.Equal(t.args, parsed.Select(p => p.MethodArgs[1]));
        }));
    }

    [Fact]
    public void Any_bytes_are_a_document_or_an_input_error_with_a_code()
    {
        var text = ArbMap.Default.GeneratorFor<string>().Select(s => Encoding.UTF8.GetBytes(s ?? ""));
        var jsonish = Gen.ArrayOf(Gen.Elements("[", "]", "{", "}", "\"toNode\"", ":", ",", "\"com.a.b\"", "\"method\"", "\"Ping\"", "1", "null", " ", "\"", "\\", "/*", "*/", "\u00e9", "\uFEFF"))
            .Select(parts => Encoding.UTF8.GetBytes(string.Concat(parts)));
        var bytes = Gen.OneOf(text, jsonish, Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>()));
        Check.One(Cases, Prop.ForAll(bytes.ToArbitrary(), b =>
        {
            try
            {
                var document = StewardInputReader.ReadDocument(b);
                _ = StewardInputReader.Parse(document);
            }
            catch (StewardInputException e)
            {
                Assert.True(Enum.IsDefined(e.Error));
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
            }
        }));
    }

    [Fact]
    public async Task The_stream_reader_refuses_what_the_whole_reader_refuses()
    {
        async Task<StewardInputError> Code(string text, bool ends = true)
        {
            var stream = ends ? (Stream)new MemoryStream(Encoding.UTF8.GetBytes(text)) : new Trickle(Encoding.UTF8.GetBytes(text), [3]);
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var e = await Assert.ThrowsAsync<StewardInputException>(() => StewardInputReader.ReadDocumentAsync(stream, 64, limit.Token));
            return e.Error;
        }
        Assert.Equal(StewardInputError.InvalidJson, await Code("[{\"a\": }", ends: false));
        Assert.Equal(StewardInputError.InvalidJson, await Code("[{\"a\": 1"));
        Assert.Equal(StewardInputError.Empty, await Code(" \n "));
        Assert.Equal(StewardInputError.TooLarge, await Code("[\"" + new string('x', 100), ends: false));
        Assert.Equal(StewardInputError.TooManyMessages,
            Assert.Throws<StewardInputException>(() => StewardInputReader.Parse(Encoding.UTF8.GetBytes("[" + string.Join(",", Enumerable.Repeat("{}", 1001)) + "]"))).Error);
        Assert.Equal(StewardInputError.InvalidMessage,
            Assert.Throws<StewardInputException>(() => StewardInputReader.Parse("""[{"toNode":"com.a.b","method":"Ping","retries":"three"}]"""u8.ToArray())).Error);
        Assert.Equal(StewardInputError.InvalidJson, Assert.Throws<StewardInputException>(() => StewardInputReader.Parse([0xC3, 0x28])).Error);
    }
}
