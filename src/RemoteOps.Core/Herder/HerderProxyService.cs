using System.Globalization;
using System.Runtime.CompilerServices;
using RemoteOps.Processes;
using RemoteOps.Steward;

namespace RemoteOps.Herder;

/// <summary>How the proxy process is started: the dotnet host, the proxy's assembly, and the ASP.NET Core runtime
/// the host has.</summary>
public sealed record HerderProxyLaunch(string Dotnet, string Assembly, string AspNetCoreVersion);

/// <summary>
/// The node agent's reverse proxy to daemons (<c>herder.proxy_port</c>). The proxy needs ASP.NET Core (YARP runs on it),
/// which pwsh cannot load: pwsh's runtime config names only Microsoft.NETCore.App, and most pwsh installs carry their
/// own runtime without ASP.NET Core. So the proxy is its own small process (<c>HerderProxy/RemoteOps.HerderProxy.dll</c>
/// in the module folder), run by the dotnet host on the ASP.NET Core runtime installed on the node. The agent owns it:
/// it starts it with the agent, restarts it when it dies, and kills it when the agent stops; the proxy exits by itself
/// when the agent's process is gone (it watches the pid it is given), so a SIGKILLed agent leaves no proxy behind.
/// </summary>
public static class HerderProxyService
{
    public const string AssemblyName = "RemoteOps.HerderProxy.dll";
    /// <summary>The proxy targets net9.0 and rolls forward to a newer major runtime.</summary>
    public const int MinAspNetCoreMajor = 9;

#pragma warning disable CA2255 // a library's module initializer is exactly what this is for
    [ModuleInitializer]
    internal static void Register() => StewardAgentServices.Register("herder.proxy", StartAsync);
#pragma warning restore CA2255

    /// <summary>Starts the proxy process under a supervisor when herder.proxy_port is set; null when it is off or cannot run
    /// (the reason is logged as a warning: the agent serves its methods without the proxy).</summary>
    internal static Task<IAsyncDisposable?> StartAsync(StewardAgentServiceContext context, CancellationToken ct)
    {
        var port = context.Config.Herder.ProxyPort;
        if (port == 0) return Task.FromResult<IAsyncDisposable?>(null);
        var launch = Locate(out var problem);
        if (launch is null)
        {
            context.Log(StewardLogLevel.Warning, $"herder.proxy_port is {port}, but the herder proxy cannot run here: {problem} The agent runs without the proxy.");
            return Task.FromResult<IAsyncDisposable?>(null);
        }
        if (context.Config.SourcePath is not { } configPath)
        {
            context.Log(StewardLogLevel.Warning, $"herder.proxy_port is {port}, but the agent's config was not read from a file; the proxy process reads the same file, so it is not started.");
            return Task.FromResult<IAsyncDisposable?>(null);
        }
        if (context.Config.Herder.TokenIssuers.Count == 0)
            context.Log(StewardLogLevel.Warning, "herder.token_issuers is empty: the herder proxy will refuse every request (401) until an issuer is listed.");
        var options = new SupervisorOptions([launch.Dotnet, launch.Assembly,
            "--config", Path.GetFullPath(configPath), "--node", context.Node, "--parent-pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture)])
        {
            MaxRestarts = -1,
            ReadyPort = port,
            Environment = new Dictionary<string, string> { ["DOTNET_NOLOGO"] = "1" },
        };
        var stop = new CancellationTokenSource();
        var supervisor = new ProcessSupervisor(options);
        context.Log(StewardLogLevel.Information, $"Herder proxy: starting on port {port} (ASP.NET Core {launch.AspNetCoreVersion}, {launch.Assembly}).");
        var run = supervisor.RunAsync((e, _) =>
        {
            var level = e.Kind is SupervisorEventKind.Exited or SupervisorEventKind.Restarting or SupervisorEventKind.GaveUp
                ? StewardLogLevel.Warning : StewardLogLevel.Information;
            context.Log(level, "Herder proxy: " + e.Message);
            return Task.CompletedTask;
        }, line => context.Log(StewardLogLevel.Verbose, "Herder proxy: " + line), stop.Token);
        return Task.FromResult<IAsyncDisposable?>(new Running(stop, run));
    }

    private sealed class Running(CancellationTokenSource stop, Task run) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try { await run.ConfigureAwait(false); } catch (OperationCanceledException) { }
            stop.Dispose();
        }
    }

