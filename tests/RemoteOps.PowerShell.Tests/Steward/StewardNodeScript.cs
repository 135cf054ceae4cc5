namespace RemoteOps.PowerShell.Tests;

/// <summary>PowerShell that plays a steward node's part in the store, for cmdlet tests where a node must answer: the
/// module's own core (loaded in the module's load context, so reached by reflection) opens the store with the node's
/// config and moves a record Queued → Delivered → Running → final, signed by the node, as the agent does.</summary>
public static class StewardNodeScript
{
    public const string Script = """
        param($NodeConfig, $SenderConfig, $Node, $Status, $Output, [string[]] $Lines)
        $none = [Threading.CancellationToken]::None
        # Any steward cmdlet loads the core; find it.
        Get-StewardMessage -Status Running -ConfigPath $SenderConfig | Out-Null
        $core = @([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'RemoteOps.Core' })[0]
        $config = $core.GetType('RemoteOps.Config.ConfigLoader')::Load($NodeConfig, $null)
        $key = $core.GetType('RemoteOps.Identity.IdentityStore')::Resolve($config, $null, $null).Item2
        $connection = $core.GetType('RemoteOps.Messaging.ConnectionPool')::GetAsync($config, $none).AsTask().GetAwaiter().GetResult()
        $store = $core.GetType('RemoteOps.Steward.StewardStore')::OpenAsync($connection, $config, $none).GetAwaiter().GetResult()
        function Move-Record($Id, [hashtable] $Change) {
            $stored = $store.GetAsync($Id, $none).GetAwaiter().GetResult()
            $current = $stored.Record
            $next = $current.GetType().GetMethod('<Clone>$').Invoke($current, @())
            $Change['Updated'] = [DateTimeOffset]::UtcNow
            foreach ($name in $Change.Keys) { $next.GetType().GetProperty($name).SetValue($next, $Change[$name]) }
            if ($null -eq $store.TryMoveAsync($current, $stored.Revision, $next, $key, $none).GetAwaiter().GetResult()) { throw "could not move $Id" }
        }
        # Wait (bounded) for the sender's message to this node.
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        do {
            $queued = @(Get-StewardMessage -ToNode $Node -Status Queued -ConfigPath $SenderConfig)
            if ($queued.Count -eq 0) { [Threading.Thread]::Sleep(20) }
        } while ($queued.Count -eq 0 -and [DateTime]::UtcNow -lt $deadline)
        if ($queued.Count -eq 0) { throw "no message for $Node" }
        $id = $queued[0].MessageId
        Move-Record $id @{ Status = [RemoteOps.Steward.StewardStatus]::Delivered; Attempts = 1 }
        Move-Record $id @{ Status = [RemoteOps.Steward.StewardStatus]::Running; Started = [Nullable[DateTimeOffset]][DateTimeOffset]::UtcNow }
        $sequence = 0
        foreach ($line in $Lines) {
            $sequence++
            $chunkType = $core.GetType('RemoteOps.Steward.StewardChunk')
            $chunk = [Activator]::CreateInstance($chunkType)
            foreach ($p in @{ MessageId = $id; Node = $Node; Sequence = [long]$sequence; Line = $line; Time = [DateTimeOffset]::UtcNow }.GetEnumerator()) {
                $chunkType.GetProperty($p.Key).SetValue($chunk, $p.Value)
            }
            $store.PublishChunkAsync($chunk, $key, $none).GetAwaiter().GetResult()
        }
        Move-Record $id @{ Status = [Enum]::Parse([RemoteOps.Steward.StewardStatus], $Status); Output = [string]$Output; ExitCode = [Nullable[int]]0
            Finished = [Nullable[DateTimeOffset]][DateTimeOffset]::UtcNow; Chunks = [long]$sequence }
        $id
        """;
}
