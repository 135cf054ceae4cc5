namespace RemoteOps.Steward;

/// <summary>The services other tools host on the agent (<see cref="StewardAgentServices"/>).</summary>
public sealed partial class StewardAgent
{
    private IReadOnlyList<IAsyncDisposable> _services = [];

    private async Task StartServicesAsync(CancellationToken ct) =>
        _services = await StewardAgentServices.StartAllAsync(new StewardAgentServiceContext(_config, Name, DataDirectory, Log), ct).ConfigureAwait(false);

    private async Task StopServicesAsync() => await StewardAgentServices.StopAllAsync(_services, Log).ConfigureAwait(false);
}
