#!/usr/bin/env pwsh
#requires -Version 7.5
<#
.SYNOPSIS
    Builds, tests and packages the RemoteOps module.
.DESCRIPTION
    Build    dotnet build RemoteOps.sln: assembles the importable module at out/RemoteOps/.
    Test     dotnet test RemoteOps.sln (the xunit suites, against real nats-servers: nats-server must be on PATH),
             then tests/pester/*.Tests.ps1 when Pester 5 is installed (skipped with a warning otherwise).
    Package  zips out/RemoteOps/ to out/RemoteOps-<version>.zip (building first when needed).
.EXAMPLE
    ./build.ps1                       # Build
.EXAMPLE
    ./build.ps1 Build, Test, Package
.EXAMPLE
    ./build.ps1 Test -Filter 'FullyQualifiedName~Foundation'
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Test', 'Package')]
    [string[]] $Task = @('Build'),

    [ValidateSet('Release', 'Debug')]
    [string] $Configuration = 'Release',

    # Passed to dotnet test --filter.
    [string] $Filter
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$Root = $PSScriptRoot
$Solution = Join-Path $Root 'RemoteOps.sln'
$ModuleDir = Join-Path $Root 'out' 'RemoteOps'
$Manifest = Join-Path $ModuleDir 'RemoteOps.psd1'

function Invoke-Dotnet {
    Write-Host "dotnet $($args -join ' ')" -ForegroundColor Cyan
    & dotnet @args
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($args[0]) failed (exit code $LASTEXITCODE)." }
}

function Invoke-Build {
    Invoke-Dotnet build $Solution -c $Configuration
}

function Invoke-Test {
    $arguments = @('test', $Solution, '-c', $Configuration)
    if ($Filter) { $arguments += @('--filter', $Filter) }
    Invoke-Dotnet @arguments

    $pesterTests = @(Get-ChildItem -Path (Join-Path $Root 'tests' 'pester') -Filter '*.Tests.ps1' -ErrorAction SilentlyContinue)
    if ($pesterTests.Count -eq 0) { return }
    $pester = Get-Module -ListAvailable -Name Pester | Where-Object Version -GE ([version]'5.0') | Sort-Object Version -Descending | Select-Object -First 1
    if (-not $pester) {
        Write-Warning 'Pester 5 is not installed (Install-Module Pester); skipping tests/pester. The xunit suites above are the gate.'
        return
    }
    # A child pwsh, so the module's assemblies are not left loaded in this session.
    $pwsh = (Get-Process -Id $PID).Path
    $script = "Import-Module Pester -MinimumVersion 5.0; `$r = Invoke-Pester -Path '$(Join-Path $Root 'tests' 'pester')' -Output Detailed -PassThru; exit `$r.FailedCount"
    & $pwsh -NoProfile -NonInteractive -Command $script
    if ($LASTEXITCODE -ne 0) { throw "Pester: $LASTEXITCODE test(s) failed." }
}

function Invoke-Package {
    if (-not (Test-Path $Manifest)) { Invoke-Build }
    $version = (Import-PowerShellDataFile $Manifest).ModuleVersion
    $zip = Join-Path $Root 'out' "RemoteOps-$version.zip"
    # The archive holds the RemoteOps folder itself, ready to extract into a $env:PSModulePath directory.
    Compress-Archive -Path $ModuleDir -DestinationPath $zip -Force
    Write-Host "Packaged $zip"
    Get-Item $zip
}

foreach ($t in $Task) {
    switch ($t) {
        'Build' { Invoke-Build }
        'Test' { Invoke-Test }
        'Package' { Invoke-Package }
    }
}