    /// <summary>Finds the dotnet host, an ASP.NET Core runtime of at least <see cref="MinAspNetCoreMajor"/> beside it,
    /// and the proxy's assembly; null with the reason (what to install) when one is missing.</summary>
    public static HerderProxyLaunch? Locate(out string problem) => Locate(FindDotnet(), ProxyAssembly(), out problem);

    /// <summary><see cref="Locate(out string)"/> with the dotnet host and the proxy's assembly given (null: not found).</summary>
    internal static HerderProxyLaunch? Locate(string? dotnet, string? assembly, out string problem)
    {
        if (assembly is null)
        {
            problem = $"{AssemblyName} is not in the module folder (HerderProxy/ beside Dependencies/); rebuild the module with build.ps1.";
            return null;
        }
        if (dotnet is null)
        {
            problem = $"the dotnet host is not found (PATH, DOTNET_ROOT or the usual install folders). Install the ASP.NET Core runtime {MinAspNetCoreMajor} or later (e.g. apt-get install aspnetcore-runtime-9.0, or dotnet-install.sh --runtime aspnetcore).";
            return null;
        }
        var root = Path.GetDirectoryName(dotnet)!;
        var installed = AspNetCoreVersions(root);
        var version = installed.LastOrDefault(v => v.Major >= MinAspNetCoreMajor);
        if (version is null)
        {
            problem = $"no ASP.NET Core runtime {MinAspNetCoreMajor} or later beside {dotnet} (found: {(installed.Count == 0 ? "none" : string.Join(", ", installed))}). Install it (e.g. apt-get install aspnetcore-runtime-9.0, or dotnet-install.sh --runtime aspnetcore).";
            return null;
        }
        problem = "";
        return new HerderProxyLaunch(dotnet, assembly, version.ToString());
    }

    /// <summary>The module's HerderProxy/ folder (beside Dependencies/, where the core is), else the core's own folder
    /// (a build output that references the proxy project).</summary>
    private static string? ProxyAssembly()
    {
        var coreDir = Path.GetDirectoryName(typeof(HerderProxyService).Assembly.Location);
        if (string.IsNullOrEmpty(coreDir)) return null;
        return new[] { Path.Combine(coreDir, "..", "HerderProxy", AssemblyName), Path.Combine(coreDir, AssemblyName) }
            .Select(Path.GetFullPath).FirstOrDefault(File.Exists);
    }

    private static string DotnetName => OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";

    /// <summary>The dotnet host (muxer): the running one when this process is dotnet, else DOTNET_HOST_PATH, DOTNET_ROOT,
    /// PATH (symlinks followed to the install folder), and the usual install folders.</summary>
    internal static string? FindDotnet()
    {
        var candidates = new List<string?>();
        if (Environment.ProcessPath is { } self && Path.GetFileName(self).Equals(DotnetName, StringComparison.OrdinalIgnoreCase)) candidates.Add(self);
        candidates.Add(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH"));
        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root) candidates.Add(Path.Combine(root, DotnetName));
        candidates.Add(ExecutableLocator.Find(DotnetName));
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        candidates.AddRange(OperatingSystem.IsWindows()
            ? [Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ProgramFiles), "dotnet", DotnetName)]
            : ["/usr/share/dotnet/dotnet", "/usr/lib/dotnet/dotnet", "/usr/local/share/dotnet/dotnet", "/opt/dotnet/dotnet", Path.Combine(home, ".dotnet", "dotnet")]);
        foreach (var candidate in candidates)
        {
            if (string.IsNullOrEmpty(candidate) || !File.Exists(candidate)) continue;
            var real = candidate;
            try { if (File.ResolveLinkTarget(candidate, returnFinalTarget: true) is { } target) real = target.FullName; }
            catch (IOException) { }
            if (Directory.Exists(Path.Combine(Path.GetDirectoryName(real)!, "shared"))) return real;
        }
        return null;
    }

    /// <summary>The ASP.NET Core runtimes installed beside a dotnet host (shared/Microsoft.AspNetCore.App/&lt;version&gt;).</summary>
    internal static IReadOnlyList<Version> AspNetCoreVersions(string dotnetRoot)
    {
        var dir = Path.Combine(dotnetRoot, "shared", "Microsoft.AspNetCore.App");
        if (!Directory.Exists(dir)) return [];
        return Directory.GetDirectories(dir)
            .Select(d => Path.GetFileName(d).Split('-')[0])
            .Select(v => Version.TryParse(v, out var parsed) ? parsed : null)
            .OfType<Version>().OrderBy(v => v).ToList();
    }
}
