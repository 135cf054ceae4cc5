using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using PuppeteerSharp;
using RemoteOps.Processes;

namespace RemoteOps.Herder;

/// <summary>
/// One golem's browser: the system Chromium, headless, in a process group of its own, driven over the DevTools
/// protocol by PuppeteerSharp.
/// </summary>
/// <remarks>
/// <para>Herder starts Chromium itself (through <see cref="ProcessTree"/>) and has PuppeteerSharp connect to the
/// DevTools endpoint Chromium prints, rather than letting PuppeteerSharp's launcher start it: only so can the browser
/// lead a process group of its own (the stop kills that group, every /proc descendant and anything else that names
/// the golem's directory, such as the crash handler Chromium re-parents to init) and get a parent-death signal
/// (<c>setpriv --pdeathsig KILL</c>), so a killed owner (pwsh, the agent) leaves no browser behind.</para>
/// <para>The parent-death signal fires when the <em>thread</em> that forked the child ends, and thread-pool threads
/// retire when idle: every browser is therefore forked from <see cref="ProcessLauncher"/>'s thread, which lives as long
/// as the process.</para>
/// <para>Chromium's own sandbox needs user namespaces or a setuid helper; as root (a container) it refuses to start
/// without <c>--no-sandbox</c>, which is passed only then. Every file it writes (profile, cache, config, crash
/// reports) goes under the golem's own temporary directory, removed when it stops.</para>
/// </remarks>
internal sealed class HerderGolemBrowser : IAsyncDisposable
{
    private const string EndpointLine = "DevTools listening on ";
    private static readonly string? Setpriv = OperatingSystem.IsLinux()
        ? new[] { "/usr/bin/setpriv", "/bin/setpriv" }.FirstOrDefault(File.Exists)
        : null;

    private readonly ProcessTree _tree;
    private readonly string _directory;
    private int _disposed;

    private HerderGolemBrowser(ProcessTree tree, string directory, IBrowser browser, IPage page)
    {
        _tree = tree;
        _directory = directory;
        Browser = browser;
        Page = page;
    }

    public IBrowser Browser { get; }
    public IPage Page { get; }
    public int ProcessId => _tree.Pid;
    /// <summary>Completes when the browser's main process exits (a crash, a kill from outside, or the stop).</summary>
    public Task Exited => _tree.Exited;

    /// <summary>Where the configured browser is; null when it is not installed.</summary>
    public static string? Locate(string browser) =>
        browser.Contains('/') ? (File.Exists(browser) && ExecutableLocator.IsExecutable(browser) ? browser : null) : ExecutableLocator.Find(browser);

    /// <summary>Starts the browser on about:blank and connects to it.</summary>
    /// <exception cref="HerderException">BrowserUnavailable (not installed), GolemFailed (it did not come up), GolemTimeout.</exception>
    public static async Task<HerderGolemBrowser> LaunchAsync(string browser, TimeSpan timeout, CancellationToken ct)
    {
        var program = Locate(browser) ?? throw new HerderException(HerderFailure.BrowserUnavailable,
            $"The browser '{browser}' is not installed here. Install Debian's chromium package (apt-get install chromium), or set herder.browser to a Chromium's path.");
        SweepOrphanedDirectories();
        var directory = Directory.CreateTempSubdirectory(DirectoryPrefix).FullName;
        var arguments = new List<string>
        {
            "--headless", "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
            "--user-data-dir=" + Path.Combine(directory, "profile"),
            "--no-first-run", "--no-default-browser-check", "--disable-crash-reporter", "--disable-breakpad",
            // Containers give /dev/shm 64 MiB; renderers then crash on large pages.
            "--disable-dev-shm-usage", "--disable-gpu", "--mute-audio", "--hide-scrollbars",
            "--disable-extensions", "--disable-component-update", "--disable-sync", "--disable-background-networking",
            // A golem is never in front: its timers and scripts must run at full speed all the same.
            "--disable-background-timer-throttling", "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows",
            "about:blank",
        };
        if (OperatingSystem.IsLinux() && Environment.UserName == "root") arguments.Insert(0, "--no-sandbox");
        var environment = new Dictionary<string, string>
        {
            ["XDG_CONFIG_HOME"] = Path.Combine(directory, "config"),
            ["XDG_CACHE_HOME"] = Path.Combine(directory, "cache"),
        };
        var startInfo = Setpriv is not null
            ? ProcessTree.StartInfo(Setpriv, ["--pdeathsig", "KILL", "--", program, .. arguments], directory, environment)
            : ProcessTree.StartInfo(program, arguments, directory, environment);

        var endpoint = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var lastLines = new Queue<string>();
        ProcessTree tree;
        try
        {
            tree = await StartOnLauncherThreadAsync(startInfo, process =>
            {
                process.ErrorDataReceived += (_, e) =>
                {
                    if (e.Data is not { } line) return;
                    if (line.StartsWith(EndpointLine, StringComparison.Ordinal)) endpoint.TrySetResult(line[EndpointLine.Length..].Trim());
                    else lock (lastLines) { lastLines.Enqueue(line); if (lastLines.Count > 8) lastLines.Dequeue(); }
                };
                process.OutputDataReceived += (_, _) => { };
            }).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            TryDelete(directory);
            throw new HerderException(HerderFailure.BrowserUnavailable, $"The browser '{program}' could not be started: {e.Message}");
        }
        tree.Process.StandardInput.Close();
        tree.Process.BeginErrorReadLine();
        tree.Process.BeginOutputReadLine();
        var released = false;
        try
        {
            var first = await Task.WhenAny(endpoint.Task, tree.Exited).WaitAsync(timeout, ct).ConfigureAwait(false);
            if (first != endpoint.Task)
            {
                string said;
                lock (lastLines) said = string.Join(" | ", lastLines);
                throw new HerderException(HerderFailure.GolemFailed, $"The browser '{program}' exited before it came up (exit code {tree.ExitCode}): {said}");
            }
            var connection = await Puppeteer.ConnectAsync(new ConnectOptions { BrowserWSEndpoint = endpoint.Task.Result, DefaultViewport = null })
                .WaitAsync(timeout, ct).ConfigureAwait(false);
            var page = (await connection.PagesAsync().WaitAsync(timeout, ct).ConfigureAwait(false)).FirstOrDefault()
                ?? await connection.NewPageAsync().WaitAsync(timeout, ct).ConfigureAwait(false);
            released = true;
            return new HerderGolemBrowser(tree, directory, connection, page);
        }
        catch (TimeoutException)
        {
            throw new HerderException(HerderFailure.GolemTimeout, $"The browser '{program}' did not come up within {timeout.TotalSeconds:0.#} s.");
        }
        catch (PuppeteerException e)
        {
            throw new HerderException(HerderFailure.GolemFailed, $"Could not connect to the browser '{program}': {e.Message}");
        }
        finally
        {
            if (!released) await KillAsync(tree, directory).ConfigureAwait(false);
        }
    }

