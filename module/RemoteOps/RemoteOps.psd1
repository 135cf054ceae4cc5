@{
    RootModule           = 'RemoteOps.PowerShell.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '5d0c3f5e-8a43-4c1e-9d6b-2f1f6f0c7a11'
    Author               = 'RemoteOps'
    CompanyName          = 'RemoteOps'
    Copyright            = '(c) RemoteOps. MIT License.'
    Description          = 'Coordinate processes on many machines through NATS: signed remote semaphores (remaphore), on a shared core of config, identities and connection.'
    PowerShellVersion    = '7.5'
    CompatiblePSEditions = @('Core')
    # The types users see; loaded in the default context before the cmdlets.
    RequiredAssemblies   = @('RemoteOps.Models.dll')
    FormatsToProcess     = @('RemoteOps.format.ps1xml')
    CmdletsToExport      = @(
        'New-RemoteOpsConfig'
        'Get-RemoteOpsConfig'
        'ConvertFrom-RemaphoreConfig'
        'New-RemoteOpsIdentity'
        'Disconnect-RemoteOps'
        'Start-RemoteOpsDevServer'
        'Stop-RemoteOpsDevServer'
        'Send-Remaphore'
        'Wait-Remaphore'
        'Invoke-Remaphore'
        'Register-SeaportService'
        'Get-SeaportService'
        'Wait-SeaportService'
        'Unregister-SeaportService'
        'Watch-SeaportService'
        'Set-SeaportService'
        'Start-SeaportService'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('NATS', 'semaphore', 'coordination', 'service-registry', 'ops')
            ProjectUri = 'https://example.invalid/remoteops'
        }
    }
}
