# The module as a user meets it in a real pwsh process (this suite runs in one: build.ps1 Test starts the pinned pwsh):
# exit codes of scripts, module autoloading, assembly isolation, and the demo end to end. Only the demo needs
# nats-server (on PATH or in /usr/sbin, as in CI).

BeforeAll {
    $script:OutDir = (Resolve-Path (Join-Path $PSScriptRoot '..' '..' 'out')).Path
    $script:Manifest = Join-Path $script:OutDir 'RemoteOps' 'RemoteOps.psd1'
    Import-Module $script:Manifest -Force

    . (Join-Path $PSScriptRoot 'ChildProcess.ps1')

    function Test-Alive([int] $ProcessId) {
        if ($IsLinux) {
            # A zombie (exited, not yet reaped) is not running.
            $text = Get-Content -Raw "/proc/$ProcessId/stat" -ErrorAction SilentlyContinue
            if (-not $text) { return $false }
            return $text[$text.LastIndexOf(')') + 2] -notin 'Z', 'X'
        }
        $null -ne (Get-Process -Id $ProcessId -ErrorAction SilentlyContinue)
    }
}

AfterAll {
    Remove-Module RemoteOps -ErrorAction SilentlyContinue
}

Describe 'scripts in a real pwsh' {
    It 'pwsh -File exits with 1 when the script throws' {
        $script = Join-Path $TestDrive 'throws.ps1'
        Set-Content $script "throw 'deliberate'"
        $r = Invoke-ChildPwsh @('-File', $script)
        $r.ExitCode | Should -Be 1
        $r.Err | Should -BeLike '*deliberate*'
    }

    It 'pwsh -File exits with 1 when a cmdlet''s located config error stops the script (ErrorActionPreference Stop)' {
        $config = Join-Path $TestDrive 'bad.yaml'
        Set-Content $config "subject: remaphore`nallow_skew: 5 parsecs"
        $script = Join-Path $TestDrive 'badconfig.ps1'
        # NormalView: the error id is printed, and the message is not wrapped to the console width.
        Set-Content $script "`$ErrorActionPreference = 'Stop'; `$ErrorView = 'NormalView'; Import-Module '$script:Manifest'; Get-RemoteOpsConfig -ConfigPath '$config'; 'not reached'"
        $r = Invoke-ChildPwsh @('-File', $script) @{ NO_COLOR = '1' }
        $r.ExitCode | Should -Be 1
        $r.Out | Should -Not -Contain 'not reached'
        $r.Err | Should -BeLike "*Config error in $config, line 2, key 'allow_skew'*"
        $r.Err | Should -BeLike '*FullyQualifiedErrorId : RemoteOps.ConfigInvalid,*'
    }

    It 'pwsh -File exits with 0 after a script that only succeeded' {
        $script = Join-Path $TestDrive 'fine.ps1'
        Set-Content $script "Import-Module '$script:Manifest'; (New-RemoteOpsIdentity -Verb ping).Verbs"
        $r = Invoke-ChildPwsh @('-File', $script)
        $r.Err | Should -BeNullOrEmpty
        $r.ExitCode | Should -Be 0
        $r.Out | Should -Be @('ping')
    }

    It 'autoloads the module from PSModulePath at the first use of a cmdlet' {
        $path = $script:OutDir + [IO.Path]::PathSeparator + $env:PSModulePath
        $r = Invoke-ChildPwsh @('-Command', '(Get-Module RemoteOps) -eq $null; $id = New-RemoteOpsIdentity; (Get-Module RemoteOps).Path; $id.GetType().FullName') @{ PSModulePath = $path }
        $r.Err | Should -BeNullOrEmpty
        $r.ExitCode | Should -Be 0
        $r.Out | Should -Be @('True', (Join-Path $script:OutDir 'RemoteOps' 'RemoteOps.PowerShell.dll'), 'RemoteOps.RemoteOpsIdentity')
    }
}

Describe 'assembly isolation in a real pwsh' {
    It 'loads the core and its dependencies in the module''s own context and the pipeline types in the default one' {
        $null = New-RemoteOpsIdentity
        $context = [System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -EQ 'RemoteOps'
        $context | Should -HaveCount 1
        $context.Assemblies.GetName().Name | Should -Contain 'RemoteOps.Core'
        $models = [System.AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'RemoteOps.Models' }
        $models | Should -HaveCount 1
        [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($models) | Should -Be ([System.Runtime.Loader.AssemblyLoadContext]::Default)
        $core = $context.Assemblies | Where-Object { $_.GetName().Name -eq 'RemoteOps.Core' }
        [System.Runtime.Loader.AssemblyLoadContext]::Default.Assemblies | Should -Not -Contain $core
    }
}

Describe 'examples/demo.ps1' {
    It 'runs remaphore upload/download and a seaport service on a dev server, and leaves no process behind' {
        $r = Invoke-ChildPwsh @('-File', (Join-Path $PSScriptRoot '..' '..' 'examples' 'demo.ps1'), '-Module', $script:Manifest)
        $r.Out | Out-String | Write-Host
        $r.Err | Should -BeNullOrEmpty
        $r.ExitCode | Should -Be 0
        ($r.Out | Where-Object { $_ -like '*download.ps1 got the signal and fetched: uploaded bytes' }) | Should -HaveCount 1
        ($r.Out | Where-Object { $_ -like '*called it: beep boop' }) | Should -HaveCount 1
        ($r.Out | Where-Object { $_ -like '*web@1.2.3 freed' }) | Should -HaveCount 1
        $r.Out[-1] | Should -BeLike '*: done'
        $last = @($r.Out | Where-Object { $_ -match 'every process the demo started has exited: [\d, ]+$' })
        $last | Should -HaveCount 1
        $last[0] -match 'exited: ([\d, ]+)$' | Should -BeTrue
        $pids = @($Matches[1] -split ',\s*' | ForEach-Object { [int]$_ })
        # the dev server, downloader, uploader, client, and server.ps1
        $pids | Should -HaveCount 5
        $pids | Where-Object { Test-Alive $_ } | Should -BeNullOrEmpty
    }
}
