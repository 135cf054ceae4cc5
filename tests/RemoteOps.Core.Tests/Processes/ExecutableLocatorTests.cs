using RemoteOps.Processes;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Processes;

// Unix file modes and /bin/sh: the suites run on Linux.
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class ExecutableLocatorTests
{
    // Executables are symlinks to /bin/sh or /bin/true rather than scripts written here: executing a file just written
    // can fail with ETXTBSY while a process forked at that moment by a parallel test still holds its write descriptor.

    [Fact]
    public void A_bare_name_is_looked_up_in_PATH()
    {
        Assert.True(ExecutableLocator.TryResolve("sh", null, out var path, out var problem), problem);
        Assert.True(Path.IsPathRooted(path));
        Assert.Equal("sh", Path.GetFileName(path));
        Assert.True(File.Exists(path));
    }

    [Fact]
    public void A_bare_name_not_in_PATH_is_a_problem_even_if_it_is_in_the_working_directory()
    {
        using var dir = new TempDir();
        var name = "remoteops-only-here-" + Guid.NewGuid().ToString("N")[..8];
        File.CreateSymbolicLink(dir.File(name), "/bin/true");
        Assert.False(ExecutableLocator.TryResolve(name, dir.Path, out var path, out var problem));
        Assert.Null(path);
        Assert.Equal($"Cannot start '{name}': no such program in PATH.", problem);
    }

    [Fact]
    public void A_relative_path_is_resolved_against_the_working_directory()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("bin"));
        File.CreateSymbolicLink(dir.File("bin/tool"), "/bin/sh");
        Assert.True(ExecutableLocator.TryResolve("bin/tool", dir.Path, out var path, out _));
        Assert.Equal(Path.GetFullPath(dir.File("bin/tool")), path);
        Assert.True(ExecutableLocator.TryResolve("./bin/../bin/tool", dir.Path, out path, out _));
        Assert.Equal(Path.GetFullPath(dir.File("bin/tool")), path);
    }

    [Fact]
    public void An_absolute_path_is_taken_as_it_is()
    {
        Assert.True(ExecutableLocator.TryResolve("/bin/sh", "/", out var path, out _));
        Assert.Equal("/bin/sh", path);
    }

    [Fact]
    public void A_missing_file_a_non_executable_file_and_a_missing_working_directory_are_problems()
    {
        using var dir = new TempDir();
        Assert.False(ExecutableLocator.TryResolve("./nope", dir.Path, out _, out var missing));
        Assert.Equal($"Cannot start './nope': '{Path.GetFullPath(dir.File("nope"))}' does not exist.", missing);

        File.WriteAllText(dir.File("plain.sh"), "#!/bin/sh\n");
        Assert.False(ExecutableLocator.TryResolve(dir.File("plain.sh"), null, out _, out var notExecutable));
        Assert.Contains("is not executable", notExecutable);

        Assert.False(ExecutableLocator.TryResolve("sh", dir.File("gone"), out _, out var noDirectory));
        Assert.Equal($"Cannot start 'sh': the working directory '{dir.File("gone")}' does not exist.", noDirectory);
    }

    [Fact]
    public void Find_looks_in_PATH_first_then_in_the_fallback_directories_in_order()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("a"));
        Directory.CreateDirectory(dir.File("b"));
        var name = "remoteops-fallback-" + Guid.NewGuid().ToString("N")[..8];
        File.WriteAllText(dir.File("a/" + name), "not executable");
        File.CreateSymbolicLink(dir.File("b/" + name), "/bin/true");
        File.CreateSymbolicLink(dir.File("b/sh"), "/bin/true");

        Assert.Null(ExecutableLocator.Find(name));
        // The non-executable file in a is passed over.
        Assert.Equal(dir.File("b/" + name), ExecutableLocator.Find(name, [dir.File("a"), dir.File("b")]));
        // sh is in PATH: the fallback copy is not used.
        Assert.NotEqual(dir.File("b/sh"), ExecutableLocator.Find("sh", [dir.File("b")]));
        Assert.Null(ExecutableLocator.Find(name, [dir.File("a"), dir.File("missing")]));
    }

    [Fact]
    public void IsExecutable_follows_the_execute_bits()
    {
        using var dir = new TempDir();
        var file = dir.File("f");
        File.WriteAllText(file, "");
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.False(ExecutableLocator.IsExecutable(file));
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.OtherExecute);
        Assert.True(ExecutableLocator.IsExecutable(file));
    }
}
