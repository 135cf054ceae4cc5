using System.Diagnostics;
using FsCheck;
using FsCheck.Fluent;
using RemoteOps.Processes;

namespace RemoteOps.Core.Tests.Processes;

/// <summary>
/// The memory cgroup a minion gets where the machine lets us make one. The kernel's side cannot be faked, so the
/// layouts of cgroup v2 and v1 are laid out as plain directories (what is written where, what is read back), and
/// this machine's real /sys/fs/cgroup is tried as it is: a cgroup made there must really hold a memory hog, and
/// where none can be made nothing is left behind.
/// </summary>
public sealed class MemoryCgroupTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cgroup-root").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Self(string text)
    {
        var file = Path.Combine(_root, "self-cgroup");
        File.WriteAllText(file, text);
        return file;
    }

    [Fact]
    public void V2_makes_a_child_of_its_own_cgroup_when_that_delegates_memory_and_reads_the_oom_kills_back()
    {
        File.WriteAllText(Path.Combine(_root, "cgroup.controllers"), "cpu io memory pids\n");
        var own = Directory.CreateDirectory(Path.Combine(_root, "system.slice", "steward.service")).FullName;
        File.WriteAllText(Path.Combine(own, "cgroup.subtree_control"), "memory pids\n");

        using var cgroup = MemoryCgroup.TryCreate("minion-1", 64L << 20, _root, Self("0::/system.slice/steward.service\n"));

        Assert.NotNull(cgroup);
        Assert.True(cgroup.Unified);
        Assert.Equal(Path.Combine(own, "minion-1"), cgroup.Path);
        Assert.Equal("67108864", File.ReadAllText(Path.Combine(cgroup.Path, "memory.max")));
        var join = cgroup.Join(["/usr/bin/python3", "main.py"]);
        Assert.Equal(["/bin/sh", "-c"], join.Take(2));
        Assert.Equal(Path.Combine(cgroup.Path, "cgroup.procs"), join[3]);
        Assert.Equal(["/usr/bin/python3", "main.py"], join.Skip(4));

        Assert.False(cgroup.OutOfMemory());
        File.WriteAllText(Path.Combine(cgroup.Path, "memory.events"), "low 0\nhigh 0\nmax 12\noom 1\noom_kill 0\n");
        Assert.False(cgroup.OutOfMemory());
        File.WriteAllText(Path.Combine(cgroup.Path, "memory.events"), "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n");
        Assert.True(cgroup.OutOfMemory());

        cgroup.Dispose();
        Assert.False(Directory.Exists(Path.Combine(own, "minion-1")));
    }

    [Fact]
    public void V2_refuses_a_membership_that_climbs_out_of_the_mount()
    {
        File.WriteAllText(Path.Combine(_root, "cgroup.controllers"), "memory\n");
        Assert.Null(MemoryCgroup.TryCreate("minion", 64L << 20, _root, Self("0::/../../etc\n")));
        Assert.Null(MemoryCgroup.TryCreate("minion", 64L << 20, _root, Self("garbage\n")));
        Assert.Empty(Directory.EnumerateDirectories(_root));
    }

    [Fact]
    public void V1_uses_the_memory_hierarchy_and_its_mount_root_when_the_membership_is_not_visible()
    {
        var hierarchy = Directory.CreateDirectory(Path.Combine(_root, "memory")).FullName;

        using var cgroup = MemoryCgroup.TryCreate("minion-2", 32L << 20, _root, Self("4:memory:/process_api/6c12\n0::/\n"));

        Assert.NotNull(cgroup);
        Assert.False(cgroup.Unified);
        Assert.Equal(Path.Combine(hierarchy, "minion-2"), cgroup.Path);
        Assert.Equal("33554432", File.ReadAllText(Path.Combine(cgroup.Path, "memory.limit_in_bytes")));
        File.WriteAllText(Path.Combine(cgroup.Path, "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
        Assert.True(cgroup.OutOfMemory());
    }

    [Fact]
    public void No_memory_hierarchy_means_no_cgroup_and_the_caller_uses_the_rlimit()
    {
        Assert.Null(MemoryCgroup.TryCreate("minion", 64L << 20, _root, Self("0::/\n")));
        Assert.Null(MemoryCgroup.TryCreate("minion", 64L << 20, _root, Path.Combine(_root, "missing")));
        Assert.Throws<ArgumentException>(() => MemoryCgroup.TryCreate("a/b", 1, _root, Self("0::/\n")));
        Assert.Throws<ArgumentOutOfRangeException>(() => MemoryCgroup.TryCreate("a", 0, _root, Self("0::/\n")));
    }

    /// <summary>This machine as it is: either the kernel holds a hog to its cgroup's limit, or no cgroup can be made
    /// and none is left behind (the container case, read-only cgroups, where minions get the rlimit instead).</summary>
    [Fact]
    public async Task On_this_machine_a_cgroup_is_either_enforced_by_the_kernel_or_not_made_at_all()
    {
        var name = "remoteops-test-" + Guid.NewGuid().ToString("N");
        using var cgroup = MemoryCgroup.TryCreate(name, 32L << 20);
        if (cgroup is null)
        {
            Assert.False(Directory.Exists(Path.Combine("/sys/fs/cgroup", name)));
            Assert.False(Directory.Exists(Path.Combine("/sys/fs/cgroup", "memory", name)));
            return;
        }
        // 256 MiB written page by page under a 32 MiB limit: the kernel kills it.
        var command = cgroup.Join(["python3", "-c", "b = bytearray(256 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\nprint('survived')"]);
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true };
        foreach (var a in command.Skip(1)) start.ArgumentList.Add(a);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var hog = Process.Start(start)!;
        var output = await hog.StandardOutput.ReadToEndAsync(cts.Token);
        await hog.WaitForExitAsync(cts.Token);
        Assert.DoesNotContain("survived", output);
        Assert.True(cgroup.OutOfMemory());
    }

    private static readonly FsCheck.Config Cases = FsCheck.Config.QuickThrowOnFailure.WithMaxTest(500);

    [Fact]
    public void The_membership_parser_takes_any_text_and_keeps_only_absolute_paths()
    {
        var text = Gen.OneOf(
            ArbMap.Default.ArbFor<string>().Generator.Select(s => s ?? ""),
            from lines in Gen.ListOf(Gen.Elements("0::/", "4:memory:/a/b", "1:cpu,cpuacct:/x", ":", "::", "x:y", "9:name=systemd:/", "\r", "3:memory:rel", "\n"))
            select string.Join("\n", lines));
        Check.One(Cases, Prop.ForAll(text.ToArbitrary(), t =>
            MemoryCgroup.ParseMembership(t).All(kv => kv.Value.StartsWith('/') && !kv.Key.Contains(':') && !kv.Key.Contains(','))));
    }

    [Fact]
    public void The_oom_kill_count_is_read_from_any_text_and_found_wherever_its_line_is()
    {
        Check.One(Cases, Prop.ForAll(ArbMap.Default.ArbFor<string>(), Gen.Choose(0, int.MaxValue).ToArbitrary(), (noise, n) =>
        {
            var clean = (noise ?? "").Replace("oom_kill", "", StringComparison.Ordinal);
            return MemoryCgroup.OomKills(noise ?? "") >= 0 && MemoryCgroup.OomKills($"{clean}\noom_kill {n}\nmax 3\n") == n;
        }));
    }
}
