using FsCheck;
using FsCheck.Fluent;
using RemoteOps.Steward;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>Reply methods where the reply is received: files under the data directory, and CliCommand with the seed's
/// {{STEWARD_DATA}}, run as real processes.</summary>
public class StewardReplyMethodTests
{
    private static StewardRecord Record(StewardMethod? reply, string? directory = null, string? fileName = null, params string[] replyArgs) => new()
    {
        MessageId = "m1", Node = "com.acme.web1", Method = StewardMethod.CliCommand, Sender = "k", Status = StewardStatus.Succeeded,
        Created = DateTimeOffset.UtcNow, Updated = DateTimeOffset.UtcNow, Expires = DateTimeOffset.UtcNow, Output = "out",
        ReplyMethod = reply, ReplyArgs = replyArgs, Directory = directory, FileName = fileName,
    };

    [Fact]
    public async Task ToFile_overwrites_and_ToFileAppend_appends_under_the_data_directory_creating_directories()
    {
        using var dir = new TempDir();
        var toFile = Record(StewardMethod.ToFile, "test/dir", "test.result");
        var first = await StewardReplyMethods.RunAsync(toFile, "one\n", dir.Path, TimeSpan.FromSeconds(10), false, default);
        await StewardReplyMethods.RunAsync(toFile, "two\n", dir.Path, TimeSpan.FromSeconds(10), false, default);
        Assert.Equal(Path.Combine(dir.Path, "test", "dir", "test.result"), first!.Path);
        Assert.Equal("two\n", File.ReadAllText(first.Path!));

        var append = Record(StewardMethod.ToFileAppend, "logs", "a.log");
        await StewardReplyMethods.RunAsync(append, "one", dir.Path, TimeSpan.FromSeconds(10), false, default);
        await StewardReplyMethods.RunAsync(append, "two\n", dir.Path, TimeSpan.FromSeconds(10), false, default);
        Assert.Equal("one\ntwo\n", File.ReadAllText(Path.Combine(dir.Path, "logs", "a.log")));
    }

    [Fact]
    public async Task An_absolute_directory_is_used_as_it_is_and_the_file_name_defaults_to_node_and_method()
    {
        using var data = new TempDir();
        using var elsewhere = new TempDir();
        var outcome = await StewardReplyMethods.RunAsync(Record(StewardMethod.ToFile, elsewhere.Path), "x", data.Path, TimeSpan.FromSeconds(10), false, default);
        Assert.Equal(Path.Combine(elsewhere.Path, "com.acme.web1.CliCommand.result"), outcome!.Path);
        Assert.Empty(Directory.GetFileSystemEntries(data.Path));
    }

    [Fact]
    public async Task CliCommand_gets_the_output_through_STEWARD_DATA_as_the_seed_does_never_as_shell_code()
    {
        if (OperatingSystem.IsWindows()) return; // the seed's examples are bash
        using var dir = new TempDir();
        var data = "a b\nline 2 $(touch pwned) `touch pwned2` ; touch pwned3\n";
        // The seed's two examples: echo with escaped quotes keeps new lines, and bash's here-string.
        var quoted = Record(StewardMethod.CliCommand, "cli_command_test", null, "bash", "-c", "echo \"{{STEWARD_DATA}}\" > apekatt.txt");
        var outcome = await StewardReplyMethods.RunAsync(quoted, data, dir.Path, TimeSpan.FromSeconds(20), false, default);
        Assert.Null(outcome!.Problem);
        var folder = Path.Combine(dir.Path, "cli_command_test");
        Assert.Equal(data + "\n", File.ReadAllText(Path.Combine(folder, "apekatt.txt")));
        var here = Record(StewardMethod.CliCommand, "cli_command_test", null, "bash", "-c", "cat <<< {{STEWARD_DATA}} > hest.txt");
        Assert.Null((await StewardReplyMethods.RunAsync(here, data, dir.Path, TimeSpan.FromSeconds(20), false, default))!.Problem);
        Assert.Equal(data + "\n", File.ReadAllText(Path.Combine(folder, "hest.txt")));
        // Unquoted echo loses the new lines, as the seed warns.
        var bare = Record(StewardMethod.CliCommand, "cli_command_test", null, "bash", "-c", "echo {{STEWARD_DATA}} > bare.txt");
        await StewardReplyMethods.RunAsync(bare, "x\ny", dir.Path, TimeSpan.FromSeconds(20), false, default);
        Assert.Equal("x y\n", File.ReadAllText(Path.Combine(folder, "bare.txt")));
        Assert.Empty(Directory.GetFiles(folder, "pwned*"));
    }

    [Fact]
    public async Task A_failing_reply_command_says_why()
    {
        if (OperatingSystem.IsWindows()) return;
        using var dir = new TempDir();
        var outcome = await StewardReplyMethods.RunAsync(Record(StewardMethod.CliCommand, null, null, "bash", "-c", "echo no >&2; exit 4"), "", dir.Path, TimeSpan.FromSeconds(20), false, default);
        Assert.Equal("the reply command exited with 4: no", outcome!.Problem);
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("..")]
    [InlineData("")]
    [InlineData("x\\y")]
    public void A_file_name_that_is_a_path_is_refused(string name) =>
        Assert.Throws<StewardArgumentException>(() => StewardReplyMethods.CheckFields(StewardMethod.ToFile, null, name));

    [Fact]
    public void The_placeholder_becomes_the_variable_in_every_argument_and_the_data_goes_only_where_it_is_asked_for() =>
        Prop.ForAll(ArbMap.Default.ArbFor<string[]>().Filter(a => a is not null && a.All(s => s is not null)), ArbMap.Default.ArbFor<NonNull<string>>(), (args, data) =>
        {
            var withPlaceholder = args.Append("x{{STEWARD_DATA}}y").ToArray();
            var (replaced, env) = StewardReplyMethods.CliCommand(withPlaceholder, data.Get);
            Assert.DoesNotContain(replaced, a => a.Contains(StewardReplyMethods.DataPlaceholder, StringComparison.Ordinal));
            Assert.Equal("x$STEWARD_DATA" + "y", replaced[^1]);
            Assert.Equal(data.Get, env[StewardReplyMethods.DataVariable]);
            var (_, none) = StewardReplyMethods.CliCommand(args.Where(a => !a.Contains(StewardReplyMethods.DataPlaceholder, StringComparison.Ordinal)).ToArray(), data.Get);
            Assert.Empty(none);
        }).Check(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(200));
}
