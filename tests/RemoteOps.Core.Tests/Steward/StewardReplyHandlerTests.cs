using RemoteOps.Steward;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>Where a waiting session's streamed lines and replies go, by reply method (no server needed).</summary>
public class StewardReplyHandlerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("steward-replies-").FullName;

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    private StewardRecord Record(StewardMethod? reply, string file, StewardStatus status = StewardStatus.Succeeded) => new()
    {
        MessageId = "m" + file, Node = "com.a.b", Method = StewardMethod.CliCommandCont, Sender = "k", Status = status,
        Created = DateTimeOffset.UnixEpoch, Updated = DateTimeOffset.UnixEpoch, Expires = DateTimeOffset.UnixEpoch,
        ReplyMethod = reply, Directory = _dir, FileName = file,
    };

    private static StewardOutput Line(long n, string text) => new() { Node = "com.a.b", MessageId = "m", Sequence = n, Line = text };

    [Fact]
    public async Task Lines_go_to_the_console_or_a_file_as_they_come_or_wait_for_the_reply()
    {
        var section = new StewardConfig { DataDirectory = _dir, MaxOutput = 1024 };
        var handler = new StewardReplyHandler(section, runReplyMethods: true);

        Assert.True(await handler.OnLineAsync(Record(null, "none"), Line(1, "a"), default));
        Assert.True(await handler.OnLineAsync(Record(StewardMethod.ToConsole, "console"), Line(1, "a"), default));
        Assert.Null(await handler.OnReplyAsync(Record(StewardMethod.ToConsole, "console"), default));

        var append = Record(StewardMethod.ToFileAppend, "append.out");
        Assert.False(await handler.OnLineAsync(append, Line(1, "one"), default));
        Assert.Equal("one\n", File.ReadAllText(Path.Combine(_dir, "append.out")));
        Assert.False(await handler.OnLineAsync(append, Line(2, "two"), default));
        Assert.NotNull(await handler.OnReplyAsync(append, default));
        Assert.Equal("one\ntwo\n", File.ReadAllText(Path.Combine(_dir, "append.out")));

        var whole = Record(StewardMethod.ToFile, "whole.out");
        Assert.False(await handler.OnLineAsync(whole, Line(1, "x"), default));
        Assert.False(File.Exists(Path.Combine(_dir, "whole.out")));
        Assert.False(await handler.OnLineAsync(whole, Line(2, new string('y', 2000)), default)); // past max_output: not kept
        Assert.NotNull(await handler.OnReplyAsync(whole, default));
        Assert.Equal("x\n", File.ReadAllText(Path.Combine(_dir, "whole.out")));
    }

    [Fact]
    public async Task A_session_that_runs_no_reply_methods_writes_every_line_and_runs_nothing()
    {
        var handler = new StewardReplyHandler(new StewardConfig { DataDirectory = _dir }, runReplyMethods: false);
        var record = Record(StewardMethod.ToFile, "never.out");
        Assert.True(await handler.OnLineAsync(record, Line(1, "a"), default));
        Assert.Null(await handler.OnReplyAsync(record, default));
        Assert.Null(await handler.OnReplyAsync(Record(StewardMethod.ToFile, "failed.out", StewardStatus.Denied), default));
        Assert.False(File.Exists(Path.Combine(_dir, "never.out")));
    }
}
