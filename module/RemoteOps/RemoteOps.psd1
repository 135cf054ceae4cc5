@{
    RootModule           = 'RemoteOps.PowerShell.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '5d0c3f5e-8a43-4c1e-9d6b-2f1f6f0c7a11'
    Author               = 'RemoteOps'
    CompanyName          = 'RemoteOps'
    Copyright            = '(c) RemoteOps. MIT License.'
    Description          = 'Coordinate processes on many machines through NATS, on one core of config, Ed25519 identities and connection. Available now: remaphore, a remote semaphore (signed signals that processes wait for, run commands on, or request and answer); seaport, a service registry with port assignment (name@version registrations, semver queries, wait, watch, heartbeats, a service supervisor). Planned, not yet in this version: steward, command and control of nodes; golem-herder, sandboxed minions, daemons and golems.'
    PowerShellVersion    = '7.5'
    CompatiblePSEditions = @('Core')
    # The types users see; loaded in the default context before the cmdlets.
    RequiredAssemblies   = @('RemoteOps.Models.dll')
    FormatsToProcess     = @('RemoteOps.format.ps1xml')
    CmdletsToExport      = @(
        'New-RemoteOpsConfig'
        'Get-RemoteOpsConfig'
        'Test-RemoteOpsConfig'
        'ConvertFrom-RemaphoreConfig'
        'New-RemoteOpsIdentity'
        'Disconnect-RemoteOps'
        'Start-RemoteOpsDevServer'
        'Get-RemoteOpsDevServer'
        'Stop-RemoteOpsDevServer'
        'Send-Remaphore'
        'Wait-Remaphore'
        'Invoke-Remaphore'
        'Get-RemaphoreLatch'
        'Clear-RemaphoreLatch'
        'Register-SeaportService'
        'Get-SeaportService'
        'Wait-SeaportService'
        'Unregister-SeaportService'
        'Watch-SeaportService'
        'Set-SeaportService'
        'Start-SeaportService'
        # steward
        'Start-StewardNode'
        'Invoke-StewardMethod'
        'Get-StewardMessage'
        'Receive-StewardReply'
        'Remove-StewardMessage'
        # steward fleet
        'Get-StewardNode'
        'Get-StewardError'
        'Invoke-StewardCommand'
        # steward fleet governors
        'New-StewardGovernor'
        'Get-StewardGovernor'
        'Remove-StewardGovernor'
        # steward audit log (issue 10)
        'Get-StewardAudit'
        # herder
        'Invoke-HerderMinion'
        'Get-HerderEnvironment'
        'New-HerderToken'
        'Get-HerderToken'
        # herder golems
        'Start-HerderGolem'
        'Get-HerderGolem'
        'Invoke-HerderGolem'
        'Stop-HerderGolem'
        # herder daemons
        'Start-HerderDaemon'
        'Get-HerderDaemon'
        'Stop-HerderDaemon'
        'Connect-HerderDaemon'
        'Receive-HerderDaemonLog'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('NATS', 'semaphore', 'coordination', 'service-registry', 'ops')
            ProjectUri   = 'https://example.invalid/remoteops'
            LicenseUri   = 'https://example.invalid/remoteops/blob/main/LICENSE'
            ReleaseNotes = @'
0.1.0: remaphore (Send-, Wait-, Invoke-Remaphore) and seaport (Register-, Get-, Wait-, Unregister-, Watch-, Set-,
Start-SeaportService) on the foundation cmdlets (config, identities, connection, dev server). Checked in a real pwsh
(Pester) as well as the xunit suites; NKey auth through the NATS.NKeys package. Tab completion from the config,
the registry and the running dev servers; Get-/Clear-RemaphoreLatch; Get-RemoteOpsDevServer; help checked against the
cmdlets; about_Remaphore and about_Seaport. See CHANGELOG.md.
'@
        }
    }
}
