namespace RemoteOps.PowerShell.Tests;

/// <summary>Tests that run `Disconnect-RemoteOps -All` close every shared connection of the process, including those
/// other test classes are using at that moment; they run alone, after the parallel classes.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DisconnectsEverything
{
    public const string Name = "Disconnects every connection of the process";
}
