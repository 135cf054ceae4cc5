using System.Diagnostics;
using System.Text;
using RemoteOps.Herder;
using RemoteOps.Processes;
using RemoteOps.TestSupport;

namespace RemoteOps.Core.Tests.Herder;

/// <summary>Golems on pages this test serves on loopback: a real Chromium (Debian's chromium package), driven by
/// PuppeteerSharp, checked in /proc for leftovers. One collection with the remote tests: no other golem starts while a
/// test looks for what a golem of this process left.</summary>
[Collection(GolemCollection)]
public sealed class HerderGolemTests : IAsyncLifetime
{
    public const string GolemCollection = "Herder golems";
    /// <summary>Generous: the machine is shared and Chromium starts slowly under load.</summary>
    private static readonly HerderConfig Config = new() { MaxTimeout = TimeSpan.FromMinutes(2) };
    private static readonly TimeSpan Script = TimeSpan.FromMinutes(1);
    private readonly HerderGolemHerd _herd = HerderGolemHerd.Session;
    private TestPages _pages = null!;

    public Task InitializeAsync()
    {
        _pages = new TestPages(new Dictionary<string, string>
        {
            ["/page.html"] = TestPages.GolemPage,
            ["/plain.html"] = "<!doctype html><title>Plain</title><p>no golem here</p>",
            ["/throws.html"] = "<!doctype html><title>Throws</title><div id=\"emet\">window.before = 1; throw new Error('bootstrap boom');</div>",
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _pages.DisposeAsync();

    private Task<string> Eval(string name, string script) => _herd.EvaluateAsync(name, script, Script, CancellationToken.None);

    [Fact]
    public async Task A_golem_runs_the_pages_bootstrap_evaluates_scripts_and_leaves_nothing_when_stopped()
    {
        // What a killed owner left: an old golem directory no process names goes at the next start; a fresh one may
        // be a golem starting, and stays.
        var orphan = Directory.CreateTempSubdirectory("remoteops-golem-").FullName;
        var fresh = Directory.CreateTempSubdirectory("remoteops-golem-").FullName;
        Directory.SetLastWriteTimeUtc(orphan, DateTime.UtcNow - HerderGolemBrowser.OrphanAge - TimeSpan.FromMinutes(1));
        var golem = await _herd.StartAsync(Config, _pages.Url("/page.html"), null, "test-a", CancellationToken.None);
        Assert.False(Directory.Exists(orphan));
        Assert.True(Directory.Exists(fresh));
        Directory.Delete(fresh);
        var (directory, tree) = Snapshot(golem.ProcessId);
        try
        {
            Assert.Equal(("page", (string?)null, _pages.Url("/page.html"), true, (string?)null), (golem.Name, golem.Node, golem.Url, golem.Bootstrapped, golem.BootstrapError));
            Assert.True(tree.Count > 1, "Chromium runs as several processes");
            // document.title comes back, and the page's .golem code ran (it set a global and changed the title).
            Assert.Equal("\"Golem test (golem)\"", await Eval("page", "document.title"));
            Assert.Equal("42", await Eval("page", "window.bootstrapped"));
            Assert.Equal("\"hello\"", await Eval("page", "document.getElementById('greeting').textContent"));
            Assert.Equal("{\"a\":[1,\"x\",null],\"b\":{\"c\":true}}", await Eval("page", "({a: [1, 'x', null], b: {c: true}})"));
            Assert.Equal("7", await Eval("page", "new Promise(r => setTimeout(() => r(7), 10))"));
            Assert.Equal("null", await Eval("page", "undefined"));
            // A JavaScript exception is the script's error, and the golem goes on.
            var thrown = await Assert.ThrowsAsync<HerderException>(() => Eval("page", "throw new Error('boom')"));
            Assert.Equal((HerderFailure.ScriptError, "RemoteOps.HerderScriptError"), (thrown.Failure, thrown.ErrorId));
            Assert.Contains("Error: boom", thrown.Message);
            Assert.Equal(HerderFailure.ScriptError, (await Assert.ThrowsAsync<HerderException>(() => Eval("page", "this is not javascript"))).Failure);
            Assert.Equal("2", await Eval("page", "1+1"));
            Assert.Contains(_herd.List(), g => g.Name == "page" && g.ProcessId == golem.ProcessId);
            Assert.Equal(golem.Url, _herd.Get("PAGE").Url);
        }
        finally
        {
            await _herd.StopAsync("page");
        }
        AssertGone(directory, tree);
        Assert.DoesNotContain(_herd.List(), g => g.Name == "page");
        Assert.Equal(HerderFailure.GolemNotFound, (await Assert.ThrowsAsync<HerderException>(() => Eval("page", "1"))).Failure);
    }

    [Fact]
    public async Task Owners_names_a_failing_bootstrap_and_a_browser_that_dies()
    {
        var first = await _herd.StartAsync(Config, _pages.Url("/plain.html"), "owned-one", "owner-1", CancellationToken.None);
        var second = await _herd.StartAsync(Config, _pages.Url("/throws.html"), null, "owner-2", CancellationToken.None);
        var (firstDirectory, firstTree) = Snapshot(first.ProcessId);
        var (secondDirectory, secondTree) = Snapshot(second.ProcessId);
        try
        {
            Assert.Equal((false, (string?)null), (first.Bootstrapped, first.BootstrapError));
            Assert.Equal("throws", second.Name);
            Assert.True(second.Bootstrapped);
            Assert.Contains("bootstrap boom", second.BootstrapError);
            Assert.Equal("1", await Eval("throws", "window.before"));
            // Names are unique per herd; the name is taken before any browser starts.
            var duplicate = await Assert.ThrowsAsync<HerderException>(() => _herd.StartAsync(Config, _pages.Url("/plain.html"), "OWNED-ONE", "owner-2", CancellationToken.None));
            Assert.Equal(HerderFailure.GolemExists, duplicate.Failure);
            // A session that ends stops its own golems only.
            await _herd.StopOwnedAsync("owner-1");
            AssertGone(firstDirectory, firstTree);
            Assert.Equal(new[] { "throws" }, _herd.List().Select(g => g.Name).Where(n => n is "throws" or "owned-one"));
            // A browser killed from outside takes its golem with it, and its whole tree goes.
            Process.GetProcessById(second.ProcessId).Kill();
            await Until(() => _herd.List().All(g => g.Name != "throws"));
            await Until(() => HerderGolemBrowser.ProcessesNaming(secondDirectory).Count == 0 && !Directory.Exists(secondDirectory));
            AssertGone(secondDirectory, secondTree);
        }
        finally
        {
            foreach (var name in new[] { "owned-one", "throws" })
                if (_herd.List().Any(g => g.Name == name)) await _herd.StopAsync(name);
        }
    }

    [Fact]
    public async Task Bad_requests_are_refused_with_their_own_ids_and_start_nothing()
    {
        async Task<HerderFailure> Start(string url, string? name = null, HerderConfig? config = null) =>
            (await Assert.ThrowsAsync<HerderException>(() => _herd.StartAsync(config ?? Config, url, name, "bad", CancellationToken.None))).Failure;

        foreach (var url in new[] { "", "not a url", "ftp://127.0.0.1/x", "javascript:alert(1)", "/relative/page.html", "http://" })
            Assert.Equal(HerderFailure.InvalidUrl, await Start(url));
        foreach (var name in new[] { "-x", "a/b", "../up", "with space", new string('n', 65), "" })
            Assert.Equal(HerderFailure.InvalidGolemName, await Start(_pages.Url("/plain.html"), name));
        var missing = await Assert.ThrowsAsync<HerderException>(() => _herd.StartAsync(Config with { Browser = "/nonexistent/chromium" }, _pages.Url("/plain.html"), "nobrowser", "bad", CancellationToken.None));
        Assert.Equal(("RemoteOps.HerderBrowserUnavailable", true), (missing.ErrorId, missing.Message.Contains("apt-get install chromium")));
        Assert.Equal(HerderFailure.BrowserUnavailable, await Start(_pages.Url("/plain.html"), null, Config with { Browser = "no-such-chromium-here" }));
        // The browser starts, but the page cannot be loaded: the golem is not kept, and its browser is gone.
        var notFound = await Assert.ThrowsAsync<HerderException>(() => _herd.StartAsync(Config, _pages.Url("/missing.html"), "missing", "bad", CancellationToken.None));
        Assert.Equal(HerderFailure.GolemFailed, notFound.Failure);
        Assert.Contains("404", notFound.Message);
        var refused = await Assert.ThrowsAsync<HerderException>(() => _herd.StartAsync(Config, $"http://127.0.0.1:{NatsServer.FreePort()}/", "refused", "bad", CancellationToken.None));
        Assert.Equal(HerderFailure.GolemFailed, refused.Failure);
        Assert.DoesNotContain(_herd.List(), g => g.Name is "missing" or "refused" or "nobrowser");
        // Unknown golems.
        Assert.Equal(HerderFailure.GolemNotFound, (await Assert.ThrowsAsync<HerderException>(() => Eval("no-such-golem", "1"))).Failure);
        Assert.Equal(HerderFailure.GolemNotFound, (await Assert.ThrowsAsync<HerderException>(() => _herd.StopAsync("no-such-golem"))).Failure);
        Assert.Equal(HerderFailure.GolemNotFound, Assert.Throws<HerderException>(() => _herd.Get("no-such-golem")).Failure);
    }

    [Fact]
    public async Task A_start_cancelled_while_the_page_loads_leaves_nothing()
    {
        // A server that accepts and never answers: the page loads until the start is cancelled.
        var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        try
        {
            var port = ((System.Net.IPEndPoint)silent.LocalEndpoint).Port;
            using var cts = new CancellationTokenSource();
            var start = _herd.StartAsync(Config, $"http://127.0.0.1:{port}/slow.html", "slow", "cancel", cts.Token);
            using var connection = await silent.AcceptTcpClientAsync().WaitAsync(TimeSpan.FromMinutes(2)); // the browser is up and loading
            var table = ProcTable.Read();
            var directories = table.DescendantsOf(Environment.ProcessId)
                .Select(pid => { try { return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0'); } catch (IOException) { return []; } })
                .SelectMany(args => args.Where(a => a.StartsWith("--user-data-dir=", StringComparison.Ordinal)))
                .Select(a => Path.GetDirectoryName(a["--user-data-dir=".Length..])!)
                .Distinct().ToList();
            Assert.Single(directories);
            Assert.DoesNotContain(_herd.List(), g => g.Name == "slow");
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => start);
            Assert.Empty(HerderGolemBrowser.ProcessesNaming(directories[0]));
            Assert.False(Directory.Exists(directories[0]));
            Assert.DoesNotContain(_herd.List(), g => g.Name == "slow");
            // The name was given back.
            Assert.Equal(HerderFailure.BrowserUnavailable, (await Assert.ThrowsAsync<HerderException>(() =>
                _herd.StartAsync(Config with { Browser = "/nonexistent/chromium" }, $"http://127.0.0.1:{port}/", "slow", "cancel", CancellationToken.None))).Failure);
        }
        finally { silent.Stop(); }
    }

    /// <summary>The golem's directory (from its --user-data-dir) and every process of its tree now.</summary>
    private static (string Directory, HashSet<int> Tree) Snapshot(int pid)
    {
        var args = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
        var profile = args.Single(a => a.StartsWith("--user-data-dir=", StringComparison.Ordinal))["--user-data-dir=".Length..];
        var directory = Path.GetDirectoryName(profile)!;
        var table = ProcTable.Read();
        var tree = table.DescendantsOf(pid);
        tree.UnionWith(table.GroupMembers(pid));
        tree.UnionWith(HerderGolemBrowser.ProcessesNaming(directory));
        tree.Add(pid);
        return (directory, tree);
    }

    private static void AssertGone(string directory, HashSet<int> tree)
    {
        var table = ProcTable.Read();
        Assert.DoesNotContain(tree, table.IsAlive);
        Assert.Empty(HerderGolemBrowser.ProcessesNaming(directory));
        Assert.False(Directory.Exists(directory));
    }

    private static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not come true within a minute");
            await Task.Delay(20);
        }
    }
}
