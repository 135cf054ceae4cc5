# What a user meets at a real pwsh prompt: Tab completion, default views at 120 columns, -WhatIf texts that say what
# would change. The seaport and remaphore parts start a dev server (nats-server on PATH or in /usr/sbin, as in CI).

BeforeAll {
    $script:Manifest = Join-Path $PSScriptRoot '..' '..' 'out' 'RemoteOps' 'RemoteOps.psd1'
    Import-Module $script:Manifest -Force
    $script:Dir = Join-Path ([IO.Path]::GetTempPath()) ("remoteops-ux-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory $script:Dir | Out-Null
    $script:Server = Start-RemoteOpsDevServer -Port 0
    $script:Peer = New-RemoteOpsIdentity -Verb deploy
    $script:Config = Join-Path $script:Dir 'config.yaml'
    $script:File = New-RemoteOpsConfig -Path $script:Config -Server $script:Server.Url -Destination com.example.web1
    $bucket = 'ux' + [guid]::NewGuid().ToString('N').Substring(0, 8)
    # The example config lists this node as its own peer; add another peer, and buckets of this test's own.
    $peerEntry = "peers:`n  - destination: com.example.db1`n    public: $($script:Peer.PublicKey)`n    verbs: [deploy, restart]`n"
    $text = (Get-Content -Raw $script:Config) -replace '(?m)^peers:\r?\n', $peerEntry
    $text += "`nlatch_bucket: $bucket`nseaport:`n  bucket: $bucket`n  heartbeat: 1s`n  range: [23500, 23600]`n"
    Set-Content -Path $script:Config -Value $text

    function Get-Completion([string] $Line) {
        (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches
    }
}

AfterAll {
    Get-SeaportService -ConfigPath $script:Config -ErrorAction SilentlyContinue | Unregister-SeaportService -ConfigPath $script:Config -Confirm:$false -ErrorAction SilentlyContinue
    Disconnect-RemoteOps -All
    $script:Server | Stop-RemoteOpsDevServer
    Remove-Item -Recurse -Force $script:Dir -ErrorAction SilentlyContinue
}

Describe 'Tab completion in a real pwsh' {
    It 'completes Send-Remaphore -Verb from the config named by -ConfigPath, not with file names' {
        $texts = (Get-Completion "Send-Remaphore -ConfigPath '$script:Config' -Verb ").CompletionText
        $texts | Should -Contain 'deploy'
        $texts | Should -Contain 'restart'
        $texts | Where-Object { Test-Path $_ } | Should -BeNullOrEmpty
    }

    It 'completes -Destination with the peers and -Sender with their keys, named in the tooltip' {
        (Get-Completion "Send-Remaphore -ConfigPath '$script:Config' -Destination com.example.d").CompletionText | Should -Be 'com.example.db1'
        $sender = Get-Completion "Wait-Remaphore -ConfigPath '$script:Config' -Sender $($script:Peer.PublicKey.Substring(0, 6))"
        $sender.CompletionText | Should -Be $script:Peer.PublicKey
        $sender.ToolTip | Should -BeLike 'com.example.db1*'
    }

    It 'completes seaport roles and ids from the registry' {
        $svc = Register-SeaportService api@3.1.0 -Id apione -ConfigPath $script:Config
        try {
            (Get-Completion "Get-SeaportService -ConfigPath '$script:Config' -Role ap").CompletionText | Should -Be 'api@3.1.0'
            (Get-Completion "Unregister-SeaportService -ConfigPath '$script:Config' -Id api").CompletionText | Should -Be 'apione'
        }
        finally { $svc | Unregister-SeaportService -ConfigPath $script:Config -Confirm:$false }
    }

    It 'completes dev server process ids' {
        (Get-Completion 'Stop-RemoteOpsDevServer -ProcessId ').CompletionText | Should -Contain ([string]$script:Server.ProcessId)
    }
}

Describe 'Default views at 120 columns' {
    It 'Get-RemoteOpsConfig shows whole keys and every setting in its default view' {
        $text = Get-RemoteOpsConfig -ConfigPath $script:Config | Out-String -Width 120
        $text | Should -BeLike "*$($script:File.PublicKey)*"
        $text | Should -BeLike '*com.example.db1*'
        $text | Should -BeLike '*Servers*'
        # Every tool's section, its defaults when the file has none.
        $text | Should -Match '(?m)^Steward\s+: stream steward, results steward_results'
        $text | Should -Match '(?m)^Herder\s+: sandbox '
        foreach ($line in $text -split "`n") { $line.TrimEnd().Length | Should -BeLessOrEqual 120 }
    }

    It 'New-RemoteOpsConfig output shows the file, its identity and key file' {
        $text = $script:File | Out-String -Width 120
        $text | Should -BeLike "*$($script:Config)*"
        $text | Should -BeLike "*$($script:File.PublicKey)*"
        $text | Should -BeLike "*$($script:File.PrivateKeyFile)*"
        $script:File.FullName | Should -Be $script:Config
    }

    It 'a received message shows the sender''s configured name' {
        Send-Remaphore hi -Verb ping -Uuid named -Latch -ConfigPath $script:Config
        $m = Wait-Remaphore -Uuid named -Timeout 30 -ConfigPath $script:Config -AnyDestination
        $m.SenderName | Should -Be 'com.example.web1'
        ($m | Out-String -Width 120) | Should -BeLike '*com.example.web1*'
        (Get-RemaphoreLatch -Uuid named -ConfigPath $script:Config | Out-String -Width 120) | Should -BeLike '*com.example.web1*'
        Clear-RemaphoreLatch -Uuid named -ConfigPath $script:Config -Confirm:$false
        Get-RemaphoreLatch -Uuid named -ConfigPath $script:Config | Should -BeNullOrEmpty
    }
}

Describe '-WhatIf says what would change' {
    BeforeAll {
        # -WhatIf writes to the host, so it is read from a child pwsh's output.
        $script:PwshCommand = @([Environment]::ProcessPath)
        if ([IO.Path]::GetFileNameWithoutExtension($script:PwshCommand[0]) -eq 'dotnet') { $script:PwshCommand += Join-Path $PSHOME 'pwsh.dll' }
        function Invoke-WhatIf([string] $Script) {
            $full = "Import-Module '$script:Manifest'; $Script"
            $exe = $script:PwshCommand[0]
            $rest = @($script:PwshCommand | Select-Object -Skip 1)
            (& $exe @rest -NoProfile -NonInteractive -Command $full 2>&1) -join "`n"
        }
    }

    It 'Register-SeaportService names role, host and port range' {
        $text = Invoke-WhatIf "Register-SeaportService web@1.2.3 -HostName h1 -ConfigPath '$script:Config' -WhatIf"
        $text | Should -BeLike '*web@1.2.3 on h1, a free port in 23500-23600*'
    }

    It 'Start-SeaportService names role, port and command' {
        $text = Invoke-WhatIf "Start-SeaportService web@1.2.3 -Port 23555 -Command echo, hi -ConfigPath '$script:Config' -WhatIf"
        $text | Should -BeLike '*web@1.2.3 on *, port 23555*run echo hi*'
    }

    It 'Unregister- and Set-SeaportService name the registration''s role, host and port' {
        $svc = Register-SeaportService db@2.0.0 -Id dbwhatif -ConfigPath $script:Config
        try {
            Invoke-WhatIf "Unregister-SeaportService dbwhatif -ConfigPath '$script:Config' -WhatIf" |
                Should -BeLike "*db@2.0.0 (dbwhatif) on $($svc.HostName):$($svc.Port)*"
            Invoke-WhatIf "Set-SeaportService dbwhatif @{ tier = 'gold' } -ConfigPath '$script:Config' -WhatIf" |
                Should -BeLike "*db@2.0.0 (dbwhatif) on $($svc.HostName):$($svc.Port): set tier=gold*"
        }
        finally { $svc | Unregister-SeaportService -ConfigPath $script:Config -Confirm:$false }
    }

    It 'Send-Remaphore names verb, uuid, payload size and latch' {
        Invoke-WhatIf "Send-Remaphore hello -Verb deploy -Uuid u1 -Latch -ConfigPath '$script:Config' -WhatIf" |
            Should -BeLike "*verb 'deploy' uuid 'u1' with a 5-byte payload, latched for 1h*"
    }

    It 'Clear-RemaphoreLatch names the latch''s verb, uuid and sender' {
        Send-Remaphore payload -Verb deploy -Uuid tobecleared -Latch -ConfigPath $script:Config
        try {
            Invoke-WhatIf "Clear-RemaphoreLatch -Uuid tobecleared -ConfigPath '$script:Config' -WhatIf" |
                Should -BeLike "*verb 'deploy' uuid 'tobecleared'*from com.example.web1*"
            Get-RemaphoreLatch -Uuid tobecleared -ConfigPath $script:Config | Should -Not -BeNullOrEmpty
        }
        finally { Clear-RemaphoreLatch -Uuid tobecleared -ConfigPath $script:Config -Confirm:$false }
    }
}
