# Steward end to end, as a user meets it: the sender cmdlets in this real pwsh against two node agents, each its own
# OS process running Start-StewardNode in a child pwsh, on one nats-server (nats-server on PATH or in /usr/sbin, as in
# CI). The server, the configs and the agents are shared by the whole file; the tests run in order (one agent is
# stopped and started again in the middle).

BeforeAll {
    $script:Manifest = (Resolve-Path (Join-Path $PSScriptRoot '..' '..' 'out' 'RemoteOps' 'RemoteOps.psd1')).Path
    Import-Module $script:Manifest -Force
    . (Join-Path $PSScriptRoot 'ChildProcess.ps1')
    if ($IsLinux -and ($env:PATH -split [IO.Path]::PathSeparator) -notcontains '/usr/sbin') {
        $env:PATH = $env:PATH + [IO.Path]::PathSeparator + '/usr/sbin'
    }
    $script:Dir = Join-Path ([IO.Path]::GetTempPath()) ("remoteops-steward-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory $script:Dir | Out-Null
    $script:Server = Start-RemoteOpsDevServer -Port 0

    # The operator (sends, no agent) and two nodes. Names as fleets have them: the second is longer than a short
    # table column, so the views show whether a node's name survives.
    $script:Operator = 'com.example.ops'
    $script:Web = 'com.example.web1'
    $script:Db = 'com.example.rack12.db-primary'
    $script:PeerOnly = 'com.example.spare'
    $suffix = [guid]::NewGuid().ToString('N').Substring(0, 8)
    $configs = @{}
    foreach ($name in $script:Operator, $script:Web, $script:Db) {
        $path = Join-Path $script:Dir $name 'config.yaml'
        $configs[$name] = New-RemoteOpsConfig -Path $path -Server $script:Server.Url -Destination $name
    }
    $spare = New-RemoteOpsIdentity
    # Every config lists every party as a peer (and the operator one that never runs an agent).
    $peers = "peers:`n" + (@(foreach ($name in $script:Operator, $script:Web, $script:Db) {
                "  - destination: $name`n    public: $($configs[$name].PublicKey)`n    verbs: [`"*`"]`n"
            }) -join '') + "  - destination: $script:PeerOnly`n    public: $($spare.PublicKey)`n    verbs: [`"*`"]`n"
    $methods = @{
        # web1 serves Hello; TailFile only to db (so the operator is refused it).
        $script:Web = "    Ping: { allowed: ['*'] }`n    Hello: { allowed: ['*'] }`n    CliCommand: { allowed: [$script:Operator] }`n    CliCommandCont: { allowed: [$script:Operator] }`n    OpProcessList: { allowed: ['*'] }`n    TailFile: { allowed: [$script:Db] }`n"
        # db serves TailFile to everyone, and no Hello.
        $script:Db = "    Ping: { allowed: ['*'] }`n    CliCommand: { allowed: [$script:Operator] }`n    CliCommandCont: { allowed: [$script:Operator] }`n    OpProcessList: { allowed: ['*'] }`n    TailFile: { allowed: ['*'] }`n"
        $script:Operator = "    Ping: { allowed: ['*'] }`n"
    }
    # The operator's default for reply methods is long, so that a -ReplyMethodTimeout that was lost would show.
    $extra = @{ $script:Operator = "  method_timeout: 60s`n" }
    $script:Config = @{}
    foreach ($name in $configs.Keys) {
        $path = $configs[$name].Path
        $text = (Get-Content -Raw $path) -replace '(?ms)^peers:\r?\n.*?(?=^# latch_bucket)', $peers
        $data = Join-Path $script:Dir $name 'data'
        $text += "`nsteward:`n  central: $script:Operator`n  stream: st$suffix`n  results_bucket: sr$suffix`n  nodes_bucket: sn$suffix`n  hello_interval: 2s`n  data_directory: $data`n$($extra[$name])  methods:`n$($methods[$name])"
        Set-Content -Path $path -Value $text
        $script:Config[$name] = $path
    }
    $script:OperatorData = Join-Path $script:Dir $script:Operator 'data'
    $PSDefaultParameterValues['*-Steward*:ConfigPath'] = $script:Config[$script:Operator]

    . (Join-Path $PSScriptRoot 'StewardAgents.ps1')

    $script:Agents = @{}
    foreach ($name in $script:Web, $script:Db) { $script:Agents[$name] = Start-Agent $name }
    Wait-Agent $script:Web, $script:Db
}

AfterAll {
    # Defined here too: a BeforeAll that failed early never dot-sourced it.
    . (Join-Path $PSScriptRoot 'StewardAgents.ps1')
    Remove-StewardTestBed
}

Describe 'Steward end to end: the sender cmdlets and two node agents' {
    It 'Ping: one node by name, and a pattern expanded from the registry (-Verbose shows the set)' {
        $r = Invoke-StewardMethod $script:Web Ping
        $r | Should -BeOfType ([RemoteOps.Steward.StewardReply])
        $r.Node | Should -Be $script:Web
        $r.Status | Should -Be 'Succeeded'
        $r.Output | Should -Be 'pong'

        $out = Invoke-StewardMethod 'com.example.**' Ping -Verbose 4>&1
        $verbose = @($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message
        $verbose | Should -Contain "'com.example.**' matches 2 live node(s): $script:Db, $script:Web."
        $replies = @($out | Where-Object { $_ -is [RemoteOps.Steward.StewardReply] })
        ($replies.Node | Sort-Object) | Should -Be @($script:Db, $script:Web)
        $replies.Status | Sort-Object -Unique | Should -Be 'Succeeded'
    }

    It 'CliCommand: the exit code, stdout and stderr; a non-zero exit is Failed with an error for the node' {
        $r = Invoke-StewardMethod $script:Web CliCommand sh, -c, 'echo hello; echo oops >&2'
        $r.Status | Should -Be 'Succeeded'
        $r.ExitCode | Should -Be 0
        $r.Output | Should -Be "hello`n"
        $r.Error | Should -Be "oops`n"

        $r = Invoke-StewardMethod $script:Web CliCommand sh, -c, 'echo partial; exit 3' -ErrorAction SilentlyContinue -ErrorVariable e
        $r.Status | Should -Be 'Failed'
        $r.ExitCode | Should -Be 3
        $r.Output | Should -Be "partial`n"
        $e | Should -HaveCount 1
        $e[0].FullyQualifiedErrorId | Should -BeLike 'RemoteOps.StewardMethodFailed,*'
        $e[0].TargetObject | Should -Be $script:Web
    }

    It 'CliCommandCont: the StewardOutput lines as they come, then the reply' {
        $out = @(Invoke-StewardMethod $script:Web CliCommandCont sh, -c, 'echo one; echo two; echo three' -MethodTimeout 30)
        $out | Should -HaveCount 4
        $out[0..2] | ForEach-Object { $_ | Should -BeOfType ([RemoteOps.Steward.StewardOutput]) }
        $out[0..2].Line | Should -Be 'one', 'two', 'three'
        $out[0..2].Sequence | Should -Be 1, 2, 3
        $out[0..2].Node | Sort-Object -Unique | Should -Be $script:Web
        $out[3] | Should -BeOfType ([RemoteOps.Steward.StewardReply])
        $out[3].Status | Should -Be 'Succeeded'
        $out[3].MessageId | Should -Be $out[0].MessageId
    }

    It 'a method a node does not serve is Denied for that node only, like Invoke-Command: one object per node, -ErrorVariable lists the failed node' {
        $r = @(Invoke-StewardMethod $script:Web, $script:Db Hello -ErrorAction SilentlyContinue -ErrorVariable e)
        $r | Should -HaveCount 2
        ($r | Where-Object Node -EQ $script:Web).Status | Should -Be 'Succeeded'
        ($r | Where-Object Node -EQ $script:Db).Status | Should -Be 'Denied'
        $e | Should -HaveCount 1
        $e[0].FullyQualifiedErrorId | Should -BeLike 'RemoteOps.StewardDenied,*'
        $e[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
        $e[0].TargetObject | Should -Be $script:Db
        $e[0].Exception.Message | Should -BeLike '*does not serve Hello*'
    }

    It 'a sender not allowed for a method is Denied by that node while the other node answers' {
        $file = Join-Path $script:Dir 'tailed.log'
        Set-Content -Path $file -Value 'before'
        $r = @(Invoke-StewardMethod $script:Web, $script:Db TailFile $file -MethodTimeout 1 -ErrorAction SilentlyContinue -ErrorVariable e)
        $r | Should -HaveCount 2
        ($r | Where-Object Node -EQ $script:Db).Status | Should -Be 'Succeeded'
        ($r | Where-Object Node -EQ $script:Web).Status | Should -Be 'Denied'
        $e | Should -HaveCount 1
        $e[0].TargetObject | Should -Be $script:Web
        $e[0].Exception.Message | Should -BeLike "*is not allowed to call TailFile on node $script:Web*"
    }

    It '-NoWait returns the queued message; another pwsh process reads its status and waits for its reply' {
        $sent = Invoke-StewardMethod $script:Web CliCommand sh, -c, 'echo from-afar' -NoWait
        $sent | Should -BeOfType ([RemoteOps.Steward.StewardMessage])
        $sent.Status | Should -Be 'Queued'
        $childScript = "Import-Module '$script:Manifest'; `$c = '$($script:Config[$script:Operator])'; " +
        "Get-StewardMessage -MessageId $($sent.MessageId) -ConfigPath `$c | ForEach-Object { 'message ' + `$_.Node + ' ' + `$_.Method }; " +
        "Receive-StewardReply -MessageId $($sent.MessageId) -Wait -Timeout 60 -ConfigPath `$c | ForEach-Object { 'reply ' + `$_.Status + ' ' + `$_.Output.Trim() }"
        $child = Invoke-ChildPwsh @('-Command', $childScript)
        $child.Err | Should -BeNullOrEmpty
        $child.ExitCode | Should -Be 0
        $child.Out | Should -Be @("message $script:Web CliCommand", 'reply Succeeded from-afar')
        (Get-StewardMessage $sent.MessageId).Status | Should -Be 'Succeeded'
    }

    It 'the seed''s JSON, through ConvertFrom-Json, with toNode set to the test nodes' {
        $seedDir = Join-Path $PSScriptRoot '..' 'RemoteOps.Core.Tests' 'Steward' 'Seed'
        # seed10: REQOpProcessList with REQToConsole; seed18: REQOpCommand with the operation {opCmd: ps}.
        $list = Get-Content -Raw (Join-Path $seedDir 'seed10.json') | ConvertFrom-Json
        $list | ForEach-Object { $_.toNode = $script:Db }
        $ps = Get-Content -Raw (Join-Path $seedDir 'seed18.json') | ConvertFrom-Json
        $ps | ForEach-Object { $_.toNode = $script:Web }
        $r = @(@($list) + @($ps) | Invoke-StewardMethod)
        $r | Should -HaveCount 2
        $r.Method | Sort-Object -Unique | Should -Be 'OpProcessList'
        $r.Status | Sort-Object -Unique | Should -Be 'Succeeded'
        ($r | Where-Object Node -EQ $script:Db).Output | Should -BeLike "*TailFile: `**"
        ($r | Where-Object Node -EQ $script:Web).Output | Should -BeLike "*CliCommand: $script:Operator*"
    }

    It 'the seed''s ToFile reply method writes the reply to Directory/FileName under the session''s steward data directory' {
        $seed = Get-Content -Raw (Join-Path $PSScriptRoot '..' 'RemoteOps.Core.Tests' 'Steward' 'Seed' 'seed12.json') | ConvertFrom-Json
        $seed | ForEach-Object { $_.toNode = $script:Web }
        $r = $seed | Invoke-StewardMethod
        $r.Status | Should -Be 'Succeeded'
        $file = Join-Path $script:OperatorData 'test' 'dir' 'test.result'
        Test-Path $file | Should -BeTrue
        (Get-Content -Raw $file).TrimEnd("`n") | Should -Be $r.Output.TrimEnd("`n")
        Get-Content -Raw $file | Should -BeLike "*Ping: `**"
    }

    It 'the seed''s CliCommand reply method gets the node''s output as {{STEWARD_DATA}}, in Directory under the session''s data directory' {
        $seed = Get-Content -Raw (Join-Path $PSScriptRoot '..' 'RemoteOps.Core.Tests' 'Steward' 'Seed' 'seed13.json') | ConvertFrom-Json
        # Its reply: bash -c 'echo "{{STEWARD_DATA}}" > apekatt.txt' in cli_command_test; the method: a command every node has.
        $seed | ForEach-Object { $_.toNode = $script:Web; $_.methodArgs = @('sh', '-c', 'echo one; echo "two  \$HOME"') }
        $r = $seed | Invoke-StewardMethod
        $r.Status | Should -Be 'Succeeded'
        Get-Content -Raw (Join-Path $script:OperatorData 'cli_command_test' 'apekatt.txt') | Should -Be "one`ntwo  `$HOME`n`n"
    }

    It '-ReplyMethodTimeout holds for the reply method of a message a node agent answered' {
        $marker = Join-Path $script:Dir 'late-reply.txt'
        $r = Invoke-StewardMethod $script:Web Ping -ReplyMethod CliCommand -ReplyMethodArgs sh, -c, "sleep 5; echo late > '$marker'" -ReplyMethodTimeout 1 -ErrorAction SilentlyContinue -ErrorVariable e
        $r.Status | Should -Be 'Succeeded'
        $e | Should -HaveCount 1
        $e[0].FullyQualifiedErrorId | Should -BeLike 'RemoteOps.StewardReplyMethodFailed,*'
        $e[0].Exception.Message | Should -BeLike '*timed out*'
        Test-Path $marker | Should -BeFalse
    }

    It 'SIGTERM stops Start-StewardNode with exit code 0; a message sent while it is down runs when it starts; a cancelled one and one past its window never run' {
        $stopped = Stop-Agent $script:Agents[$script:Db]
        $stopped.ExitCode | Should -Be 0 -Because "$($stopped.Out)`n$($stopped.Err)"
        $stopped.Out | Should -BeLike "*Steward node $script:Db stopped.*"

        $ran = Join-Path $script:Dir 'ran.txt'
        $later = Invoke-StewardMethod $script:Db CliCommand sh, -c, "echo later >> '$ran'" -AckTimeout 120 -Retries 0 -NoWait
        $cancelled = Invoke-StewardMethod $script:Db CliCommand sh, -c, "echo cancelled >> '$ran'" -AckTimeout 120 -Retries 0 -NoWait
        $cancelled | Remove-StewardMessage -Confirm:$false
        $noAck = Invoke-StewardMethod $script:Db CliCommand sh, -c, "echo noack >> '$ran'" -AckTimeout 0.5 -Retries 0 -ErrorAction SilentlyContinue -ErrorVariable e
        $noAck.Status | Should -Be 'NoAck'
        $e | Should -HaveCount 1
        $e[0].FullyQualifiedErrorId | Should -BeLike 'RemoteOps.StewardNoAck,*'
        $e[0].TargetObject | Should -Be $script:Db
        (Get-StewardMessage $later.MessageId, $cancelled.MessageId, $noAck.MessageId).Status | Should -Be 'Queued', 'Cancelled', 'NoAck'

        $script:Agents[$script:Db] = Start-Agent $script:Db
        ($later | Receive-StewardReply -Wait -Timeout 60).Status | Should -Be 'Succeeded'
        # The node's queue is taken in order: once a Ping sent now is answered, the messages before it were judged.
        Wait-Agent $script:Db
        Get-Content $ran | Should -Be 'later'
        (Get-StewardMessage $later.MessageId, $cancelled.MessageId, $noAck.MessageId).Status | Should -Be 'Succeeded', 'Cancelled', 'NoAck'
    }

    It 'Tab completes -Method with the methods, and -ToNode with the registry''s nodes and the configured peers' {
        $line = 'Invoke-StewardMethod -Method '
        $methods = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText
        foreach ($m in 'Ping', 'Hello', 'CliCommand', 'CliCommandCont', 'TailFile', 'HttpGet', 'OpProcessList', 'OpProcessStart', 'OpProcessStop') {
            $methods | Should -Contain $m
        }
        $methods | Should -Not -Contain 'ToFile'

        $line = "Invoke-StewardMethod -ConfigPath '$($script:Config[$script:Operator])' -ToNode "
        $nodes = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches
        $nodes.CompletionText | Should -Contain $script:Web
        $nodes.CompletionText | Should -Contain $script:Db
        $nodes.CompletionText | Should -Contain $script:PeerOnly
        ($nodes | Where-Object CompletionText -EQ $script:Web).ToolTip | Should -BeLike 'online*'

        $line = "Invoke-StewardMethod -ConfigPath '$($script:Config[$script:Operator])' -ToNode com.example.r"
        $typed = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText
        $typed | Should -Contain $script:Db
        $typed | Should -Not -Contain $script:Web
    }

    It 'the default views at 120 columns show whole node names and message ids, and a reply''s output on one line' {
        $replies = @(Invoke-StewardMethod $script:Web, $script:Db CliCommand sh, -c, 'echo first; echo second')
        $messages = @($replies | Get-StewardMessage)
        $lines = @(Invoke-StewardMethod $script:Db CliCommandCont sh, -c, 'echo streamed' -MethodTimeout 30 | Where-Object { $_ -is [RemoteOps.Steward.StewardOutput] })
        $replies | Should -HaveCount 2
        $messages | Should -HaveCount 2
        $lines | Should -HaveCount 1

        $views = @{ Message = $messages | Out-String -Width 120; Reply = $replies | Out-String -Width 120; Output = $lines | Out-String -Width 120 }
        foreach ($m in $messages) { $views.Message | Should -Match ('(?m)^' + [regex]::Escape($m.MessageId) + ' +' + [regex]::Escape($m.Node) + ' +CliCommand +Succeeded ') }
        foreach ($r in $replies) { $views.Reply | Should -Match ('(?m)^' + [regex]::Escape($r.Node) + ' +CliCommand +Succeeded +0 +[0-9.]+s first second *$') }
        $views.Output | Should -Match ('(?m)^' + [regex]::Escape($script:Db) + ' +1 streamed *$')
        foreach ($v in $views.Values) {
            $v | Should -Not -Match '…'
            ($v -split '\r?\n' | Measure-Object -Maximum Length).Maximum | Should -BeLessOrEqual 120
        }
    }
}
