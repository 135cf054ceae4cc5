# Herder daemons as a user meets them, in this real pwsh: first this session's own daemons (no agent runs for the
# config's destination), then daemons on a node agent that is its own OS process (Start-StewardNode in a child pwsh),
# which is killed with SIGKILL while a minion and a daemon run: no orphan stays, and the daemon is adopted again when
# the agent restarts. One nats-server (nats-server on PATH or in /usr/sbin) serves seaport, steward and the ledger.

BeforeAll {
    $script:Manifest = (Resolve-Path (Join-Path $PSScriptRoot '..' '..' 'out' 'RemoteOps' 'RemoteOps.psd1')).Path
    Import-Module $script:Manifest -Force
    . (Join-Path $PSScriptRoot 'ChildProcess.ps1')
    if ($IsLinux -and ($env:PATH -split [IO.Path]::PathSeparator) -notcontains '/usr/sbin') {
        $env:PATH = $env:PATH + [IO.Path]::PathSeparator + '/usr/sbin'
    }
    $script:Dir = Join-Path ([IO.Path]::GetTempPath()) ("remoteops-daemon-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory $script:Dir | Out-Null
    $script:Server = Start-RemoteOpsDevServer -Port 0

    # The session (sends, runs its own daemons: no agent serves its destination) and one node agent.
    $script:Operator = 'com.example.ops'
    $script:Node = 'com.example.daemons'
    $suffix = [guid]::NewGuid().ToString('N').Substring(0, 8)
    $configs = @{}
    foreach ($name in $script:Operator, $script:Node) {
        $configs[$name] = New-RemoteOpsConfig -Path (Join-Path $script:Dir $name 'config.yaml') -Server $script:Server.Url -Destination $name
    }
    $peers = "peers:`n" + (@(foreach ($name in $script:Operator, $script:Node) {
                "  - destination: $name`n    public: $($configs[$name].PublicKey)`n    verbs: [`"*`"]`n"
            }) -join '')
    $script:Config = @{}
    foreach ($name in $configs.Keys) {
        $path = $configs[$name].Path
        $text = (Get-Content -Raw $path) -replace '(?ms)^peers:\r?\n.*?(?=^# latch_bucket)', $peers
        $data = Join-Path $script:Dir $name 'data'
        $text += "`nsteward:`n  stream: st$suffix`n  results_bucket: sr$suffix`n  nodes_bucket: sn$suffix`n  hello_interval: 2s`n  data_directory: $data`n  methods:`n    Ping: { allowed: ['*'] }`n    HerderDaemon: { allowed: [$script:Operator, $script:Node] }`n    HerderMinion: { allowed: [$script:Operator] }`n"
        $text += "herder:`n  log_retention: 1d`n  max_timeout: 200s`n"
        Set-Content -Path $path -Value $text
        $script:Config[$name] = $path
    }
    $PSDefaultParameterValues['*-Herder*:ConfigPath'] = $script:Config[$script:Operator]
    $PSDefaultParameterValues['*-Steward*:ConfigPath'] = $script:Config[$script:Operator]
    $PSDefaultParameterValues['*-Seaport*:ConfigPath'] = $script:Config[$script:Operator]

    . (Join-Path $PSScriptRoot 'StewardAgents.ps1')
    $script:Agents = @{}

    # A daemon that answers its stdin on stdout and stderr, and keeps a background child (its tree must go on stop).
    $script:Echo = 'sleep 300 & echo ready; while read line; do echo "got $line"; echo "err $line" >&2; done'

    # The processes whose parent chain leads to $Root (from /proc).
    function Get-Descendant([int] $Root) {
        $parents = @{}
        foreach ($d in Get-ChildItem /proc -Directory -ErrorAction SilentlyContinue | Where-Object Name -Match '^\d+$') {
            try { $stat = [IO.File]::ReadAllText("/proc/$($d.Name)/stat") } catch { continue }
            $fields = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
            if ($fields[0] -notin 'Z', 'X') { $parents[[int]$d.Name] = [int]$fields[1] }
        }
        $found = [System.Collections.Generic.HashSet[int]]::new()
        $queue = [System.Collections.Generic.Queue[int]]::new(); $queue.Enqueue($Root)
        while ($queue.Count) {
            $p = $queue.Dequeue()
            foreach ($child in @($parents.Keys | Where-Object { $parents[$_] -eq $p })) { if ($found.Add($child)) { $queue.Enqueue($child) } }
        }
        @($found)
    }

    function Test-Alive([int] $ProcessId) {
        try { $stat = [IO.File]::ReadAllText("/proc/$ProcessId/stat") } catch { return $false }
        $stat.Substring($stat.LastIndexOf(')') + 2)[0] -notin 'Z', 'X'
    }

    # Waits (generously: a shared, loaded machine) until the script block is true.
    function Wait-Until([scriptblock] $Condition, [string] $What, [int] $Seconds = 60) {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        while (-not (& $Condition)) {
            if ([DateTime]::UtcNow -gt $deadline) { throw "Not within $Seconds s: $What" }
            Start-Sleep -Milliseconds 50
        }
    }
}

AfterAll {
    Get-HerderDaemon -ErrorAction SilentlyContinue | Where-Object State -In Running, Restarting | Stop-HerderDaemon -Confirm:$false -ErrorAction SilentlyContinue
    $PSDefaultParameterValues.Remove('*-Herder*:ConfigPath')
    $PSDefaultParameterValues.Remove('*-Seaport*:ConfigPath')
    Remove-StewardTestBed
}

Describe 'Daemons of this session' {
    It 'starts a daemon, lists it, attaches with a read and a write, stops its whole tree, and keeps its logs' {
        $d = Start-HerderDaemon echo -Environment bash -File @{ 'main.sh' = $script:Echo }
        $d.PSObject.TypeNames[0] | Should -Be 'RemoteOps.Herder.HerderDaemon'
        $d.State | Should -Be 'Running'
        $d.Node | Should -Be $script:Operator
        $d.Owner | Should -Be $script:Operator
        $d.ProcessId | Should -BeGreaterThan 0

        $listed = @(Get-HerderDaemon 'ec*')
        $listed.Name | Should -Be 'echo'
        ($listed | Format-Table | Out-String) | Should -Match 'echo\s+com\.example\.ops\s+Running'

        # The write: a piped line goes to its stdin; the read: what it answers comes back, with its stream.
        $out = @('hello' | Connect-HerderDaemon echo -Timeout 5s)
        $out | Where-Object Stream -EQ Output | ForEach-Object Line | Should -Contain 'got hello'
        $out | Where-Object Stream -EQ Error | ForEach-Object Line | Should -Contain 'err hello'
        $out[0].PSObject.TypeNames[0] | Should -Be 'RemoteOps.Herder.HerderDaemonOutput'
        $out[0].Time | Should -Not -BeNullOrEmpty

        $tree = @($d.ProcessId) + (Get-Descendant $d.ProcessId)
        $stopped = Get-HerderDaemon echo | Stop-HerderDaemon -Confirm:$false
        $stopped.State | Should -Be 'Stopped'
        @($tree | Where-Object { Test-Alive $_ }) | Should -BeNullOrEmpty

        $log = @(Receive-HerderDaemonLog echo)
        $log | Where-Object Stream -EQ Output | ForEach-Object Line | Should -Be @('ready', 'got hello')
        ($log | Where-Object Stream -EQ Error | ForEach-Object Line) -join "`n" | Should -Match 'Stopped: Stop-HerderDaemon'
        @(Receive-HerderDaemonLog echo -Tail 1 | Where-Object Stream -EQ Output).Line | Should -Be 'got hello'
    }

    It 'passes its ports in PORT and PORT_HTTP and registers it in seaport as web@0.0.0 until it stops' {
        $d = Start-HerderDaemon web -Command bash, -c, 'echo "$PORT $PORT_HTTP $PORT_ADMIN"; exec sleep 300' -Port http, admin -Restart Never
        $d.Ports.Keys | Sort-Object | Should -Be @('admin', 'http')
        Wait-Until { @(Receive-HerderDaemonLog web).Count -ge 1 } 'the daemon printed its ports'
        (Receive-HerderDaemonLog web)[0].Line | Should -Be "$($d.Ports.http) $($d.Ports.http) $($d.Ports.admin)"
        $service = Get-SeaportService 'web@0.0.0'
        $service.Port | Should -Be $d.Ports.http
        $service.Ports.admin | Should -Be $d.Ports.admin
        Stop-HerderDaemon web -Confirm:$false | Out-Null
        @(Get-SeaportService 'web@0.0.0' -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty
    }

    It 'restarts a daemon that fails and records its exit code' {
        Start-HerderDaemon flaky -Command bash, -c, 'echo run; exit 3' | Out-Null
        Wait-Until { (Get-HerderDaemon flaky).Restarts -ge 1 } 'a restart'
        (Get-HerderDaemon flaky).ExitCode | Should -Be 3
        Stop-HerderDaemon flaky -Confirm:$false | Out-Null
    }

    It 'refuses a duplicate name with RemoteOps.HerderDaemonExists' {
        Start-HerderDaemon twice -Command sleep, 300 | Out-Null
        $r = Start-HerderDaemon twice -Command sleep, 300 -ErrorAction SilentlyContinue -ErrorVariable e
        $r | Should -BeNullOrEmpty
        $e.Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -BeLike 'RemoteOps.HerderDaemonExists,*'
        $e[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        $e[0].Exception.Message | Should -Match "already runs"
        Stop-HerderDaemon twice -Confirm:$false | Out-Null
    }

    It 'names an unknown daemon with RemoteOps.HerderDaemonNotFound, for every cmdlet' -ForEach @(
        @{ Run = { Get-HerderDaemon nope -ErrorAction SilentlyContinue -ErrorVariable e; $e } }
        @{ Run = { Stop-HerderDaemon nope -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable e; $e } }
        @{ Run = { Connect-HerderDaemon nope -Timeout 1s -ErrorAction SilentlyContinue -ErrorVariable e; $e } }
        @{ Run = { Receive-HerderDaemonLog nope -ErrorAction SilentlyContinue -ErrorVariable e; $e } }
    ) {
        $errors = @(& $Run)
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'RemoteOps.HerderDaemonNotFound,*'
        $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'changes nothing under -WhatIf' {
        Start-HerderDaemon ghost -Command sleep, 300 -WhatIf | Should -BeNullOrEmpty
        @(Get-HerderDaemon ghost -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty
    }
}

Describe 'Daemons on a node agent' {
    BeforeAll {
        $script:Agents[$script:Node] = Start-Agent $script:Node
        Wait-Agent $script:Node
    }

    It 'starts, lists, attaches with a read and a write, reads the logs, and stops a daemon on the node' {
        $d = Start-HerderDaemon remote-echo -Environment bash -File @{ 'main.sh' = $script:Echo } -Node $script:Node
        $d.Node | Should -Be $script:Node
        $d.Owner | Should -Be $script:Operator
        $d.State | Should -Be 'Running'
        (Get-HerderDaemon -Node $script:Node).Name | Should -Contain 'remote-echo'

        $out = @('over nats' | Connect-HerderDaemon remote-echo -Node $script:Node -Timeout 8s)
        $out | Where-Object Stream -EQ Output | ForEach-Object Line | Should -Contain 'got over nats'
        (Receive-HerderDaemonLog remote-echo -Node $script:Node | Where-Object Stream -EQ Output).Line | Should -Be @('ready', 'got over nats')

        (Get-HerderDaemon remote-echo -Node $script:Node | Stop-HerderDaemon -Confirm:$false).State | Should -Be 'Stopped'
        $e = $null
        Stop-HerderDaemon nope -Node $script:Node -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable e
        $e[0].FullyQualifiedErrorId | Should -BeLike 'RemoteOps.HerderDaemonNotFound,*'
    }

    It 'goes to this machine''s agent without -Node when the agent of the config''s destination runs' {
        $d = Start-HerderDaemon local-to-agent -Command sleep, 300 -ConfigPath $script:Config[$script:Node]
        $d.Node | Should -Be $script:Node
        # The agent owns it (its sender identity is the node's own): it is not this session's.
        (Get-HerderDaemon -Node $script:Node -ConfigPath $script:Config[$script:Node]).Name | Should -Contain 'local-to-agent'
        @(Get-HerderDaemon local-to-agent -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty
        # Tab reads this machine's agent's folder for its daemon names.
        $line = "Stop-HerderDaemon -ConfigPath '$($script:Config[$script:Node])' -Name local-to"
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain 'local-to-agent'
        Stop-HerderDaemon local-to-agent -ConfigPath $script:Config[$script:Node] -Confirm:$false | Out-Null
    }

    It 'leaves no orphan when the agent is killed with SIGKILL, and adopts the daemon (and its seaport registration) when it restarts' {
        $agent = $script:Agents[$script:Node]
        $d = Start-HerderDaemon survivor -Environment bash -File @{ 'main.sh' = $script:Echo } -Port http -Node $script:Node
        (Get-SeaportService 'survivor@0.0.0').Port | Should -Be $d.Ports.http
        $daemonTree = @($d.ProcessId) + (Get-Descendant $d.ProcessId)
        # A minion that would run for two minutes, started from a thread job (its call waits for its end).
        $operatorConfig = $script:Config[$script:Operator]
        $minion = Start-ThreadJob {
            Import-Module $using:Manifest
            Invoke-HerderMinion bash @{ 'main.sh' = 'sleep 120' } -Timeout 120s -Node $using:Node -ConfigPath $using:operatorConfig -ErrorAction SilentlyContinue
        }
        try { Wait-Until { @(Get-Descendant $agent.Process.Id | Where-Object { (Get-Content "/proc/$_/cmdline" -Raw -ErrorAction SilentlyContinue) -match 'remoteops-minion-' }).Count -gt 0 } 'the minion runs' }
        catch { throw "$_ (its job: $($minion.State), $($minion | Receive-Job -Keep 2>&1 | Out-String))" }
        $before = Get-Descendant $agent.Process.Id

        & /bin/kill -KILL $agent.Process.Id
        $agent.Process.WaitForExit()
        # Everything the agent started dies with it, except the daemon's own tree, which lives on.
        $others = @($before | Where-Object { $_ -notin $daemonTree -and (Get-Descendant $d.ProcessId) -notcontains $_ })
        Wait-Until { @($others | Where-Object { Test-Alive $_ }).Count -eq 0 } "no orphan of the killed agent (left: $(@($others | Where-Object { Test-Alive $_ }) -join ', '))"
        Test-Alive $d.ProcessId | Should -BeTrue

        $script:Agents[$script:Node] = Start-Agent $script:Node
        Wait-Agent $script:Node
        $back = Get-HerderDaemon survivor -Node $script:Node
        $back.State | Should -Be 'Running'
        $back.ProcessId | Should -Be $d.ProcessId
        $out = @('after the crash' | Connect-HerderDaemon survivor -Node $script:Node -Timeout 8s)
        $out.Line | Should -Contain 'got after the crash'
        (Receive-HerderDaemonLog survivor -Node $script:Node | Where-Object Stream -EQ Error).Line -join "`n" | Should -Match 'Adopted'
        # Registered again by the new agent, with the same port.
        Wait-Until { @(Get-SeaportService 'survivor@0.0.0' -ErrorAction SilentlyContinue | Where-Object Port -EQ $d.Ports.http).Count -eq 1 } 'the adopted daemon registered again'

        Stop-HerderDaemon survivor -Node $script:Node -Confirm:$false | Out-Null
        @($daemonTree | Where-Object { Test-Alive $_ }) | Should -BeNullOrEmpty
        # Its client waits for a result the killed agent never sent: stopped, not awaited.
        $minion | Remove-Job -Force
    }
}
