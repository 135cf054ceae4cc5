using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using PuppeteerSharp;

namespace RemoteOps.Herder;

/// <summary>
/// The golems of one owner: <see cref="Session"/> holds those this process's PowerShell sessions started (each tagged
/// with the session that owns it), <see cref="OfNode"/> those a node agent serves. A golem is the seed's: a headless
/// Chromium kept on a page, which runs the page's <c>.golem, #emet</c> code at start and evaluates scripts on request.
/// </summary>
public sealed class HerderGolemHerd
{
    /// <summary>The selector of the element whose code a golem runs at start, as in the seed.</summary>
    public const string BootstrapSelector = ".golem, #emet";
    public const int MaxNameLength = 64;
    /// <summary>A script longer than this is refused before it reaches the browser.</summary>
    public const int MaxScriptLength = 1024 * 1024;

    private static readonly ConcurrentDictionary<string, HerderGolemHerd> Nodes = new(StringComparer.OrdinalIgnoreCase);
    private static int _exitHooked;

    /// <summary>Golems of this process's PowerShell sessions (Start-HerderGolem without -Node).</summary>
    public static HerderGolemHerd Session { get; } = new(null);

    /// <summary>The golems the agent of <paramref name="node"/> (in this process) serves.</summary>
    public static HerderGolemHerd OfNode(string node) => Nodes.GetOrAdd(node, n => new HerderGolemHerd(n));

    private readonly Dictionary<string, Golem?> _golems = new(StringComparer.OrdinalIgnoreCase); // null: starting
    private readonly Lock _lock = new();

    private HerderGolemHerd(string? node) => Node = node;

    /// <summary>The node these golems run on; null for the session's.</summary>
    public string? Node { get; }

    private sealed class Golem(HerderGolem info, HerderGolemBrowser browser, string? owner)
    {
        public HerderGolem Info { get; } = info;
        public HerderGolemBrowser Browser { get; } = browser;
        public string? Owner { get; } = owner;
    }

    /// <summary>Starts a golem on <paramref name="url"/>: the browser, the page loaded, then the page's bootstrap code.</summary>
    /// <param name="name">Its name; null: one made from the URL (its last path segment, else its host), made unique.</param>
    /// <param name="owner">Who owns it (a session's id), so <see cref="StopOwnedAsync"/> can stop what it left.</param>
    /// <exception cref="HerderException">InvalidUrl, InvalidGolemName, GolemExists, BrowserUnavailable, GolemFailed, GolemTimeout.</exception>
    public async Task<HerderGolem> StartAsync(HerderConfig config, string url, string? name, string? owner, CancellationToken ct)
    {
        var uri = ValidateUrl(url);
        if (name is not null && !TryValidateName(name, out var problem)) throw new HerderException(HerderFailure.InvalidGolemName, problem);
        name = Reserve(name, uri);
        HerderGolemBrowser? browser = null;
        try
        {
            HookProcessExit();
            browser = await HerderGolemBrowser.LaunchAsync(config.Browser, config.MaxTimeout, ct).ConfigureAwait(false);
            await LoadAsync(browser.Page, uri, config.MaxTimeout, ct).ConfigureAwait(false);
            var info = new HerderGolem { Name = name, Node = Node, Url = uri.AbsoluteUri, ProcessId = browser.ProcessId, Started = DateTimeOffset.UtcNow };
            await BootstrapAsync(browser.Page, info, config.MaxTimeout, ct).ConfigureAwait(false);
            var golem = new Golem(info, browser, owner);
            lock (_lock) _golems[name] = golem;
            // A browser that dies by itself (a crash, a kill from outside) takes its golem with it.
            _ = browser.Exited.ContinueWith(_ => ForgetAndDisposeAsync(golem), TaskScheduler.Default);
            browser = null;
            return Copy(info);
        }
        finally
        {
            if (browser is not null)
            {
                lock (_lock) _golems.Remove(name);
                await browser.DisposeAsync().ConfigureAwait(false);
            }
            else lock (_lock) { if (_golems.TryGetValue(name, out var g) && g is null) _golems.Remove(name); }
        }
    }

