#requires -Version 7.5
<#
.SYNOPSIS
    The main job end to end on a throwaway dev server: remaphore upload/download between two processes, then a seaport
    service registered, waited for and called.
.DESCRIPTION
    1. Start-RemoteOpsDevServer on free ports (its own temporary data directory), and a config for it
       (New-RemoteOpsConfig: one identity that may send every verb, this node its own peer).
    2. remaphore: examples/remaphore/download.ps1 and upload.ps1, each in its own pwsh process. The downloader waits
       for upload_done; the uploader writes the file and sends the signal latched, so the order does not matter.
    3. seaport: examples/seaport/start-server.ps1 (Start-SeaportService web@1.2.3 running server.ps1 on an assigned
       port) in a runspace of this session, and examples/seaport/client.ps1 in its own pwsh process
       (Wait-SeaportService web@1.2.x, then an HTTP GET answered 'beep boop'). Stopping the runspace is Ctrl+C:
       the service is freed and its process tree killed.
    4. The dev server is stopped, the temporary directory removed, and every process the demo started is checked gone.

    Needs nats-server on PATH (or in /usr/sbin). Exits 0 when every step worked, 1 otherwise.
.EXAMPLE
    dotnet pwsh ./examples/demo.ps1           # after dotnet build RemoteOps.sln -c Release
.EXAMPLE
    ./build.ps1 Demo
