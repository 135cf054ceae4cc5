# Herder golems as a user meets them: Start/Get/Invoke/Stop-HerderGolem in this real pwsh, each golem a real headless
# Chromium (Debian's chromium package; CI installs it) on a page this test writes. No NATS: a golem without -Node
# belongs to this session. /proc is checked for what a stopped golem, or a killed session, leaves behind.

BeforeAll {
    . (Join-Path $PSScriptRoot 'ChildProcess.ps1')
    $script:Manifest = (Resolve-Path (Join-Path $PSScriptRoot '..' '..' 'out' 'RemoteOps' 'RemoteOps.psd1')).Path
    Import-Module $script:Manifest -Force
    $script:Dir = Join-Path ([IO.Path]::GetTempPath()) ("remoteops-golem-test-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory $script:Dir | Out-Null
    $script:Config = Join-Path $script:Dir 'config.yaml'
    # Generous: the machine is shared and Chromium starts slowly under load.
    Set-Content $script:Config "destination: com.example.golems`nherder:`n  max_timeout: 2m`n"
    $script:NoBrowserConfig = Join-Path $script:Dir 'nobrowser.yaml'
    Set-Content $script:NoBrowserConfig "herder:`n  browser: /nonexistent/chromium`n"
    $page = Join-Path $script:Dir 'page.html'
    Set-Content $page @'
<!doctype html>
<html><head><title>Golem test</title></head>
<body>
  <p id="greeting">hello</p>
  <script type="text/golem" class="golem">
    window.bootstrapped = 42;
    document.title = document.title + ' (golem)';
  </script>
</body></html>
'@
    $script:PageUrl = [Uri]::new($page, [UriKind]::Absolute).AbsoluteUri

    # The golem's directory (its --user-data-dir's parent), from the browser's command line.
    function Get-GolemDirectory([int] $ProcessId) {
        $profile = (Get-Content -Raw "/proc/$ProcessId/cmdline") -split "`0" | Where-Object { $_ -like '--user-data-dir=*' }
        Split-Path ($profile -replace '^--user-data-dir=', '')
    }
    # Live processes whose command line names $Directory (every Chromium process of a golem does).
    function Get-ProcessNaming([string] $Directory) {
        foreach ($d in Get-ChildItem /proc -Directory -ErrorAction SilentlyContinue | Where-Object Name -Match '^\d+$') {
            try {
                $cmdline = [IO.File]::ReadAllText("$($d.FullName)/cmdline")
                $state = ([IO.File]::ReadAllText("$($d.FullName)/stat") -split '\) ', 2)[1][0]
                if ($cmdline.Contains($Directory) -and $state -notin 'Z', 'X') { [int]$d.Name }
            }
            catch { } # gone meanwhile
        }
    }
    # Whether a process exists and is not a zombie.
    function Test-ProcessAlive([int] $ProcessId) {
        try { (([IO.File]::ReadAllText("/proc/$ProcessId/stat") -split '\) ', 2)[1][0]) -notin 'Z', 'X' }
        catch { $false }
    }
    # Awaits a condition (no sleep as an assertion: polls until it holds, for at most a minute).
    function Wait-Until([scriptblock] $Condition) {
        $deadline = [DateTime]::UtcNow.AddMinutes(1)
        while (-not (& $Condition)) {
            if ([DateTime]::UtcNow -gt $deadline) { throw "Not true within a minute: $Condition" }
            Start-Sleep -Milliseconds 50
        }
    }
}

AfterAll {
    Get-HerderGolem | Stop-HerderGolem -Confirm:$false
    Remove-Item -Recurse -Force $script:Dir -ErrorAction SilentlyContinue
}

Describe 'A golem on a test page' {
    BeforeAll {
        $script:Golem = Start-HerderGolem -Url $script:PageUrl -Name pester -ConfigPath $script:Config
    }

    It 'starts, typed and formatted, and the page''s .golem code ran' {
        $script:Golem.PSObject.TypeNames[0] | Should -Be 'RemoteOps.Herder.HerderGolem'
        $script:Golem.Name | Should -Be 'pester'
        $script:Golem.Node | Should -BeNullOrEmpty
        $script:Golem.Url | Should -Be $script:PageUrl
        $script:Golem.Bootstrapped | Should -BeTrue
        $script:Golem.BootstrapError | Should -BeNullOrEmpty
        Get-Process -Id $script:Golem.ProcessId | Should -Not -BeNullOrEmpty
        ($script:Golem | Format-Table | Out-String) | Should -Match 'pester\s+\(session\)\s+\d+'
    }

    It 'evaluates document.title, and the .golem script set its global' {
        Invoke-HerderGolem pester 'document.title' | Should -Be 'Golem test (golem)'
        $n = Invoke-HerderGolem -Name pester -Script 'window.bootstrapped'
        $n | Should -Be 42
        $n | Should -BeOfType [long]
    }

    It 'writes JSON values as PowerShell objects' {
        $o = Invoke-HerderGolem pester '({ a: 1.5, b: "x", c: [1, 2], d: { e: null } })'
        $o | Should -BeOfType [pscustomobject]
        $o.a | Should -Be 1.5
        $o.c | Should -Be @(1, 2)
        $o.d.e | Should -BeNullOrEmpty
        $h = Invoke-HerderGolem pester '({ a: { b: true } })' -AsHashtable
        $h | Should -BeOfType [System.Collections.Specialized.OrderedDictionary]
        $h.a.b | Should -BeTrue
        @(Invoke-HerderGolem pester '[1, "two", false]') | Should -Be @(1, 'two', $false)
        Invoke-HerderGolem pester 'Promise.resolve("later")' | Should -Be 'later'
        Invoke-HerderGolem pester 'undefined' | Should -BeNullOrEmpty
    }

    It 'converts any JSON value as ConvertFrom-Json does (a property test: 60 random values, seeded)' {
        $random = [Random]::new(1107)
        # Whole characters (an emoji is two UTF-16 units: a lone half is no text, and no JSON carries it).
        $alphabet = @('a', 'b', 'X', '0', '9', ' ', '_', '-', '"', '\', '/', "'", '<', '&', 'é', '€', '😀', [string][char]0x1F, [string][char]0x2028)
        function New-Text { -join (1..$random.Next(0, 8) | ForEach-Object { $alphabet[$random.Next($alphabet.Count)] }) }
        function New-Value([int] $Depth) {
            switch ($random.Next($(if ($Depth -gt 3) { 5 } else { 7 }))) {
                0 { $null }
                1 { $random.Next(2) -eq 1 }
                2 { [long]$random.Next() * ($random.Next(2) * 2 - 1) }
                3 { $random.Next(-1000, 1000) + 0.25 }
                4 { New-Text }
                5 { , @(1..$random.Next(0, 4) | ForEach-Object { New-Value ($Depth + 1) }) }
                6 {
                    $o = [ordered]@{}
                    foreach ($i in 1..$random.Next(0, 4)) { $o["k$i$(New-Text)"] = New-Value ($Depth + 1) }
                    [pscustomobject]$o
                }
            }
        }
        foreach ($case in 1..60) {
            $json = ConvertTo-Json -InputObject (New-Value 0) -Depth 10 -Compress
            $expected = ConvertTo-Json -InputObject @($json | ConvertFrom-Json) -Depth 10 -Compress
            $actual = ConvertTo-Json -InputObject @(Invoke-HerderGolem pester "($json)") -Depth 10 -Compress
            $actual | Should -Be $expected -Because "the value $json"
        }
    }

    It 'makes a JavaScript exception a non-terminating error for that golem, and goes on' {
        $golems = @([pscustomobject]@{ Name = 'pester' }, [pscustomobject]@{ Name = 'pester' })
        $out = $golems | Invoke-HerderGolem -Script 'throw new Error("boom")' -ErrorAction SilentlyContinue -ErrorVariable failed
        $out | Should -BeNullOrEmpty
        $failed.Count | Should -Be 2
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'RemoteOps.HerderScriptError,*'
        $failed[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
        $failed[0].Exception.Message | Should -Match 'Error: boom'
        Invoke-HerderGolem pester '1+1' | Should -Be 2
    }

    It 'lists golems, by pattern and from the pipeline, and completes -Name' {
        (Get-HerderGolem).Name | Should -Contain 'pester'
        (Get-HerderGolem pes*).ProcessId | Should -Be $script:Golem.ProcessId
        ($script:Golem | Get-HerderGolem).Name | Should -Be 'pester'
        ($script:Golem | Invoke-HerderGolem -Script 'document.getElementById("greeting").textContent') | Should -Be 'hello'
        $completion = TabExpansion2 -inputScript 'Invoke-HerderGolem -Name pes' -cursorColumn 'Invoke-HerderGolem -Name pes'.Length
        $completion.CompletionMatches.CompletionText | Should -Contain 'pester'
    }

    It 'refuses bad input with one clear error each: <Id>' -ForEach @(
        @{ Command = 'Start-HerderGolem'; Parameters = @{ Url = 'not a url' }; Id = 'RemoteOps.HerderInvalidUrl'; Category = 'InvalidArgument' }
        @{ Command = 'Start-HerderGolem'; Parameters = @{ Url = 'PAGE'; Name = 'bad/name' }; Id = 'RemoteOps.HerderInvalidGolemName'; Category = 'InvalidArgument' }
        @{ Command = 'Start-HerderGolem'; Parameters = @{ Url = 'PAGE'; Name = 'pester' }; Id = 'RemoteOps.HerderGolemExists'; Category = 'ResourceExists' }
        @{ Command = 'Start-HerderGolem'; Parameters = @{ Url = 'PAGE'; Name = 'nobrowser'; ConfigPath = 'NOBROWSER' }; Id = 'RemoteOps.HerderBrowserUnavailable'; Category = 'NotInstalled' }
        @{ Command = 'Invoke-HerderGolem'; Parameters = @{ Name = 'nosuchgolem'; Script = '1' }; Id = 'RemoteOps.HerderGolemNotFound'; Category = 'ObjectNotFound' }
        @{ Command = 'Invoke-HerderGolem'; Parameters = @{ Name = 'pester'; Script = 'new Promise(() => {})'; Timeout = '1s' }; Id = 'RemoteOps.HerderGolemTimeout'; Category = 'OperationTimeout' }
        @{ Command = 'Invoke-HerderGolem'; Parameters = @{ Name = 'pester'; Script = '1'; Timeout = 0 }; Id = 'RemoteOps.HerderInvalidLimit'; Category = 'InvalidArgument' }
        @{ Command = 'Get-HerderGolem'; Parameters = @{ Name = 'nosuchgolem' }; Id = 'RemoteOps.HerderGolemNotFound'; Category = 'ObjectNotFound' }
        @{ Command = 'Stop-HerderGolem'; Parameters = @{ Name = 'nosuchgolem' }; Id = 'RemoteOps.HerderGolemNotFound'; Category = 'ObjectNotFound' }
    ) {
        $p = $Parameters.Clone()
        if ($p.Url -eq 'PAGE') { $p.Url = $script:PageUrl }
        $p.ConfigPath = if ($p.ConfigPath -eq 'NOBROWSER') { $script:NoBrowserConfig } else { $script:Config }
        $out = & $Command @p -ErrorAction SilentlyContinue -ErrorVariable failed
        $out | Should -BeNullOrEmpty
        $failed.Count | Should -Be 1
        $failed[0].FullyQualifiedErrorId | Should -BeLike "$Id,*"
        "$($failed[0].CategoryInfo.Category)" | Should -Be $Category
        $failed[0].Exception.Message | Should -Not -BeNullOrEmpty
    }

    It 'stops from the pipeline (-WhatIf first), and no Chromium process is left' {
        $directory = Get-GolemDirectory $script:Golem.ProcessId
        @(Get-ProcessNaming $directory).Count | Should -BeGreaterThan 1
        Get-HerderGolem pester | Stop-HerderGolem -WhatIf
        (Get-HerderGolem).Name | Should -Contain 'pester'
        $stopped = Get-HerderGolem pester | Stop-HerderGolem -PassThru -Confirm:$false
        $stopped.Name | Should -Be 'pester'
        (Get-HerderGolem).Name | Should -Not -Contain 'pester'
        @(Get-ProcessNaming $directory) | Should -BeNullOrEmpty
        Test-Path $directory | Should -BeFalse
        Get-Process -Id $script:Golem.ProcessId -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}

Describe 'A golem belongs to its session' {
    It 'goes with Remove-Module, and with a pwsh killed outright' {
        $script = @"
`$ErrorActionPreference = 'Stop'
Import-Module '$($script:Manifest)'
`$a = Start-HerderGolem -Url '$($script:PageUrl)' -Name first -ConfigPath '$($script:Config)'
"first:`$(`$a.ProcessId):`$(Split-Path (((Get-Content -Raw "/proc/`$(`$a.ProcessId)/cmdline") -split "``0" | Where-Object { `$_ -like '--user-data-dir=*' }) -replace '^--user-data-dir=', ''))"
Remove-Module RemoteOps
Import-Module '$($script:Manifest)'
`$b = Start-HerderGolem -Url '$($script:PageUrl)' -Name second -ConfigPath '$($script:Config)'
"second:`$(`$b.ProcessId)"
[Console]::Out.Flush()
Start-Sleep -Seconds 600
"@
        $info = [System.Diagnostics.ProcessStartInfo]::new($script:Pwsh[0])
        foreach ($a in @($script:Pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', $script)) { $info.ArgumentList.Add($a) }
        $info.RedirectStandardOutput = $true
        $info.UseShellExecute = $false
        $child = [System.Diagnostics.Process]::Start($info)
        try {
            $first = $null; $second = $null
            while ($null -ne ($line = $child.StandardOutput.ReadLine())) {
                if ($line -match '^first:(\d+):(.+)$') { $first = [int]$Matches[1]; $firstDirectory = $Matches[2] }
                if ($line -match '^second:(\d+)') { $second = [int]$Matches[1]; break }
            }
            $second | Should -Not -BeNullOrEmpty -Because 'the child started both golems'
            # Remove-Module stopped the first golem before the second started.
            $firstDirectory | Should -BeLike '*remoteops-golem-*'
            @(Get-ProcessNaming $firstDirectory) | Should -BeNullOrEmpty
            Test-Path $firstDirectory | Should -BeFalse
            Get-Process -Id $first -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $secondDirectory = Get-GolemDirectory $second
            @(Get-ProcessNaming $secondDirectory).Count | Should -BeGreaterThan 1
            # SIGKILL: nothing of the session runs; the browser's parent-death signal takes the whole tree.
            $child.Kill()
            Wait-Until { @(Get-ProcessNaming $secondDirectory).Count -eq 0 }
            # Gone, or a zombie: re-parented to a PID 1 that does not reap (as in some containers), it runs nothing.
            Test-ProcessAlive $second | Should -BeFalse
        }
        finally {
            if (-not $child.HasExited) { $child.Kill($true) }
            $child.Dispose()
        }
    }
}
