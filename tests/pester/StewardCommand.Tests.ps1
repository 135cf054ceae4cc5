# Invoke-StewardCommand end to end, as a user meets it: this real pwsh sends scriptblocks to two node agents, each its
# own OS process running Start-StewardNode in a child pwsh, which run them in pwsh workers of their own. One nats-server
# for the file. The nodes serve PwshScript to the operator only; a second sender is a known peer that is not allowed.

BeforeAll {
    $script:Manifest = (Resolve-Path (Join-Path $PSScriptRoot '..' '..' 'out' 'RemoteOps' 'RemoteOps.psd1')).Path
    Import-Module $script:Manifest -Force
    . (Join-Path $PSScriptRoot 'ChildProcess.ps1')
    if ($IsLinux -and ($env:PATH -split [IO.Path]::PathSeparator) -notcontains '/usr/sbin') {
        $env:PATH = $env:PATH + [IO.Path]::PathSeparator + '/usr/sbin'
    }
    $script:Dir = Join-Path ([IO.Path]::GetTempPath()) ("remoteops-stcmd-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory $script:Dir | Out-Null
    $script:Server = Start-RemoteOpsDevServer -Port 0

    $script:Operator = 'com.example.ops'
    $script:Other = 'com.example.intruder'
    $script:A = 'com.example.node-a'
    $script:B = 'com.example.node-b'
    $suffix = [guid]::NewGuid().ToString('N').Substring(0, 8)
    $configs = @{}
    foreach ($name in $script:Operator, $script:Other, $script:A, $script:B) {
        $configs[$name] = New-RemoteOpsConfig -Path (Join-Path $script:Dir $name 'config.yaml') -Server $script:Server.Url -Destination $name
    }
    $peers = "peers:`n" + (@(foreach ($name in $configs.Keys) {
                "  - destination: $name`n    public: $($configs[$name].PublicKey)`n    verbs: [`"*`"]`n"
            }) -join '')
    $script:Config = @{}
    foreach ($name in $configs.Keys) {
        $path = $configs[$name].Path
        $text = (Get-Content -Raw $path) -replace '(?ms)^peers:\r?\n.*?(?=^# latch_bucket)', $peers
        $data = Join-Path $script:Dir $name 'data'
        # node-b keeps little output, so that the cap shows.
        $cap = if ($name -eq $script:B) { "  max_output: 4096`n" } else { '' }
        $text += "`nsteward:`n$cap  stream: st$suffix`n  results_bucket: sr$suffix`n  nodes_bucket: sn$suffix`n  hello_interval: 2s`n  data_directory: $data`n  methods:`n    Ping: { allowed: ['*'] }`n    PwshScript: { allowed: [$script:Operator] }`n"
        Set-Content -Path $path -Value $text
        $script:Config[$name] = $path
    }
    $PSDefaultParameterValues['*-Steward*:ConfigPath'] = $script:Config[$script:Operator]

    . (Join-Path $PSScriptRoot 'StewardAgents.ps1')
    $script:Agents = @{}
    foreach ($name in $script:A, $script:B) { $script:Agents[$name] = Start-Agent $name }
    Wait-Agent $script:A, $script:B
}

AfterAll {
    # Defined here too: a BeforeAll that failed early never dot-sourced it.
    . (Join-Path $PSScriptRoot 'StewardAgents.ps1')
    Remove-StewardTestBed
}

Describe 'Invoke-StewardCommand: scriptblocks on two node agents' {
    It 'gives one deserialized object per node, with PSComputerName, from a pwsh other than the agent' {
        $r = @(Invoke-StewardCommand -ToNode $script:A, $script:B -ScriptBlock { [pscustomobject]@{ Pid = $PID; Machine = [Environment]::MachineName } })
        $r | Should -HaveCount 2
        ($r.PSComputerName | Sort-Object) | Should -Be @($script:A, $script:B)
        $r | ForEach-Object { $_.pstypenames[0] | Should -Be 'Deserialized.System.Management.Automation.PSCustomObject' }
        $r | ForEach-Object { $_.PSShowComputerName | Should -BeTrue }
        $r.Machine | Sort-Object -Unique | Should -Be ([Environment]::MachineName)
        $agentPids = $script:Agents.Values.Process.Id
        $r.Pid | ForEach-Object { $_ | Should -Not -BeIn $agentPids }
        $r.Pid | Should -Not -Contain $PID

        $p = Invoke-StewardCommand $script:A { Get-Process -Id $PID } -HideComputerName
        $p.pstypenames[0] | Should -Be 'Deserialized.System.Diagnostics.Process'
        $p.PSComputerName | Should -Be $script:A
        $p.PSShowComputerName | Should -BeFalse
    }

    It 'passes -ArgumentList, $using: values and piped $input' {
        $fromCaller = @{ Name = 'caller'; List = 1, 2 }
        $r = 1, 2, 3 | Invoke-StewardCommand $script:A {
            param($first, $second)
            [pscustomobject]@{ Sum = ($input | Measure-Object -Sum).Sum; First = $first; Second = $second; Using = $using:fromCaller.Name; Count = $using:fromCaller.List.Count }
        } -ArgumentList 'one', 2
        $r.Sum | Should -Be 6
        $r.First | Should -Be 'one'
        $r.Second | Should -Be 2
        $r.Using | Should -Be 'caller'
        $r.Count | Should -Be 2

        Invoke-StewardCommand $script:A { $using:notSetAnywhere } -ErrorAction SilentlyContinue -ErrorVariable e | Should -BeNullOrEmpty
        $e | Should -HaveCount 1
        $e[0].FullyQualifiedErrorId | Should -BeLike 'RemoteOps.StewardInvalidArgument*'
        $e[0].Exception.Message | Should -BeLike '*$using:notSetAnywhere*'
    }

    It 'brings Write-Error back as an error of that node while the other node''s output comes back' {
        $out = @(Invoke-StewardCommand $script:A, $script:B {
                if ($env:STEWARD_TEST_NODE -eq $using:script:A) { Write-Error 'disk is full' } else { 'fine' }
            } -ErrorAction SilentlyContinue -ErrorVariable e)
        $out | Should -HaveCount 1
        "$($out[0])" | Should -Be 'fine'
        $out[0].PSComputerName | Should -Be $script:B
        $e | Should -HaveCount 1
        $e[0].Exception.Message | Should -Be 'disk is full'
        $e[0].TargetObject | Should -Be $script:A
        $e[0].OriginInfo.PSComputerName | Should -Be $script:A
    }

    It 'gives one error for a node whose script throws; the other node answers' {
        $out = @(Invoke-StewardCommand $script:A, $script:B {
                if ($env:STEWARD_TEST_NODE -eq $using:script:B) { throw 'boom' }
                'a-ok'
            } -ErrorAction SilentlyContinue -ErrorVariable e)
        "$out" | Should -Be 'a-ok'
        $e | Should -HaveCount 1
        $e[0].FullyQualifiedErrorId | Should -BeLike 'RemoteOps.StewardMethodFailed*'
        $e[0].Exception.Message | Should -Be 'boom'
        $e[0].TargetObject | Should -Be $script:B
    }

    It 'brings warnings and verbose messages back on their streams' {
        $out = Invoke-StewardCommand $script:A { Write-Warning 'careful'; Write-Verbose 'details' -Verbose; 'value' } -WarningVariable w -WarningAction SilentlyContinue -Verbose 4>&1
        @($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message | Should -Contain 'details'
        @($out | Where-Object { $_ -is [string] }) | Should -Be 'value'
        @($w).Message | Should -Be 'careful'
    }

    It 'exit 3 is a failure for the node (exit code 3), and the agent goes on serving' {
        Invoke-StewardCommand $script:A { 'before'; exit 3 } -ErrorAction SilentlyContinue -ErrorVariable e | Should -Be 'before'
        $e | Should -HaveCount 1
        $e[0].Exception.Message | Should -BeLike '*exit code 3*'
        $e[0].TargetObject | Should -Be $script:A
        Invoke-StewardCommand $script:A { 'still here' } | Should -Be 'still here'
        $script:Agents[$script:A].Process.HasExited | Should -BeFalse
    }

    It 'methodTimeout kills the worker and what it started; objects written before it came back as they were written' {
        $out = @(Invoke-StewardCommand $script:A {
                $child = Start-Process /bin/sleep -ArgumentList 3007 -PassThru
                [pscustomobject]@{ Worker = $PID; Child = $child.Id }
                while ($true) { Start-Sleep -Milliseconds 50 }
            } -MethodTimeout 15s -ErrorAction SilentlyContinue -ErrorVariable e)
        $out | Should -HaveCount 1
        $e | Should -HaveCount 1
        $e[0].FullyQualifiedErrorId | Should -BeLike 'RemoteOps.StewardTimedOut*'
        $e[0].TargetObject | Should -Be $script:A
        # Gone, or a zombie that only its new parent (init) has yet to reap: nothing runs.
        function Test-Running([int] $Id) {
            $stat = Get-Content "/proc/$Id/stat" -Raw -ErrorAction SilentlyContinue
            $stat -and ($stat.Substring($stat.LastIndexOf(')') + 2, 1) -notin 'Z', 'X')
        }
        Test-Running $out[0].Worker | Should -BeFalse
        Test-Running $out[0].Child | Should -BeFalse
        Invoke-StewardCommand $script:A { 'after the runaway' } | Should -Be 'after the runaway'
    }

    It 'brings text a script writes to the console itself back as strings, as written' {
        $text = "plain <text> & a_x0041_ `t tab"
        Invoke-StewardCommand $script:A { [Console]::WriteLine($using:text) } | Should -Be $text
    }

    It 'stops objects past max_output, and a warning says how many were dropped' {
        $out = @(Invoke-StewardCommand $script:B { 1..100 | ForEach-Object { 'x' * 100 } } -WarningVariable w -WarningAction SilentlyContinue)
        $out.Count | Should -BeGreaterThan 0
        $out.Count | Should -BeLessThan 100
        @($w) | Should -HaveCount 1
        "$($w[0])" | Should -BeLike "$(100 - $out.Count) object(s) or stream record(s) (* bytes) dropped beyond max_output."
    }

    It 'is Denied to a known sender that is not allowed PwshScript' {
        Invoke-StewardCommand $script:A { 'never' } -ConfigPath $script:Config[$script:Other] -ErrorAction SilentlyContinue -ErrorVariable e | Should -BeNullOrEmpty
        $e | Should -HaveCount 1
        $e[0].FullyQualifiedErrorId | Should -BeLike 'RemoteOps.StewardDenied*'
        $e[0].TargetObject | Should -Be $script:A
    }

    It 'is Denied when its script text was changed in flight, and neither text runs' {
        # Sent as the cmdlet sends (the core's own StewardClient, in the module's load context): the sender's Queued
        # record with the hash of the signed body, then the command, whose script text is changed on the way.
        $alc = [System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -eq 'RemoteOps' | Select-Object -First 1
        $core = $alc.Assemblies | Where-Object { $_.GetName().Name -eq 'RemoteOps.Core' }
        $none = [Threading.CancellationToken]::None
        $config = $core.GetType('RemoteOps.Config.ConfigLoader', $true)::Load($script:Config[$script:Operator], $null)
        $client = $core.GetType('RemoteOps.Steward.StewardClient', $true)::OpenAsync($config, $null, $none).GetAwaiter().GetResult()
        $key = $client.SenderKey()
        $genuine = Join-Path $script:Dir 'genuine-ran'
        $altered = Join-Path $script:Dir 'altered-ran'
        $request = $core.GetType('RemoteOps.Steward.StewardPwsh', $true)::Request([string[]]@($script:A), "New-Item -ItemType File '$genuine'",
            [string[]]@(), [Collections.Generic.Dictionary[string, string]]::new(), [string[]]@(), $false, $null, $null, $null)
        $o = $core.GetType('RemoteOps.Steward.StewardClient', $true)::Build($request, $script:A, $client.Section, $key, [DateTimeOffset]::UtcNow, [NullString]::Value)
        $o.Record.CommandHash | Should -Match '^[0-9a-f]{64}$'
        $wire = [Text.Encoding]::UTF8.GetBytes([Text.Encoding]::UTF8.GetString($o.Wire).Replace($genuine, $altered))
        # Stored and published as the client does (the record first), with the altered bytes on the wire.
        $sent = $o.GetType()::new($o.Command, $wire, $o.Record)
        $client.SendOneAsync($sent, $key, $none).GetAwaiter().GetResult()

        Receive-StewardReply -MessageId $o.Record.MessageId -Wait -Timeout 120 -ErrorAction SilentlyContinue -ErrorVariable e | Should -BeNullOrEmpty
        $e | Should -HaveCount 1
        $e[0].FullyQualifiedErrorId | Should -BeLike 'RemoteOps.StewardDenied*'
        "$($e[0])" | Should -BeLike '*altered in flight*'
        $m = Get-StewardMessage -MessageId $o.Record.MessageId
        $m.Status | Should -Be 'Denied'
        Test-Path $genuine | Should -BeFalse
        Test-Path $altered | Should -BeFalse
        # The agent goes on serving.
        Invoke-StewardCommand $script:A { 'still serving' } | Should -Be 'still serving'
    }

    It 'brings a terminating error larger than max_output back within it, its message cut' {
        Invoke-StewardCommand $script:B { 1..100 | ForEach-Object { 'x' * 100 }; throw ('big:' + ('z' * 20000)) } -ErrorAction SilentlyContinue -ErrorVariable e -WarningAction SilentlyContinue | Out-Null
        $e | Should -HaveCount 1
        $e[0].TargetObject | Should -Be $script:B
        "$($e[0])" | Should -BeLike 'big:zzz*'
        "$($e[0])".Length | Should -BeLessThan 4096
    }

    It 'runs a -NoWait script sent while the node''s agent is down once it starts; another session receives the objects' {
        $agent = $script:Agents[$script:A]
        & /bin/kill -TERM $agent.Process.Id
        $agent.Process.WaitForExit(30000) | Should -BeTrue
        $m = Invoke-StewardCommand $script:A { [pscustomobject]@{ Name = 'late'; Node = $env:STEWARD_TEST_NODE } } -NoWait -AckTimeout 120 -Retries 0
        (Get-StewardMessage -MessageId $m.MessageId).Status | Should -Be 'Queued'
        $script:Agents[$script:A] = Start-Agent $script:A
        $childScript = "Import-Module '$script:Manifest'; " +
        "Receive-StewardReply -MessageId $($m.MessageId) -Wait -Timeout 120 -ConfigPath '$($script:Config[$script:Operator])' | " +
        "ForEach-Object { `$_.PSComputerName + ' ' + `$_.Name + ' ' + `$_.Node }"
        $child = Invoke-ChildPwsh @('-Command', $childScript)
        $child.Err | Should -BeNullOrEmpty
        $child.Out | Should -Be "$script:A late $script:A"
        Wait-Agent $script:A
    }

    It 'runs under -Governor: with one slot, the two nodes'' scripts run one after the other' {
        New-StewardGovernor -Name 'pwsh-one' -Capacity 1 -Confirm:$false | Out-Null
        try {
            # Each script holds its slot for a while: without the governor the two would overlap.
            $r = @(Invoke-StewardCommand $script:A, $script:B -Governor 'pwsh-one' {
                    $start = [DateTime]::UtcNow; Start-Sleep -Milliseconds 1500; [pscustomobject]@{ Start = $start; End = [DateTime]::UtcNow }
                })
            $r | Should -HaveCount 2
            $first, $second = @($r | Sort-Object Start)
            $second.Start | Should -BeGreaterOrEqual $first.End
        }
        finally { Remove-StewardGovernor -Name 'pwsh-one' -Confirm:$false }
    }

    It 'refuses a -Governor that is not a governor name, sending nothing' {
        $before = @(Get-StewardMessage).Count
        Invoke-StewardCommand $script:A { 1 } -Governor 'bad name!' -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e | Should -HaveCount 1
        $e[0].FullyQualifiedErrorId | Should -BeLike 'RemoteOps.StewardInvalidArgument*'
        @(Get-StewardMessage).Count | Should -Be $before
    }

    It '-NoWait returns the queued StewardMessage per node' {
        $m = @(Invoke-StewardCommand $script:A, $script:B { [pscustomobject]@{ Name = 'tmp' } } -NoWait)
        $m | Should -HaveCount 2
        $m | ForEach-Object { $_ | Should -BeOfType ([RemoteOps.Steward.StewardMessage]) }
        $m.Method | Sort-Object -Unique | Should -Be 'PwshScript'
        # Another pwsh process receives what Invoke-StewardCommand would have written: the deserialized objects.
        $childScript = "Import-Module '$script:Manifest'; " +
        "Receive-StewardReply -MessageId $($m.MessageId -join ',') -Wait -Timeout 60 -ConfigPath '$($script:Config[$script:Operator])' | " +
        "ForEach-Object { `$_.PSComputerName + ' ' + `$_.pstypenames[0] + ' ' + `$_.Name }"
        $child = Invoke-ChildPwsh @('-Command', $childScript)
        $child.Err | Should -BeNullOrEmpty
        $child.ExitCode | Should -Be 0
        $child.Out | Sort-Object | Should -Be (@($script:A, $script:B) | Sort-Object | ForEach-Object { "$_ Deserialized.System.Management.Automation.PSCustomObject tmp" })
        (Get-StewardMessage -MessageId $m.MessageId).Status | Sort-Object -Unique | Should -Be 'Succeeded'
    }
}