#>
[CmdletBinding()]
param(
    # The module manifest to demonstrate.
    [string] $Module = (Join-Path $PSScriptRoot '..' 'out' 'RemoteOps' 'RemoteOps.psd1'),
    # The longest any one step may take.
    [int] $TimeoutSeconds = 120
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
if ($IsLinux -and ($env:PATH -split [IO.Path]::PathSeparator) -notcontains '/usr/sbin') {
    $env:PATH = $env:PATH + [IO.Path]::PathSeparator + '/usr/sbin'
}

# The command that starts this same PowerShell: pwsh, or 'dotnet <...>/pwsh.dll' under the pwsh dotnet tool.
$Pwsh = @([Environment]::ProcessPath)
if ([IO.Path]::GetFileNameWithoutExtension($Pwsh[0]) -eq 'dotnet') { $Pwsh += Join-Path $PSHOME 'pwsh.dll' }

$Module = (Resolve-Path $Module).Path
Import-Module $Module

function Write-Step([string] $Text) { Write-Host "demo $([datetime]::Now.ToString('HH:mm:ss.f')): $Text" }

# A script in a pwsh process of its own that finds the module as an installed one would be found (PSModulePath).
function Start-Script([string] $Path, [string[]] $Arguments) {
    $info = [System.Diagnostics.ProcessStartInfo]::new($Pwsh[0])
    foreach ($a in @($Pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $Path) + $Arguments) {
        $info.ArgumentList.Add($a)
    }
    $info.RedirectStandardOutput = $true
    $info.RedirectStandardError = $true
    $info.UseShellExecute = $false
    $info.Environment['PSModulePath'] = (Split-Path (Split-Path $Module)) + [IO.Path]::PathSeparator + $env:PSModulePath
    $process = [System.Diagnostics.Process]::Start($info)
    $script:Started.Add($process.Id)
    [pscustomobject]@{
        Name = Split-Path $Path -Leaf
        Process = $process
        Out = $process.StandardOutput.ReadToEndAsync()
        Err = $process.StandardError.ReadToEndAsync()
    }
}

# Waits for a script started by Start-Script; its stdout lines when it exited with 0, else an error with its stderr.
function Wait-Script($Script) {
    if (-not $Script.Process.WaitForExit($TimeoutSeconds * 1000)) {
        throw "$($Script.Name) did not finish within $TimeoutSeconds s."
    }
    $Script.Process.WaitForExit() # the output tasks complete
    $out = $Script.Out.GetAwaiter().GetResult()
    $err = $Script.Err.GetAwaiter().GetResult()
    if ($Script.Process.ExitCode -ne 0) {
        throw "$($Script.Name) exited with code $($Script.Process.ExitCode): $out $err"
    }
    @($out -split '\r?\n' | Where-Object { $_ })
}

function Test-Alive([int] $ProcessId) {
    $p = Get-Process -Id $ProcessId -ErrorAction SilentlyContinue
    if (-not $p) { return $false }
    if ($IsLinux) {
        # A zombie (exited, not yet reaped) is not running.
        $stat = "/proc/$ProcessId/stat"
        if (-not (Test-Path $stat)) { return $false }
        $text = Get-Content -Raw $stat -ErrorAction SilentlyContinue
        if (-not $text) { return $false }
        return $text[$text.LastIndexOf(')') + 2] -notin 'Z', 'X'
    }
    -not $p.HasExited
}

$script:Started = [System.Collections.Generic.List[int]]::new()
$work = Join-Path ([IO.Path]::GetTempPath()) "remoteops-demo-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
New-Item -ItemType Directory -Path $work | Out-Null
$dev = $null
$server = $null
$failed = $false
try {
    $dev = Start-RemoteOpsDevServer -Port 0 -MonitorPort 0
    $script:Started.Add($dev.ProcessId)
    Write-Step "dev server $($dev.Url) (pid $($dev.ProcessId))"
    $config = Join-Path $work 'demo.yaml'
    $dev | New-RemoteOpsConfig -Path $config -Destination demo.me | Out-Null
    Get-RemoteOpsConfig -ConfigPath $config -TestConnection | Out-Null

    # remaphore: the downloader first, waiting; then the uploader.
    $file = Join-Path $work 'bigfile'
    $download = Start-Script (Join-Path $PSScriptRoot 'remaphore' 'download.ps1') @('-ConfigPath', $config, '-File', $file, '-Timeout', "${TimeoutSeconds}s")
    Write-Step "download.ps1 waiting for upload_done (pid $($download.Process.Id))"
    $upload = Start-Script (Join-Path $PSScriptRoot 'remaphore' 'upload.ps1') @('-ConfigPath', $config, '-File', $file)
    Write-Step "upload.ps1 uploading, then signalling (pid $($upload.Process.Id))"
    $null = Wait-Script $upload
    Write-Step 'upload.ps1 wrote the file and sent upload_done (latched)'
    $downloaded = @(Wait-Script $download)
    if ($downloaded[-1] -ne 'uploaded bytes') { throw "download.ps1 fetched '$($downloaded -join '\n')', not 'uploaded bytes'." }
    Write-Step "download.ps1 got the signal and fetched: $($downloaded[-1])"

    # seaport: the client first, waiting for web@1.2.x; then the service.
    $client = Start-Script (Join-Path $PSScriptRoot 'seaport' 'client.ps1') @('-ConfigPath', $config, '-Timeout', "$TimeoutSeconds")
    Write-Step "client.ps1 waiting for web@1.2.x (pid $($client.Process.Id))"
    $server = [powershell]::Create()
    $null = $server.AddScript({
            param($Module, $Script, $ConfigPath, $Pwsh)
            Import-Module $Module
            $VerbosePreference = 'Continue'
            & $Script -ConfigPath $ConfigPath -Pwsh $Pwsh
        }).AddParameters(@{ Module = $Module; Script = (Join-Path $PSScriptRoot 'seaport' 'start-server.ps1'); ConfigPath = $config; Pwsh = $Pwsh })
    $running = $server.BeginInvoke()
    $reply = @(Wait-Script $client)
    if ($reply[-1] -ne 'beep boop') { throw "client.ps1 got '$($reply -join '\n')', not 'beep boop'." }
    $registered = @(Get-SeaportService web -ConfigPath $config)
    Write-Step "client.ps1 found $($registered[0].Role) on port $($registered[0].Port) and called it: $($reply[-1])"
    foreach ($v in $server.Streams.Verbose) {
        if ($v.Message -match '^Started .*\(pid (\d+)\)') {
            $script:Started.Add([int]$Matches[1])
            Write-Step "server.ps1 runs as pid $($Matches[1])"
        }
    }

    # Ctrl+C on start-server.ps1: frees web@1.2.3 and kills server.ps1's process tree.
    $server.Stop()
    if ($server.Streams.Error.Count -gt 0) { throw "start-server.ps1: $($server.Streams.Error -join '; ')" }
    if (@(Get-SeaportService web -ConfigPath $config).Count -ne 0) { throw 'web@1.2.3 is still registered after Ctrl+C.' }
    Write-Step 'start-server.ps1 stopped: web@1.2.3 freed'
}
catch {
    $failed = $true
    Write-Host "demo: FAILED: $_" -ForegroundColor Red
}
finally {
    if ($server) { $server.Stop(); $server.Dispose() }
    Disconnect-RemoteOps -All
    if ($dev) { $dev | Stop-RemoteOpsDevServer }
    # Whatever is still running now was left behind by a failure above: stop it, and say so.
    foreach ($id in $script:Started) {
        if (Test-Alive $id) {
            $failed = $true
            Write-Host "demo: FAILED: pid $id was still running at the end; stopping it" -ForegroundColor Red
            Stop-Process -Id $id -Force -ErrorAction SilentlyContinue
        }
    }
    Remove-Item $work -Recurse -Force -ErrorAction SilentlyContinue
}
if ($failed) { exit 1 }
Write-Step "dev server stopped; every process the demo started has exited: $($script:Started -join ', ')"
Write-Step 'done'