    private async Task ForgetAndDisposeAsync(Golem golem)
    {
        lock (_lock)
        {
            if (_golems.TryGetValue(golem.Info.Name, out var current) && ReferenceEquals(current, golem)) _golems.Remove(golem.Info.Name);
        }
        await golem.Browser.DisposeAsync().ConfigureAwait(false);
    }

    private static async Task LoadAsync(IPage page, Uri uri, TimeSpan timeout, CancellationToken ct)
    {
        IResponse? response;
        try
        {
            response = await page.GoToAsync(uri.AbsoluteUri, new NavigationOptions
            {
                Timeout = (int)Math.Min(int.MaxValue, timeout.TotalMilliseconds), WaitUntil = [WaitUntilNavigation.Load],
            }).WaitAsync(ct).ConfigureAwait(false);
        }
        catch (NavigationException e) when (e.Message.Contains("Timeout", StringComparison.OrdinalIgnoreCase) || e.InnerException is TimeoutException)
        {
            throw new HerderException(HerderFailure.GolemTimeout, $"The page {uri.AbsoluteUri} did not load within {timeout.TotalSeconds:0.#} s.");
        }
        catch (PuppeteerException e)
        {
            throw new HerderException(HerderFailure.GolemFailed, $"The page {uri.AbsoluteUri} could not be loaded: {FirstLine(e.Message)}");
        }
        if (response is { Status: var status } && (int)status >= 400)
            throw new HerderException(HerderFailure.GolemFailed, $"The page {uri.AbsoluteUri} answered {(int)status} {status}.");
    }

    /// <summary>The seed's bootstrap: the code of the page's <c>.golem, #emet</c> element runs in the page's global
    /// scope (through the DevTools protocol, so a page's Content-Security-Policy does not stop it). Its completion
    /// value is not awaited: bootstrap code typically starts something that runs for the golem's life.</summary>
    private static async Task BootstrapAsync(IPage page, HerderGolem info, TimeSpan timeout, CancellationToken ct)
    {
        var code = await page.EvaluateFunctionAsync<string?>(
            "selector => { const e = document.querySelector(selector); return e ? e.textContent : null; }", BootstrapSelector)
            .WaitAsync(timeout, ct).ConfigureAwait(false);
        if (code is null) return;
        info.Bootstrapped = true;
        try
        {
            await page.EvaluateExpressionAsync(code + "\n;void 0").WaitAsync(timeout, ct).ConfigureAwait(false);
        }
        catch (EvaluationFailedException e) { info.BootstrapError = ScriptMessage(e); }
        catch (TimeoutException) { info.BootstrapError = $"The bootstrap code did not finish within {timeout.TotalSeconds:0.#} s."; }
    }

    /// <summary>The golems, in name order.</summary>
    public IReadOnlyList<HerderGolem> List()
    {
        lock (_lock) return _golems.Values.OfType<Golem>().OrderBy(g => g.Info.Name, StringComparer.OrdinalIgnoreCase).Select(g => Copy(g.Info)).ToList();
    }

    /// <summary>The golem called <paramref name="name"/>.</summary>
    /// <exception cref="HerderException">GolemNotFound.</exception>
    public HerderGolem Get(string name) => Copy(Find(name).Info);

