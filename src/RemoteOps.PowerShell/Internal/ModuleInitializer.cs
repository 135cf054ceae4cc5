using System.Management.Automation;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace RemoteOps.PowerShell.Internal;

/// <summary>Dependency isolation, after the PowerShell docs' "Resolving PowerShell module assembly
/// dependency conflicts": RemoteOps.Core and everything it brings (NATS.Client.Core, Microsoft.Extensions.*,
/// YamlDotNet, NSec with its native libsodium) load in the module's own AssemblyLoadContext, so they never
/// clash with the versions pwsh itself loads. Only RemoteOps.PowerShell and RemoteOps.Models (no dependencies,
/// the types users see) live in the default context.</summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    private static readonly string ModuleDirectory = Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location)!;
    internal static readonly DependencyLoadContext LoadContext = new(Path.Combine(ModuleDirectory, "Dependencies"));
    private static int _hooked;

    public void OnImport()
    {
        if (Interlocked.Exchange(ref _hooked, 1) == 0)
            AssemblyLoadContext.Default.Resolving += ResolveIntoModuleContext;
    }

    public void OnRemove(PSModuleInfo module)
    {
        // Keep the hook while any runspace of this process may still use the module's types:
        // removing it would break a second runspace that imported the module too.
        // The golems this session started go with the module (Start-HerderGolem without -Node).
        SessionGolems.StopForCurrentRunspace();
    }

    private static Assembly? ResolveIntoModuleContext(AssemblyLoadContext defaultContext, AssemblyName name)
    {
        // Only the core is requested from the default context (by the cmdlets); its own
        // dependencies are then resolved by the module context itself.
        return name.Name == "RemoteOps.Core" ? LoadContext.LoadFromAssemblyName(name) : null;
    }
}

internal sealed class DependencyLoadContext(string directory) : AssemblyLoadContext("RemoteOps", isCollectible: false)
{
    protected override Assembly? Load(AssemblyName name)
    {
        // The user-visible types are shared with the default context, never duplicated.
        if (name.Name is "RemoteOps.Models" or null) return null;
        var path = Path.Combine(directory, name.Name + ".dll");
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        // NSec's P/Invokes name "libsodium", Microsoft.Data.Sqlite's "e_sqlite3"; the module ships one of each per
        // platform under runtimes/<rid>/native.
        var library = unmanagedDllName.Contains("sodium", StringComparison.OrdinalIgnoreCase) ? "sodium"
            : unmanagedDllName.Contains("e_sqlite3", StringComparison.OrdinalIgnoreCase) ? "e_sqlite3" : null;
        if (library is null) return IntPtr.Zero;
        var file = OperatingSystem.IsWindows() ? $"{(library == "sodium" ? "lib" : "")}{library}.dll" : OperatingSystem.IsMacOS() ? $"lib{library}.dylib" : $"lib{library}.so";
        var os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        var arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        var path = Path.Combine(directory, "runtimes", $"{os}-{arch}", "native", file);
        return File.Exists(path) ? LoadUnmanagedDllFromPath(path) : IntPtr.Zero;
    }
}
