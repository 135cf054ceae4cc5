# Herder golems on another node, as a user meets them: this real pwsh starts, evaluates, lists and stops a golem on a
# node agent (its own OS process, Start-StewardNode in a child pwsh) through steward's HerderGolem method; the agent
# owns the golem, and a SIGKILLed agent leaves no Chromium behind. One nats-server for the file.

BeforeAll {
    $script:Manifest = (Resolve-Path (Join-Path $PSScriptRoot '..' '..' 'out' 'RemoteOps' 'RemoteOps.psd1')).Path
    Import-Module $script:Manifest -Force
    . (Join-Path $PSScriptRoot 'ChildProcess.ps1')
    if ($IsLinux -and ($env:PATH -split [IO.Path]::PathSeparator) -notcontains '/usr/sbin') {
        $env:PATH = $env:PATH + [IO.Path]::PathSeparator + '/usr/sbin'
    }
    $script:Dir = Join-Path ([IO.Path]::GetTempPath()) ("remoteops-golemremote-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory $script:Dir | Out-Null
    $script:Server = Start-RemoteOpsDevServer -Port 0

    $script:Operator = 'com.example.ops'
    $script:Node = 'com.example.golem-node'
    $suffix = [guid]::NewGuid().ToString('N').Substring(0, 8)
    $configs = @{}
    foreach ($name in $script:Operator, $script:Node) {
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
        # Generous: the machine is shared and Chromium starts slowly under load.
        $text += "`nherder:`n  max_timeout: 2m`nsteward:`n  stream: gr$suffix`n  results_bucket: grr$suffix`n  nodes_bucket: grn$suffix`n  data_directory: $data`n  methods:`n    Ping: { allowed: ['*'] }`n    HerderGolem: { allowed: [$script:Operator] }`n"
        Set-Content -Path $path -Value $text
        $script:Config[$name] = $path
    }
    $PSDefaultParameterValues['*-Steward*:ConfigPath'] = $script:Config[$script:Operator]
    $PSDefaultParameterValues['*-HerderGolem:ConfigPath'] = $script:Config[$script:Operator]

    $page = Join-Path $script:Dir 'page.html'
    Set-Content $page '<!doctype html><title>Far page</title><script type="text/golem" class="golem">window.far = "bootstrapped"</script>'
    $script:PageUrl = [Uri]::new($page, [UriKind]::Absolute).AbsoluteUri

    . (Join-Path $PSScriptRoot 'StewardAgents.ps1')
    $script:Agents = @{ $script:Node = Start-Agent $script:Node }
    Wait-Agent $script:Node

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
    function Get-GolemDirectory([int] $ProcessId) {
        $profile = (Get-Content -Raw "/proc/$ProcessId/cmdline") -split "`0" | Where-Object { $_ -like '--user-data-dir=*' }
        Split-Path ($profile -replace '^--user-data-dir=', '')
    }
}

AfterAll {
    . (Join-Path $PSScriptRoot 'StewardAgents.ps1')
    $PSDefaultParameterValues.Remove('*-HerderGolem:ConfigPath')
    Remove-StewardTestBed
}

Describe 'A golem on a node agent' {
    It 'starts, evaluates, lists and stops through HerderGolem, with Node carried down the pipeline' {
        $golem = Start-HerderGolem -Url $script:PageUrl -Name far -Node $script:Node
        $golem.Node | Should -Be $script:Node
        $golem.Bootstrapped | Should -BeTrue
        # The agent's process runs the browser, not this session.
        (Get-HerderGolem).Name | Should -Not -Contain 'far'
        $golem | Invoke-HerderGolem -Script 'document.title' | Should -Be 'Far page'
        $golem | Invoke-HerderGolem -Script 'window.far' | Should -Be 'bootstrapped'
        $out = $golem | Invoke-HerderGolem -Script 'throw new Error("far boom")' -ErrorAction SilentlyContinue -ErrorVariable e
        $out | Should -BeNullOrEmpty
        ($e[0].FullyQualifiedErrorId -split ',')[0] | Should -Be 'RemoteOps.HerderScriptError'
        $e[0].Exception.Message | Should -Match "Node $([regex]::Escape($script:Node)): Golem far: Error: far boom"
        $listed = Get-HerderGolem -Node $script:Node
        $listed.Name | Should -Be 'far'
        $directory = Get-GolemDirectory $golem.ProcessId
        $listed | Stop-HerderGolem -Confirm:$false
        Get-HerderGolem -Node $script:Node | Should -BeNullOrEmpty
        @(Get-ProcessNaming $directory) | Should -BeNullOrEmpty
    }

    It 'dies with its agent: a SIGKILLed agent leaves no Chromium process' {
        $golem = Start-HerderGolem -Url $script:PageUrl -Name doomed -Node $script:Node
        $directory = Get-GolemDirectory $golem.ProcessId
        @(Get-ProcessNaming $directory).Count | Should -BeGreaterThan 1
        $script:Agents[$script:Node].Process.Kill()
        $deadline = [DateTime]::UtcNow.AddMinutes(1)
        while (@(Get-ProcessNaming $directory).Count -gt 0) {
            if ([DateTime]::UtcNow -gt $deadline) { throw "Chromium processes of the golem still run a minute after the agent was killed." }
            Start-Sleep -Milliseconds 50
        }
        @(Get-ProcessNaming $directory) | Should -BeNullOrEmpty
    }
}