    /// <summary>Evaluates <paramref name="script"/> (a JavaScript expression; a promise is awaited) in the golem's page and
    /// returns its value as JSON text (<c>null</c> for undefined; what JSON cannot hold, a DOM node or a function,
    /// comes back as <c>{}</c>).</summary>
    /// <exception cref="HerderException">GolemNotFound, ScriptError (the script threw), GolemTimeout, GolemFailed (the browser died).</exception>
    public async Task<string> EvaluateAsync(string name, string script, TimeSpan timeout, CancellationToken ct)
    {
        if (script.Length > MaxScriptLength)
            throw new HerderException(HerderFailure.ScriptError, $"The script is {script.Length} characters long; at most {MaxScriptLength} are taken.");
        var golem = Find(name);
        try
        {
            var value = await golem.Browser.Page.EvaluateExpressionAsync<JsonElement?>(script).WaitAsync(timeout, ct).ConfigureAwait(false);
            return value is { ValueKind: not JsonValueKind.Undefined } v ? v.GetRawText() : "null";
        }
        catch (EvaluationFailedException e)
        {
            throw new HerderException(HerderFailure.ScriptError, $"Golem {golem.Info.Name}: {ScriptMessage(e)}");
        }
        catch (TimeoutException)
        {
            throw new HerderException(HerderFailure.GolemTimeout, $"Golem {golem.Info.Name}: the script did not finish within {timeout.TotalSeconds:0.#} s.");
        }
        catch (PuppeteerException e)
        {
            throw new HerderException(HerderFailure.GolemFailed, $"Golem {golem.Info.Name}: {FirstLine(e.Message)}");
        }
    }

    /// <summary>The golem's page itself, for the benchmark's raw PuppeteerSharp baseline.</summary>
    internal IPage PageOf(string name) => Find(name).Browser.Page;

    /// <summary>Stops the golem: its browser's whole process tree is killed, and its files removed.</summary>
    /// <exception cref="HerderException">GolemNotFound.</exception>
    public async Task<HerderGolem> StopAsync(string name)
    {
        Golem golem;
        lock (_lock)
        {
            golem = FindLocked(name);
            _golems.Remove(golem.Info.Name);
        }
        await golem.Browser.DisposeAsync().ConfigureAwait(false);
        return Copy(golem.Info);
    }

    /// <summary>Stops every golem <paramref name="owner"/> started (a session that ends).</summary>
    public async Task StopOwnedAsync(string owner)
    {
        List<Golem> owned;
        lock (_lock)
        {
            owned = _golems.Values.OfType<Golem>().Where(g => g.Owner == owner).ToList();
            foreach (var g in owned) _golems.Remove(g.Info.Name);
        }
        await Task.WhenAll(owned.Select(g => g.Browser.DisposeAsync().AsTask())).ConfigureAwait(false);
    }

    private Golem Find(string name)
    {
        lock (_lock) return FindLocked(name);
    }

    private Golem FindLocked(string name)
    {
        if (_golems.TryGetValue(name, out var golem) && golem is not null) return golem;
        var known = _golems.Values.OfType<Golem>().Select(g => g.Info.Name).Order(StringComparer.OrdinalIgnoreCase).ToList();
        throw new HerderException(HerderFailure.GolemNotFound,
            $"No golem '{HerderEnvironments.Clean(name)}'{(Node is null ? " in this session" : $" on node {Node}")}. "
            + (known.Count == 0 ? "None runs." : $"Running: {string.Join(", ", known)}."));
    }

    /// <summary>Takes the name (or one made from the URL) before the browser starts, so two starts cannot both get it.</summary>
    private string Reserve(string? name, Uri uri)
    {
        lock (_lock)
        {
            if (name is not null)
            {
                if (!_golems.TryAdd(name, null))
                    throw new HerderException(HerderFailure.GolemExists, $"A golem '{name}' already runs{(Node is null ? " in this session" : $" on node {Node}")}; stop it first, or give another -Name.");
                return name;
            }
            var stem = NameFromUrl(uri);
            for (var n = 1; ; n++)
            {
                var candidate = n == 1 ? stem : $"{stem[..Math.Min(stem.Length, MaxNameLength - 8)]}-{n}";
                if (_golems.TryAdd(candidate, null)) return candidate;
            }
        }
    }

