using System.Runtime.Loader;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

[Collection(DisconnectsEverything.Name)]
public class ModuleTests
{
    [Fact]
    public void Core_and_NATS_load_in_the_module_context_and_models_in_the_default_one()
    {
        using var pwsh = new Pwsh();
        // Touch the core so its dependencies load.
        var result = pwsh.Run("Disconnect-RemoteOps -All");
        Assert.False(result.HadErrors, result.ErrorText);

        var nats = AppDomain.CurrentDomain.GetAssemblies().Where(a => a.GetName().Name == "NATS.Client.Core").ToList();
        Assert.NotEmpty(nats);
        Assert.All(nats, a => Assert.Equal("RemoteOps", AssemblyLoadContext.GetLoadContext(a)!.Name));
        var core = AppDomain.CurrentDomain.GetAssemblies().Single(a => a.GetName().Name == "RemoteOps.Core");
        Assert.Equal("RemoteOps", AssemblyLoadContext.GetLoadContext(core)!.Name);
        var models = AppDomain.CurrentDomain.GetAssemblies().Single(a => a.GetName().Name == "RemoteOps.Models");
        Assert.Same(AssemblyLoadContext.Default, AssemblyLoadContext.GetLoadContext(models));
    }
}
