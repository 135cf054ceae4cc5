# Scripts fail like the seed's CLI: `remaphore -u x && next` stops when the wait times out. Each test runs a script in
# its own real pwsh (-File, as a bash chain or a scheduled task runs it) against a throwaway dev server, and checks the
# exit code on the timeout path and on the success path. Needs nats-server (on PATH or in /usr/sbin) and bash.

BeforeAll {
    $script:OutDir = (Resolve-Path (Join-Path $PSScriptRoot '..' '..' 'out')).Path
    $script:Manifest = Join-Path $script:OutDir 'RemoteOps' 'RemoteOps.psd1'
    $script:Examples = (Resolve-Path (Join-Path $PSScriptRoot '..' '..' 'examples')).Path
    Import-Module $script:Manifest -Force
    if ($IsLinux -and ($env:PATH -split [IO.Path]::PathSeparator) -notcontains '/usr/sbin') {
        $env:PATH = $env:PATH + [IO.Path]::PathSeparator + '/usr/sbin'
    }

    . (Join-Path $PSScriptRoot 'ChildProcess.ps1')
    # Children find the module as an installed one would be (PSModulePath), and print no colour codes.
    $script:ChildEnvironment = @{ PSModulePath = $script:OutDir + [IO.Path]::PathSeparator + $env:PSModulePath; NO_COLOR = '1' }

    # The child pwsh as a bash word list, for bash chains.
    $script:PwshForBash = (@($script:Pwsh) + '-NoProfile', '-NonInteractive' | ForEach-Object { "'" + ($_ -replace "'", "'\''") + "'" }) -join ' '

    $script:Dev = Start-RemoteOpsDevServer -Port 0 -MonitorPort 0
    $script:Config = Join-Path $TestDrive 'exitcodes.yaml'
    $script:Dev | New-RemoteOpsConfig -Path $script:Config -Destination test.exitcodes | Out-Null
}

AfterAll {
    Disconnect-RemoteOps -All
    if ($script:Dev) { $script:Dev | Stop-RemoteOpsDevServer }
    Remove-Module RemoteOps -ErrorAction SilentlyContinue
}

Describe 'examples/remaphore/download.ps1 under pwsh -File' {
    It 'exits non-zero when the wait times out, and does not download' {
        $file = Join-Path $TestDrive 'never'
        $r = Invoke-ChildPwsh @('-File', (Join-Path $script:Examples 'remaphore' 'download.ps1'), '-ConfigPath', $script:Config,
            '-File', $file, '-Uuid', "never-$([guid]::NewGuid().ToString('n'))", '-Timeout', '1') $script:ChildEnvironment
        $r.ExitCode | Should -Not -Be 0
        $r.Err | Should -BeLike '*No matching message*'
        $r.Out | Should -BeNullOrEmpty
    }

    It 'exits 0 after the signal, having downloaded' {
        $file = Join-Path $TestDrive 'bigfile'
        $uuid = "up-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
        # upload.ps1 latches the signal, so the downloader started after it still proceeds.
        $up = Invoke-ChildPwsh @('-File', (Join-Path $script:Examples 'remaphore' 'upload.ps1'), '-ConfigPath', $script:Config, '-File', $file, '-Uuid', $uuid) $script:ChildEnvironment
        $up.Err | Should -BeNullOrEmpty
        $up.ExitCode | Should -Be 0
        $r = Invoke-ChildPwsh @('-File', (Join-Path $script:Examples 'remaphore' 'download.ps1'), '-ConfigPath', $script:Config,
            '-File', $file, '-Uuid', $uuid, '-Timeout', '60') $script:ChildEnvironment
        $r.Err | Should -BeNullOrEmpty
        $r.ExitCode | Should -Be 0
        $r.Out[-1] | Should -Be 'uploaded bytes'
    }

    It 'exits non-zero when its config is broken' {
        $bad = Join-Path $TestDrive 'broken.yaml'
        Set-Content $bad "subject: remaphore`nallow_skew: 5 parsecs"
        $r = Invoke-ChildPwsh @('-File', (Join-Path $script:Examples 'remaphore' 'upload.ps1'), '-ConfigPath', $bad, '-File', (Join-Path $TestDrive 'x')) $script:ChildEnvironment
        $r.ExitCode | Should -Not -Be 0
        $r.Err | Should -BeLike '*allow_skew*'
    }
}

Describe 'examples/seaport/client.ps1 under pwsh -File' {
    It 'exits non-zero when no service comes before the timeout' {
        $r = Invoke-ChildPwsh @('-File', (Join-Path $script:Examples 'seaport' 'client.ps1'), '-ConfigPath', $script:Config, '-Timeout', '1') $script:ChildEnvironment
        $r.ExitCode | Should -Not -Be 0
        $r.Out | Should -BeNullOrEmpty
    }
}

