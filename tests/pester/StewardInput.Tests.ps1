# The seed's input API as a user meets it: Start-StewardNode with steward.socket in its own OS process, the real nc
# sending a message file to its socket, and the result read back with Receive-StewardReply in this pwsh.

BeforeAll {
    $script:Manifest = (Resolve-Path (Join-Path $PSScriptRoot '..' '..' 'out' 'RemoteOps' 'RemoteOps.psd1')).Path
    Import-Module $script:Manifest -Force
    . (Join-Path $PSScriptRoot 'ChildProcess.ps1')
    if ($IsLinux -and ($env:PATH -split [IO.Path]::PathSeparator) -notcontains '/usr/sbin') {
        $env:PATH = $env:PATH + [IO.Path]::PathSeparator + '/usr/sbin'
    }
    $script:Dir = Join-Path ([IO.Path]::GetTempPath()) ("remoteops-input-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory $script:Dir | Out-Null
    $script:Server = Start-RemoteOpsDevServer -Port 0

    $script:In = 'com.example.in'     # takes the JSON on its socket and signs it
    $script:Run = 'com.example.run'   # runs it
    $suffix = [guid]::NewGuid().ToString('N').Substring(0, 8)
    $configs = @{}
    foreach ($name in $script:In, $script:Run) {
        $configs[$name] = New-RemoteOpsConfig -Path (Join-Path $script:Dir $name 'config.yaml') -Server $script:Server.Url -Destination $name
    }
    $peers = "peers:`n" + (@(foreach ($name in $script:In, $script:Run) {
                "  - destination: $name`n    public: $($configs[$name].PublicKey)`n    verbs: [`"*`"]`n"
            }) -join '')
    $extra = @{
        $script:In  = "  socket: true`n  methods:`n    Ping: { allowed: ['*'] }`n"
        $script:Run = "  methods:`n    Ping: { allowed: ['*'] }`n    CliCommand: { allowed: [$script:In] }`n"
    }
    $script:Config = @{}
    foreach ($name in $configs.Keys) {
        $path = $configs[$name].Path
        $text = (Get-Content -Raw $path) -replace '(?ms)^peers:\r?\n.*?(?=^# latch_bucket)', $peers
        $text += "`nsteward:`n  stream: st$suffix`n  results_bucket: sr$suffix`n  nodes_bucket: sn$suffix`n  data_directory: $(Join-Path $script:Dir $name 'data')`n$($extra[$name])"
        Set-Content -Path $path -Value $text
        $script:Config[$name] = $path
    }
    $PSDefaultParameterValues['*-Steward*:ConfigPath'] = $script:Config[$script:In]
    $script:Socket = Join-Path $script:Dir $script:In 'data' $script:In 'steward.sock'

    . (Join-Path $PSScriptRoot 'StewardAgents.ps1')
    $script:Agents = @{}
    foreach ($name in $script:In, $script:Run) { $script:Agents[$name] = Start-Agent $name }
    Wait-Agent $script:In, $script:Run

    # nc -U as in the seed; the document ends at its last bracket, so nc needs no -N.
    function Send-ToSocket([string] $Json) {
        $file = Join-Path $script:Dir ("msg-" + [guid]::NewGuid().ToString('N') + '.json')
        Set-Content -Path $file -Value $Json -NoNewline
        $out = & sh -c 'nc -U "$0" < "$1"' $script:Socket $file
        $LASTEXITCODE | Should -Be 0
        @($out | Where-Object { $_ } | ForEach-Object { $_ | ConvertFrom-Json })
    }
}

AfterAll {
    # Defined here too: a BeforeAll that failed early never dot-sourced it.
    . (Join-Path $PSScriptRoot 'StewardAgents.ps1')
    Remove-StewardTestBed
}

Describe 'Steward input API: nc -U steward.sock < msg.json' {
    It 'creates the socket mode 600 in the node''s data directory' {
        (Get-Item $script:Socket).UnixFileMode | Should -Be ([System.IO.UnixFileMode]'UserRead, UserWrite')
        (Get-Item $script:Socket).UnixMode | Should -Be 'srw-------'
    }

    It 'queues a message file signed as the node, and the node''s reply is read back' {
        $json = @"
[
  {
    "toNode": "$script:Run",
    "method": "REQCliCommand",
    "methodArgs": ["sh", "-c", "echo from-nc"],
    "ACKTimeout": 30,
    "retries": 3,
    "methodTimeout": 30
  }
]
"@
        $line = Send-ToSocket $json
        $line.Count | Should -Be 1
        $line[0].status | Should -Be 'Queued'
        $line[0].node | Should -Be $script:Run
        $reply = Receive-StewardReply $line[0].messageId -Wait -Timeout 120
        $reply.Status | Should -Be 'Succeeded'
        $reply.Output | Should -Be "from-nc`n"
        (Get-StewardMessage $line[0].messageId).SenderName | Should -Be $script:In
    }

    It 'answers bad input with one error line and goes on serving' {
        $bad = Send-ToSocket '[{"toNode": "x", "method": "Ping", "retries": "three"}]'
        $bad.Count | Should -Be 1
        $bad[0].status | Should -Be 'Error'
        $bad[0].error | Should -Be 'InvalidMessage'
        $bad[0].message | Should -Match "field 'retries'"
        (Send-ToSocket '[{"toNode": }').error | Should -Be 'InvalidJson'
        $ok = Send-ToSocket "{`"toNode`": `"$script:Run`", `"method`": `"Ping`"}"
        (Receive-StewardReply $ok[0].messageId -Wait -Timeout 120).Output | Should -Be 'pong'
    }
}
