using System.Diagnostics;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>The seed's upload/download example with sender and waiter as separate OS processes (RemoteOps.PwshHost).</summary>
public class RemaphoreProcessTests(RemaphoreServerFixture nats) : IClassFixture<RemaphoreServerFixture>
{
    [Fact]
    public async Task Uploader_signals_and_downloader_proceeds_in_another_process()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (uploader, downloader) = fleet.Pair();
        var file = Path.Combine(fleet.Directory, "bigfile");
        // Server 2: remaphore -u upload_done && aws s3 cp s3://bucket/ bigfile
        using var waiter = new HostProcess(
            $"Wait-Remaphore -Uuid upload_done -Timeout 60 -ConfigPath '{downloader.ConfigPath}' -Verbose 4>&1 && (& cat '{file}')");
        await waiter.LineContaining("Waiting on subject");
        // Server 1: aws s3 cp bigfile s3://bucket/ && remaphore -s -u upload_done
        using var sender = new HostProcess(
            $"& sh -c 'echo uploaded bytes > \"$0\"' '{file}' && Send-Remaphore -Uuid upload_done -ConfigPath '{uploader.ConfigPath}'");
        var (sendCode, _, sendErr) = await sender.ExitAsync();
        Assert.True(sendCode == 0, string.Join("\n", sendErr));
        var (code, lines, err) = await waiter.ExitAsync();
        Assert.True(code == 0, string.Join("\n", err));
        Assert.Equal("uploaded bytes", lines[^1]);
    }

    [Fact]
    public async Task A_waiter_process_that_times_out_exits_1_and_does_not_proceed()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (_, downloader) = fleet.Pair();
        using var waiter = new HostProcess($"Wait-Remaphore -Uuid upload_done -Timeout 300ms -ConfigPath '{downloader.ConfigPath}' && 'download'");
        var (code, lines, err) = await waiter.ExitAsync();
        Assert.Equal(1, code);
        Assert.DoesNotContain("download", lines);
        Assert.Contains(err, e => e.Contains("No matching message"));
    }

    [Fact]
    public async Task A_latched_signal_reaches_a_downloader_process_started_afterwards()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (uploader, downloader) = fleet.Pair();
        using (var sender = new HostProcess($"Send-Remaphore -Uuid upload_done -Latch -ConfigPath '{uploader.ConfigPath}'"))
            Assert.Equal(0, (await sender.ExitAsync()).Code);
        using var waiter = new HostProcess($"Wait-Remaphore -Uuid upload_done -Timeout 60 -ConfigPath '{downloader.ConfigPath}' && 'download'");
        var (code, lines, err) = await waiter.ExitAsync();
        Assert.True(code == 0, string.Join("\n", err));
        Assert.Equal("download", lines[^1]);
    }

    [Fact]
    public async Task The_upload_download_example_scripts_work_in_either_order()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (uploader, downloader) = fleet.Pair();
        var file = Path.Combine(fleet.Directory, "bigfile");
        var examples = Path.Combine(Repo.Root, "examples", "remaphore");
        // The downloader starts first and waits; the uploader's latched signal would also serve a late one.
        using var download = new HostProcess(["-File", Path.Combine(examples, "download.ps1"), downloader.ConfigPath, file, "upload_done", "60"]);
        using (var upload = new HostProcess(["-File", Path.Combine(examples, "upload.ps1"), uploader.ConfigPath, file]))
        {
            var (upCode, _, upErr) = await upload.ExitAsync();
            Assert.True(upCode == 0, string.Join("\n", upErr));
        }
        var (code, lines, err) = await download.ExitAsync();
        if (code != 0) Assert.Fail(string.Join("\n", err) + await WhatAWaiterSeesNow(downloader.ConfigPath));
        Assert.Equal("uploaded bytes", lines[^1]);

        // A downloader started after the upload proceeds too (the latch).
        using var late = new HostProcess(["-File", Path.Combine(examples, "download.ps1"), downloader.ConfigPath, file, "upload_done", "60"]);
        var (lateCode, lateLines, lateErr) = await late.ExitAsync();
        Assert.True(lateCode == 0, string.Join("\n", lateErr));
        Assert.Equal("uploaded bytes", lateLines[^1]);
    }

    /// <summary>For a failure's message: what a verbose wait for the same signal sees afterwards (the latch lookup's
    /// notes, and whether the signal is there at all).</summary>
    private static async Task<string> WhatAWaiterSeesNow(string configPath)
    {
        using var probe = new HostProcess($"Wait-Remaphore -Uuid upload_done -Timeout 10 -ConfigPath '{configPath}' -Verbose 4>&1");
        var (code, lines, err) = await probe.ExitAsync();
        return $"\nA verbose wait afterwards (exit {code}):\n{string.Join("\n", lines)}\n{string.Join("\n", err)}";
    }
}