    /// <summary>A golem name from a URL: its last path segment (without extension), else its host; "golem" when neither makes a name.</summary>
    public static string NameFromUrl(Uri uri)
    {
        var segment = uri.Segments.Select(s => Uri.UnescapeDataString(s.Trim('/'))).LastOrDefault(s => s.Length > 0) ?? "";
        var stem = Path.GetFileNameWithoutExtension(segment);
        var raw = stem.Length > 0 ? stem : uri.Host;
        var cleaned = new string(raw.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '-').ToArray()).Trim('-', '.', '_');
        if (cleaned.Length > MaxNameLength) cleaned = cleaned[..MaxNameLength].TrimEnd('-', '.', '_');
        return cleaned.Length > 0 && TryValidateName(cleaned, out _) ? cleaned : "golem";
    }

    private static readonly System.Buffers.SearchValues<char> NameCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");

    /// <summary>A plain name: 1 to 64 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit.</summary>
    public static bool TryValidateName(string name, [NotNullWhen(false)] out string? problem)
    {
        problem = null;
        if (string.IsNullOrEmpty(name)) problem = "A golem needs a name.";
        else if (name.Length > MaxNameLength) problem = $"The golem name is {name.Length} characters long; at most {MaxNameLength} are allowed.";
        else if (!char.IsAsciiLetterOrDigit(name[0])) problem = $"The golem name '{HerderEnvironments.Clean(name)}' must start with a letter or digit.";
        else if (name.AsSpan().IndexOfAnyExcept(NameCharacters) is var at and >= 0)
            problem = $"The golem name '{HerderEnvironments.Clean(name)}' has '{(char.IsControl(name[at]) ? '?' : name[at])}': use letters, digits, '.', '_' and '-'.";
        return problem is null;
    }

    /// <summary>An absolute http, https or file URL.</summary>
    /// <exception cref="HerderException">InvalidUrl.</exception>
    public static Uri ValidateUrl(string url)
    {
        if (string.IsNullOrWhiteSpace(url))
            throw new HerderException(HerderFailure.InvalidUrl, "Give the page's URL: an absolute http, https or file URL.");
        // A bare Unix path parses as a file URI: a golem wants the scheme written out.
        if (!Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https" or "file")
            || !url.TrimStart().StartsWith(uri.Scheme + ":", StringComparison.OrdinalIgnoreCase)
            || (uri.Scheme != "file" && uri.Host.Length == 0))
            throw new HerderException(HerderFailure.InvalidUrl,
                $"'{HerderEnvironments.Clean(url)}' is not a page a golem can open: give an absolute http, https or file URL (http://host/page).");
        return uri;
    }

    private static string ScriptMessage(EvaluationFailedException e)
    {
        var message = e.Message.StartsWith("Evaluation failed: ", StringComparison.Ordinal) ? e.Message["Evaluation failed: ".Length..] : e.Message;
        // The stack's frames name Puppeteer's own wrapper; the first line is what the page threw.
        return FirstLine(message);
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].TrimEnd();

    private static HerderGolem Copy(HerderGolem g) => new()
    {
        Name = g.Name, Node = g.Node, Url = g.Url, ProcessId = g.ProcessId, Started = g.Started, Bootstrapped = g.Bootstrapped, BootstrapError = g.BootstrapError,
    };

    /// <summary>At the process's exit every golem's browser is killed, whoever owns it (the parent-death signal
    /// covers a process that is killed outright).</summary>
    private static void HookProcessExit()
    {
        if (Interlocked.Exchange(ref _exitHooked, 1) != 0) return;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var herd in Nodes.Values.Append(Session))
            {
                List<Golem> all;
                lock (herd._lock)
                {
                    all = herd._golems.Values.OfType<Golem>().ToList();
                    herd._golems.Clear();
                }
                foreach (var g in all)
                {
                    try { g.Browser.KillNow(); } catch (Exception) { /* exiting: the parent-death signal ends the rest */ }
                }
            }
        };
    }
}