Describe 'chains stop when the wait times out' {
    BeforeAll {
        $script:Uuid = "never-$([guid]::NewGuid().ToString('n'))"
    }

    It 'a bash && chain stops after pwsh -File download.ps1 times out' {
        $download = Join-Path $script:Examples 'remaphore' 'download.ps1'
        $chain = "$script:PwshForBash -File '$download' -ConfigPath '$script:Config' -File /nonexistent -Uuid $script:Uuid -Timeout 1 && echo next-step"
        $r = Invoke-Child 'bash' @('-c', $chain) $script:ChildEnvironment
        $r.ExitCode | Should -Not -Be 0
        $r.Out | Should -Not -Contain 'next-step'
    }

    It 'a bash && chain goes on after pwsh -File download.ps1 got its signal' {
        $file = Join-Path $TestDrive 'chained'
        $uuid = "chain-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
        $upload = Join-Path $script:Examples 'remaphore' 'upload.ps1'
        $download = Join-Path $script:Examples 'remaphore' 'download.ps1'
        $chain = "$script:PwshForBash -File '$upload' -ConfigPath '$script:Config' -File '$file' -Uuid $uuid >/dev/null && " +
            "$script:PwshForBash -File '$download' -ConfigPath '$script:Config' -File '$file' -Uuid $uuid -Timeout 60 && echo next-step"
        $r = Invoke-Child 'bash' @('-c', $chain) $script:ChildEnvironment
        $r.Err | Should -BeNullOrEmpty
        $r.ExitCode | Should -Be 0
        # download.ps1 writes the message it got, then what it fetched; then the chain goes on.
        $r.Out[-2..-1] | Should -Be @('uploaded bytes', 'next-step')
    }

    It 'a script with -ErrorAction Stop on the wait exits 1 and runs nothing after it (the README''s PowerShell chain)' {
        $script = Join-Path $TestDrive 'chain-stop.ps1'
        Set-Content $script "Wait-Remaphore -Uuid $script:Uuid -Timeout 1 -ConfigPath '$script:Config' -ErrorAction Stop; 'next-step'"
        $r = Invoke-ChildPwsh @('-File', $script) $script:ChildEnvironment
        $r.ExitCode | Should -Be 1
        $r.Out | Should -Not -Contain 'next-step'
    }

    It 'pwsh -Command with && exits 1 and skips the next step (the README''s scheduled-task command)' {
        $r = Invoke-ChildPwsh @('-Command', "Wait-Remaphore -Uuid $script:Uuid -Timeout 1 -ConfigPath '$script:Config' && 'next-step'") $script:ChildEnvironment
        $r.ExitCode | Should -Be 1
        $r.Out | Should -Not -Contain 'next-step'
    }

    It 'the timeout stays a non-terminating error: ErrorVariable and $? see it, and the script goes on' {
        $script = Join-Path $TestDrive 'non-terminating.ps1'
        Set-Content $script (@(
                "`$m = Wait-Remaphore -Uuid $script:Uuid -Timeout 1 -ConfigPath '$script:Config' -ErrorVariable failed -ErrorAction SilentlyContinue"
                "`"ok=`$? id=`$(`$failed[0].FullyQualifiedErrorId) category=`$(`$failed[0].CategoryInfo.Category)`""
                "`$s = Wait-SeaportService 'nosuch@1.x' -Timeout 1 -ConfigPath '$script:Config' -ErrorVariable failed -ErrorAction SilentlyContinue"
                "`"ok=`$? id=`$(`$failed[0].FullyQualifiedErrorId) category=`$(`$failed[0].CategoryInfo.Category)`""
            ) -join "`n")
        $r = Invoke-ChildPwsh @('-File', $script) $script:ChildEnvironment
        $r.Err | Should -BeNullOrEmpty
        $r.ExitCode | Should -Be 0
        $r.Out | Should -Be @(
            'ok=False id=RemoteOps.RemaphoreTimeout,RemoteOps.PowerShell.Cmdlets.WaitRemaphoreCommand category=OperationTimeout'
            'ok=False id=RemoteOps.SeaportTimeout,RemoteOps.PowerShell.Cmdlets.WaitSeaportServiceCommand category=OperationTimeout')
    }

    It 'a Wait-SeaportService timeout under ErrorActionPreference Stop exits 1' {
        $script = Join-Path $TestDrive 'seaport-stop.ps1'
        Set-Content $script "`$ErrorActionPreference = 'Stop'; Wait-SeaportService 'nosuch@1.x' -Timeout 1 -ConfigPath '$script:Config'; 'next-step'"
        $r = Invoke-ChildPwsh @('-File', $script) $script:ChildEnvironment
        $r.ExitCode | Should -Be 1
        $r.Out | Should -Not -Contain 'next-step'
    }
}
