# Runs tests/pester/*.Tests.ps1 with the Pester that the build restored, and writes the counts to -Summary as JSON.
# build.ps1 Test/Pester starts it in a child pwsh. It exits 0 whatever the tests did (the counts say that); a non-zero
# exit or a missing summary means pwsh or Pester itself did not run to the end.
param(
    [Parameter(Mandatory)] [string] $PesterManifest,
    [Parameter(Mandatory)] [string] $Summary,
    [string] $TestPath = $PSScriptRoot,
    # No ANSI colours (CI logs).
    [switch] $Plain
)
$ErrorActionPreference = 'Stop'
Import-Module (Resolve-Path $PesterManifest).Path
$configuration = New-PesterConfiguration
$configuration.Run.Path = $TestPath
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
if ($Plain) { $configuration.Output.RenderMode = 'Plaintext' }
$r = Invoke-Pester -Configuration $configuration
[ordered]@{
    Result = [string]$r.Result; Passed = $r.PassedCount; Failed = $r.FailedCount; Skipped = $r.SkippedCount
    NotRun = $r.NotRunCount; FailedBlocks = $r.FailedBlocksCount; FailedContainers = $r.FailedContainersCount
    FailedNames = @($r.Failed | ForEach-Object { $_.ExpandedPath })
} | ConvertTo-Json | Set-Content -Path $Summary