    private static Task<ProcessTree> StartOnLauncherThreadAsync(ProcessStartInfo startInfo, Action<Process> beforeStart) =>
        ProcessLauncher.StartAsync(startInfo, beforeStart);

    /// <summary>Kills the browser's whole tree, waits until none of it is left, and removes its directory.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try { Browser.Disconnect(); } catch (Exception) { /* the connection is gone with the browser anyway */ }
        await KillAsync(_tree, _directory).ConfigureAwait(false);
    }

    /// <summary>The same, synchronously and at once: for the process's exit, where nothing awaits.</summary>
    public void KillNow()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        KillAsync(_tree, _directory).GetAwaiter().GetResult();
    }

    private static async Task KillAsync(ProcessTree tree, string directory)
    {
        await tree.KillAsync().ConfigureAwait(false);
        // What left the group and was re-parented (Chromium's crash handler) still names the golem's directory.
        var deadline = Stopwatch.GetTimestamp() + (long)(ProcessTree.KillWait.TotalSeconds * Stopwatch.Frequency);
        while (ProcessesNaming(directory) is { Count: > 0 } left && Stopwatch.GetTimestamp() < deadline)
        {
            foreach (var pid in left)
            {
                try { using var p = Process.GetProcessById(pid); p.Kill(); }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception) { }
            }
            await Task.Delay(20).ConfigureAwait(false);
        }
        tree.Dispose();
        TryDelete(directory);
    }

    private const string DirectoryPrefix = "remoteops-golem-";
    /// <summary>Older than this, a golem directory no process names is an orphan; younger, it may be a golem starting.</summary>
    internal static readonly TimeSpan OrphanAge = TimeSpan.FromMinutes(10);

    /// <summary>Removes the directories of golems whose owner was killed outright (nothing ran to remove them): those
    /// no live process names and that have not changed for <see cref="OrphanAge"/>. Best effort.</summary>
    internal static void SweepOrphanedDirectories()
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            var candidates = new DirectoryInfo(Path.GetTempPath()).EnumerateDirectories(DirectoryPrefix + "*")
                .Where(d => DateTime.UtcNow - d.LastWriteTimeUtc > OrphanAge).ToList();
            if (candidates.Count == 0) return;
            var commandLines = LiveCommandLines();
            foreach (var d in candidates)
                if (!commandLines.Any(c => c.Contains(d.FullName, StringComparison.Ordinal))) TryDelete(d.FullName);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static List<string> LiveCommandLines()
    {
        var lines = new List<string>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out _)) continue;
            try { lines.Add(File.ReadAllText(Path.Combine(entry, "cmdline"))); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return lines;
    }

    /// <summary>Live processes whose command line names <paramref name="directory"/> (Linux; none elsewhere).</summary>
    internal static List<int> ProcessesNaming(string directory)
    {
        var found = new List<int>();
        if (!OperatingSystem.IsLinux()) return found;
        var needle = Encoding.UTF8.GetBytes(directory);
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out var pid) || pid == Environment.ProcessId) continue;
            try
            {
                var cmdline = File.ReadAllBytes(Path.Combine(entry, "cmdline"));
                if (cmdline.AsSpan().IndexOf(needle) >= 0 && ProcTable.TryReadStat(pid, out var stat) && stat.State is not ('Z' or 'X' or 'x'))
                    found.Add(pid);
            }
            catch (IOException) { } // gone meanwhile
            catch (UnauthorizedAccessException) { }
        }
        return found;
    }

    private static void TryDelete(string directory)
    {
        try { Directory.Delete(directory, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
