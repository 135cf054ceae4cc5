#!/usr/bin/env pwsh
#requires -Version 7.5
<#
.SYNOPSIS
    Builds, tests and packages the RemoteOps module.
.DESCRIPTION
    Build    dotnet build RemoteOps.sln: assembles the importable module at out/RemoteOps/ and restores Pester
             (pinned in tests/pester/Pester.Restore.csproj) to tools/Pester/.
    Test     dotnet test RemoteOps.sln (the xunit suites, against real nats-servers: nats-server must be on PATH or in
             /usr/sbin), then tests/pester/*.Tests.ps1 in a child pwsh against out/RemoteOps. Ends with the line
             'Total: <n> passed, <n> failed' (both suites) and exits 1 when anything failed.
    Pester   only the Pester suite (after a build).
    Demo     examples/demo.ps1 in a child pwsh: remaphore upload/download and a seaport service on a throwaway dev server.
    Package  builds, then zips out/RemoteOps/ (with LICENSE) to out/RemoteOps-<version>.zip.

    Works in an installed pwsh and in the repository's pinned one: dotnet tool restore; dotnet pwsh ./build.ps1 Test.
.EXAMPLE
    ./build.ps1                       # Build
.EXAMPLE
    dotnet tool restore; dotnet pwsh ./build.ps1 Test
.EXAMPLE
    ./build.ps1 Build, Test, Package
.EXAMPLE
    ./build.ps1 Test -Filter 'FullyQualifiedName~Foundation'
#>
[CmdletBinding()]
param(
    # Build, Test, Pester, Demo, Package. From a shell (pwsh -File) 'Build, Test' and 'Build,Test' work too.
    [Parameter(Position = 0, ValueFromRemainingArguments)]
    [string[]] $Task = @('Build'),

    [ValidateSet('Release', 'Debug')]
    [string] $Configuration = 'Release',

    # Passed to dotnet test --filter (the Pester suite runs whole).
    [string] $Filter
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$Task = @($Task -split ',' | ForEach-Object Trim | Where-Object { $_ })
$unknown = @($Task | Where-Object { $_ -notin 'Build', 'Test', 'Pester', 'Demo', 'Package' })
if ($unknown) { throw "Unknown task(s): $($unknown -join ', '). Tasks: Build, Test, Pester, Demo, Package." }

$Root = $PSScriptRoot
$Solution = Join-Path $Root 'RemoteOps.sln'
$ModuleDir = Join-Path $Root 'out' 'RemoteOps'
$Manifest = Join-Path $ModuleDir 'RemoteOps.psd1'
$PesterManifest = Join-Path $Root 'tools' 'Pester' 'Pester.psd1'
$ResultsDir = Join-Path $Root 'out' 'TestResults'
# nats-server where Debian puts it, for the tests and the demo.
if ($IsLinux -and ($env:PATH -split [IO.Path]::PathSeparator) -notcontains '/usr/sbin') {
    $env:PATH = $env:PATH + [IO.Path]::PathSeparator + '/usr/sbin'
}

$script:Built = $false
# Suite name -> @{ Passed; Failed; Note }, in the order run.
$script:Results = [ordered]@{}
$script:FailureMessages = [System.Collections.Generic.List[string]]::new()

function Invoke-Dotnet {
    Write-Host "dotnet $($args -join ' ')" -ForegroundColor Cyan
    & dotnet @args
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($args[0]) failed (exit code $LASTEXITCODE)." }
}

# The command that starts this same PowerShell: pwsh itself, or 'dotnet <...>/pwsh.dll' when this is the pwsh dotnet
# tool (whose process is dotnet running pwsh.dll, so the process path alone would start dotnet, not pwsh).
function Get-PwshCommand {
    $exe = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') {
        $dll = Join-Path $PSHOME 'pwsh.dll'
        if (-not (Test-Path $dll)) { throw "This PowerShell runs under dotnet, but $dll does not exist." }
        return @($exe, $dll)
    }
    @($exe)
}

function Invoke-Pwsh {
    $command = @(Get-PwshCommand)
    $exe = $command[0]
    $rest = @($command | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive') + $args
    Write-Host "$exe $($rest -join ' ')" -ForegroundColor Cyan
    & $exe @rest | Out-Host
    $LASTEXITCODE
}

function Invoke-Build {
    Invoke-Dotnet build $Solution -c $Configuration
    $script:Built = $true
}

function Invoke-XunitTests {
    # Build the whole solution first: dotnet test builds only the test projects and what they reference, not
    # tests/pester/Pester.Restore.csproj, which restores Pester for the Pester suite.
    if (-not $script:Built) { Invoke-Build }
    $arguments = @('test', $Solution, '-c', $Configuration, '--no-build')
    if ($Filter) { $arguments += @('--filter', $Filter) }
    Write-Host "dotnet $($arguments -join ' ')" -ForegroundColor Cyan
    # The counts are dotnet test's own summary, one line per test assembly:
    #   Passed!  - Failed:     0, Passed:   293, Skipped:     0, Total:   293, Duration: 14 s - RemoteOps.Core.Tests.dll (net10.0)
    # (.trx files would do too, but their default names are per second and can collide between test projects.)
    $passed = 0; $failed = 0; $assemblies = 0
    $failedNames = [System.Collections.Generic.List[string]]::new()
    $script:FailureMessages = [System.Collections.Generic.List[string]]::new()
    $inMessage = $false
    & dotnet @arguments | ForEach-Object {
        # '  Failed RemoteOps.Core.Tests.X.Y [12 ms]' and its error message (up to 'Stack Trace:') are repeated in the
        # closing summary, since CI logs keep only the tail.
        # A theory's name holds its arguments, spaces and all: 'Failed X.Y(name: "a b") [< 1 ms]'.
        if ($_ -match '^\s+Failed\s+(.+?)\s+\[[^\]]*\]\s*$') { $failedNames.Add($Matches[1]); $script:FailureMessages.Add($_); $inMessage = $true }
        # xunit's own line for the same failure, kept in case the console logger's format changes.
        elseif ($_ -match '^\[xUnit\.net [^\]]*\]\s+(.+?)\s+\[FAIL\]\s*$') { $script:FailureMessages.Add($_) }
        elseif ($inMessage -and $_ -match '^\s+Stack Trace:') { $inMessage = $false }
        elseif ($inMessage -and $script:FailureMessages.Count -lt 200) { $script:FailureMessages.Add($_) }
        if ($_ -match '^\s*(Passed|Failed)!\s+-\s+Failed:\s+(\d+),\s+Passed:\s+(\d+),\s+Skipped:\s+(\d+),\s+Total:\s+(\d+)') {
            $failed += [int]$Matches[2]; $passed += [int]$Matches[3]; $assemblies++
        }
        $_
    } | Out-Host
    $code = $LASTEXITCODE

    $note = $null
    if ($code -ne 0 -and $failed -eq 0) {
        # A build error or a crashed test host: no failed test is counted, yet the suite did not pass.
        $failed = 1
        $note = "dotnet test exited with code $code without a failed test in its summary (build error or test host crash); counted as 1 failure"
    }
    elseif ($assemblies -eq 0) {
        $note = 'no test assembly reported a summary'
    }
    if ($failedNames.Count -gt 0) {
        $note = (@($note, "failed: $($failedNames -join ', ')") | Where-Object { $_ }) -join '; '
    }
    $script:Results['xunit'] = @{ Passed = $passed; Failed = $failed; Note = $note }
}

function Invoke-PesterTests {
    if (-not (Test-Path $PesterManifest)) {
        throw "Pester is not restored at $PesterManifest. It comes with the build (dotnet build RemoteOps.sln builds tests/pester/Pester.Restore.csproj; dotnet test alone does not)."
    }
    if (-not (Test-Path $Manifest)) { throw "The module is not built at $Manifest. Run ./build.ps1 Build first." }
    New-Item -ItemType Directory -Force -Path $ResultsDir | Out-Null
    $summary = Join-Path $ResultsDir 'pester-summary.json'
    Remove-Item $summary -ErrorAction SilentlyContinue

    # A child pwsh, so the module's assemblies are not left loaded in this session. The runner records the counts in a
    # file and exits 0 whatever the tests did: a non-zero exit or no file means pwsh or Pester itself failed.
    $runner = @('-File', (Join-Path $Root 'tests' 'pester' 'Invoke-PesterSuite.ps1'), '-PesterManifest', $PesterManifest, '-Summary', $summary)
    if ($env:CI -or [Console]::IsOutputRedirected) { $runner += '-Plain' }
    $code = Invoke-Pwsh @runner

    if ($code -ne 0 -or -not (Test-Path $summary)) {
        $script:Results['Pester'] = @{ Passed = 0; Failed = 1; Note = "pwsh did not run the Pester suite to the end (exit code $code, summary written: $(Test-Path $summary)); counted as 1 failure" }
        return
    }
    $s = Get-Content -Raw $summary | ConvertFrom-Json
    $failed = [int]$s.Failed
    $note = $null
    if ($s.Result -ne 'Passed' -and $failed -eq 0) {
        # A failing BeforeAll/AfterAll or a file that cannot be discovered fails blocks or containers, not tests.
        $failed = 1
        $note = "Pester result $($s.Result) ($($s.FailedBlocks) failed block(s), $($s.FailedContainers) failed container(s)); counted as 1 failure"
    }
    if ($s.FailedNames) {
        $note = (@($note, "failed: $(@($s.FailedNames) -join ', ')") | Where-Object { $_ }) -join '; '
    }
    if ([int]$s.Skipped -gt 0 -or [int]$s.NotRun -gt 0) {
        $note = (@($note, "$($s.Skipped) skipped, $($s.NotRun) not run") | Where-Object { $_ }) -join '; '
    }
    $script:Results['Pester'] = @{ Passed = [int]$s.Passed; Failed = $failed; Note = $note }
}

function Invoke-Demo {
    if (-not $script:Built) { Invoke-Build }
    $code = Invoke-Pwsh -File (Join-Path $Root 'examples' 'demo.ps1') -Module $Manifest
    if ($code -ne 0) { throw "The demo failed (exit code $code)." }
}

function Invoke-Package {
    # Always from a fresh build, never from whatever out/RemoteOps holds.
    if (-not $script:Built) { Invoke-Build }
    Copy-Item (Join-Path $Root 'LICENSE') $ModuleDir -Force
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
        'Test' { Invoke-XunitTests; Invoke-PesterTests }
        'Pester' { if (-not $script:Built) { Invoke-Build }; Invoke-PesterTests }
        'Demo' { Invoke-Demo }
        'Package' { Invoke-Package }
    }
}

if ($script:Results.Count -gt 0) {
    # The summary, one line per suite, then the closing line CI reads: 'Total: <n> passed, <n> failed'.
    $passed = 0; $failed = 0
    Write-Host ''
    if ($script:FailureMessages -and $script:FailureMessages.Count -gt 0) {
        Write-Host 'xunit failures:'
        $script:FailureMessages | ForEach-Object { Write-Host $_ }
        Write-Host ''
    }
    foreach ($name in $script:Results.Keys) {
        $r = $script:Results[$name]
        $passed += $r.Passed; $failed += $r.Failed
        $line = "${name}: $($r.Passed) passed, $($r.Failed) failed"
        if ($r.Note) { $line += " ($($r.Note))" }
        Write-Host $line
    }
    Write-Host "Total: $passed passed, $failed failed"
    if ($failed -gt 0) { exit 1 }
}
