# Herder minions as a user meets them: Invoke-HerderMinion and Get-HerderEnvironment in this real pwsh, each minion
# a real process in the real bubblewrap sandbox (CI installs bubblewrap). No NATS: a minion without -Node runs here.

BeforeAll {
    $script:Manifest = (Resolve-Path (Join-Path $PSScriptRoot '..' '..' 'out' 'RemoteOps' 'RemoteOps.psd1')).Path
    Import-Module $script:Manifest -Force
    $script:Dir = Join-Path ([IO.Path]::GetTempPath()) ("remoteops-herder-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory $script:Dir | Out-Null
    $script:Config = Join-Path $script:Dir 'config.yaml'
    Set-Content $script:Config "destination: com.example.herd`nherder:`n  max_timeout: 20s`n  environments:`n    shout: [bash, -c, 'tr a-z A-Z < words.txt']`n"
}

AfterAll {
    Remove-Item -Recurse -Force $script:Dir -ErrorAction SilentlyContinue
}

Describe 'Invoke-HerderMinion' {
    It 'runs python with its files and returns a typed result' {
        $r = Invoke-HerderMinion python @{ 'main.py' = 'print(6*7)' } -ConfigPath $script:Config
        $r.PSObject.TypeNames[0] | Should -Be 'RemoteOps.Herder.HerderMinionResult'
        $r.Stdout | Should -Be "42`n"
        $r.ExitCode | Should -Be 0
        $r.Sandboxed | Should -BeTrue
        $r.Node | Should -Be 'com.example.herd'
        ($r | Format-Table | Out-String) | Should -Match 'python\s+0'
    }

    It 'returns an -Output file as bytes, from text, bytes and FileInfo inputs' {
        $data = Join-Path $script:Dir 'data.txt'
        Set-Content $data 'from a file' -NoNewline
        $files = @{
            'main.sh' = 'cat data.txt blob.bin > out.txt'
            'data.txt' = Get-Item $data
            'blob.bin' = [byte[]](0x2D, 0x62, 0x79, 0x74, 0x65, 0x73)
        }
        $r = Invoke-HerderMinion bash $files -Output out.txt -ConfigPath $script:Config
        [Text.Encoding]::UTF8.GetString($r.Output) | Should -Be 'from a file-bytes'
        $r.OutputName | Should -Be 'out.txt'
    }

    It 'takes jobs from the pipeline by property name' {
        $jobs = @(
            [pscustomobject]@{ Environment = 'bash'; File = @{ 'main.sh' = 'echo one' } }
            [pscustomobject]@{ Environment = 'shout'; File = @{ 'words.txt' = 'two' } }
        )
        ($jobs | Invoke-HerderMinion -ConfigPath $script:Config).Stdout | Should -Be @("one`n", 'TWO')
    }

    It 'times out with -Timeout given as text and reports it' {
        $r = Invoke-HerderMinion bash @{ 'main.sh' = 'sleep 60' } -Timeout '1s' -ConfigPath $script:Config
        $r.TimedOut | Should -BeTrue
    }

    It 'reports a memory hog' {
        $r = Invoke-HerderMinion python @{ 'main.py' = 'x = bytearray(400 * 1024 * 1024)' } -MemoryLimit 64MB -ConfigPath $script:Config
        $r.MemoryExceeded | Should -BeTrue
    }

    It 'refuses bad input with one clear error each, and runs nothing' -ForEach @(
        @{ Environment = 'cobol'; File = @{ 'main.sh' = 'x' }; Id = 'RemoteOps.HerderUnknownEnvironment'; Category = 'ObjectNotFound'; Says = 'Known: bash' }
        @{ Environment = 'bash'; File = @{ '../main.sh' = 'x' }; Id = 'RemoteOps.HerderInvalidFile'; Category = 'InvalidArgument'; Says = "'..'" }
        @{ Environment = 'bash'; File = @{ 'main.sh' = [datetime]::Now }; Id = 'RemoteOps.HerderInvalidFile'; Category = 'InvalidArgument'; Says = 'byte array' }
        @{ Environment = 'bash'; File = @{ 'main.sh' = 'x' }; Timeout = '5m'; Id = 'RemoteOps.HerderInvalidLimit'; Category = 'InvalidArgument'; Says = 'max_timeout' }
    ) {
        $splat = @{ Environment = $Environment; File = $File; ConfigPath = $script:Config; ErrorVariable = 'e'; ErrorAction = 'SilentlyContinue' }
        if ($Timeout) { $splat.Timeout = $Timeout }
        $out = Invoke-HerderMinion @splat
        $out | Should -BeNullOrEmpty
        $e.Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -BeLike "$Id,*"
        $e[0].CategoryInfo.Category | Should -Be $Category
        $e[0].Exception.Message | Should -BeLike "*$Says*"
    }

    It 'completes -Environment from the built-ins and the config' {
        $line = "Invoke-HerderMinion -ConfigPath '$script:Config' -Environment sh"
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be @('shout')
        $line = "Invoke-HerderMinion -Environment p"
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be @('python', 'pwsh')
    }
}

Describe 'Get-HerderEnvironment' {
    It 'lists the built-ins and the configured ones, with what is installed' {
        $all = Get-HerderEnvironment -ConfigPath $script:Config
        $all.Name | Should -Be @('bash', 'python', 'node', 'ruby', 'pwsh', 'latex', 'shout')
        ($all | Where-Object Name -EQ 'bash').Available | Should -BeTrue
        ($all | Where-Object Name -EQ 'shout').BuiltIn | Should -BeFalse
        $all[0].PSObject.TypeNames[0] | Should -Be 'RemoteOps.Herder.HerderEnvironment'
        (Get-HerderEnvironment py* -ConfigPath $script:Config).Command | Should -Be @('python3', 'main.py')
    }
}
