# The contract of every cmdlet as a user meets it in a real pwsh: pipeline binding (each parameter that takes pipeline
# input is fed by its natural producer, and a test fails when Get-Command shows one that no test here feeds) and error
# ids and categories (each cmdlet's bad inputs give the documented FullyQualifiedErrorId and category). One throwaway
# dev server for the file (nats-server on PATH or in /usr/sbin, as in CI); the dev server cmdlets start their own.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot '..' '..' 'out' 'RemoteOps' 'RemoteOps.psd1') -Force
    # (cmdlet, parameter, ByValue/ByPropertyName) -> the It below that pipes into it. A new pipeline parameter without
    # an entry fails 'is fed by a test in this file'.
    $bindingTests = @{
        'Send-Remaphore/Message/ByValue'                 = 'Send-Remaphore: a piped string is the payload'
        'Send-Remaphore/Message/ByPropertyName'          = 'Send-Remaphore: Payload, Destination, Verb and Uuid bind by property name'
        'Send-Remaphore/Destination/ByPropertyName'      = 'Send-Remaphore: Payload, Destination, Verb and Uuid bind by property name'
        'Send-Remaphore/Verb/ByPropertyName'             = 'Send-Remaphore: Payload, Destination, Verb and Uuid bind by property name'
        'Send-Remaphore/Uuid/ByPropertyName'             = 'Send-Remaphore: Payload, Destination, Verb and Uuid bind by property name'
        'Invoke-Remaphore/Message/ByValue'               = 'Invoke-Remaphore: a piped string is the request, and property-named objects bind Payload, Destination, Verb and Uuid'
        'Invoke-Remaphore/Message/ByPropertyName'        = 'Invoke-Remaphore: a piped string is the request, and property-named objects bind Payload, Destination, Verb and Uuid'
        'Invoke-Remaphore/Destination/ByPropertyName'    = 'Invoke-Remaphore: a piped string is the request, and property-named objects bind Payload, Destination, Verb and Uuid'
        'Invoke-Remaphore/Verb/ByPropertyName'           = 'Invoke-Remaphore: a piped string is the request, and property-named objects bind Payload, Destination, Verb and Uuid'
        'Invoke-Remaphore/Uuid/ByPropertyName'           = 'Invoke-Remaphore: a piped string is the request, and property-named objects bind Payload, Destination, Verb and Uuid'
        'Clear-RemaphoreLatch/Key/ByPropertyName'        = 'Get-RemaphoreLatch | Clear-RemaphoreLatch deletes the latches listed'
        'ConvertFrom-RemaphoreConfig/Path/ByValue'       = 'ConvertFrom-RemaphoreConfig: a piped path string converts that file'
        'ConvertFrom-RemaphoreConfig/Path/ByPropertyName' = 'Get-ChildItem remaphore.conf | ConvertFrom-RemaphoreConfig converts the file'
        'New-RemoteOpsConfig/Server/ByPropertyName'      = 'Start-RemoteOpsDevServer | New-RemoteOpsConfig writes the server''s Url'
        'Get-RemoteOpsDevServer/ProcessId/ByPropertyName' = 'Get-RemoteOpsDevServer takes ProcessId (or Id) by property name'
        'Stop-RemoteOpsDevServer/InputObject/ByValue'    = 'Get-RemoteOpsDevServer | Stop-RemoteOpsDevServer stops that server'
        'Stop-RemoteOpsDevServer/ProcessId/ByPropertyName' = 'Get-Process | Stop-RemoteOpsDevServer stops it by Id'
        'Register-SeaportService/Role/ByValue'           = 'Register-SeaportService: a piped role string registers it'
        'Register-SeaportService/Role/ByPropertyName'    = 'Register-SeaportService: Role, Port, Meta, HostName and Id bind by property name'
        'Register-SeaportService/Port/ByPropertyName'    = 'Register-SeaportService: Role, Port, Meta, HostName and Id bind by property name'
        'Register-SeaportService/Meta/ByPropertyName'    = 'Register-SeaportService: Role, Port, Meta, HostName and Id bind by property name'
        'Register-SeaportService/HostName/ByPropertyName' = 'Register-SeaportService: Role, Port, Meta, HostName and Id bind by property name'
        'Register-SeaportService/Id/ByPropertyName'      = 'Register-SeaportService: Role, Port, Meta, HostName and Id bind by property name'
        'Register-SeaportService/PortName/ByPropertyName' = 'Register-SeaportService: PortName binds by property name'
        'Get-SeaportService/Role/ByValue'                = 'Get-SeaportService: a piped role pattern finds the service'
        'Get-SeaportService/Role/ByPropertyName'         = 'Get-SeaportService: a piped service finds it again by its Role'
        'Wait-SeaportService/Role/ByValue'               = 'Wait-SeaportService: a piped pattern, or an object with a Role, returns the live match'
        'Wait-SeaportService/Role/ByPropertyName'        = 'Wait-SeaportService: a piped pattern, or an object with a Role, returns the live match'
        'Watch-SeaportService/Role/ByPropertyName'       = 'Watch-SeaportService: an object with a Role watches that role'
        'Set-SeaportService/Id/ByValue'                  = 'Set-SeaportService: a piped id, or a piped service, gets the metadata'
        'Set-SeaportService/Id/ByPropertyName'           = 'Set-SeaportService: a piped id, or a piped service, gets the metadata'
        'Unregister-SeaportService/Id/ByValue'           = 'Unregister-SeaportService: a piped id frees it'
        'Unregister-SeaportService/Id/ByPropertyName'    = 'Get-SeaportService | Unregister-SeaportService frees what was found'
        'Start-SeaportService/Role/ByPropertyName'       = 'Start-SeaportService: an object with a Role starts that role'
        'Invoke-StewardMethod/ToNode/ByPropertyName' = 'Invoke-StewardMethod: every field of the seed''s messages binds by property name'
        'Invoke-StewardMethod/Method/ByPropertyName' = 'Invoke-StewardMethod: every field of the seed''s messages binds by property name'
        'Invoke-StewardMethod/MethodArgs/ByPropertyName' = 'Invoke-StewardMethod: every field of the seed''s messages binds by property name'
        'Invoke-StewardMethod/ReplyMethod/ByPropertyName' = 'Invoke-StewardMethod: every field of the seed''s messages binds by property name'
        'Invoke-StewardMethod/ReplyMethodArgs/ByPropertyName' = 'Invoke-StewardMethod: every field of the seed''s messages binds by property name'
        'Invoke-StewardMethod/Directory/ByPropertyName' = 'Invoke-StewardMethod: every field of the seed''s messages binds by property name'
        'Invoke-StewardMethod/FileName/ByPropertyName' = 'Invoke-StewardMethod: every field of the seed''s messages binds by property name'
        'Invoke-StewardMethod/AckTimeout/ByPropertyName' = 'Invoke-StewardMethod: every field of the seed''s messages binds by property name'
        'Invoke-StewardMethod/Retries/ByPropertyName' = 'Invoke-StewardMethod: every field of the seed''s messages binds by property name'
        'Invoke-StewardMethod/MethodTimeout/ByPropertyName' = 'Invoke-StewardMethod: every field of the seed''s messages binds by property name'
        'Invoke-StewardMethod/ReplyAckTimeout/ByPropertyName' = 'Invoke-StewardMethod: every field of the seed''s messages binds by property name'
        'Invoke-StewardMethod/ReplyRetries/ByPropertyName' = 'Invoke-StewardMethod: every field of the seed''s messages binds by property name'
        'Invoke-StewardMethod/ReplyMethodTimeout/ByPropertyName' = 'Invoke-StewardMethod: every field of the seed''s messages binds by property name'
        'Invoke-StewardMethod/Operation/ByPropertyName' = 'Invoke-StewardMethod: every field of the seed''s messages binds by property name'
        'Invoke-StewardMethod/Governor/ByPropertyName' = 'Invoke-StewardMethod: a governor field binds -Governor'
        'New-StewardGovernor/Name/ByPropertyName'      = 'Steward governors: piped objects define them; Get-StewardGovernor | Remove-StewardGovernor removes them'
        'New-StewardGovernor/Capacity/ByPropertyName'  = 'Steward governors: piped objects define them; Get-StewardGovernor | Remove-StewardGovernor removes them'
        'Get-StewardGovernor/Name/ByPropertyName'      = 'Steward governors: piped objects define them; Get-StewardGovernor | Remove-StewardGovernor removes them'
        'Remove-StewardGovernor/Name/ByPropertyName'   = 'Steward governors: piped objects define them; Get-StewardGovernor | Remove-StewardGovernor removes them'
        'Get-StewardMessage/MessageId/ByPropertyName'   = 'Get-StewardMessage: piped StewardMessage and StewardReply objects bind MessageId'
        'Receive-StewardReply/MessageId/ByPropertyName' = 'Receive-StewardReply: a piped message binds MessageId, a piped StewardOutput its Sequence'
        'Invoke-HerderMinion/Environment/ByPropertyName' = 'Invoke-HerderMinion: Environment, File, Output, Timeout, MemoryLimit and Network bind by property name'
        'Invoke-HerderMinion/File/ByPropertyName' = 'Invoke-HerderMinion: Environment, File, Output, Timeout, MemoryLimit and Network bind by property name'
        'Invoke-HerderMinion/Output/ByPropertyName' = 'Invoke-HerderMinion: Environment, File, Output, Timeout, MemoryLimit and Network bind by property name'
        'Invoke-HerderMinion/Timeout/ByPropertyName' = 'Invoke-HerderMinion: Environment, File, Output, Timeout, MemoryLimit and Network bind by property name'
        'Invoke-HerderMinion/MemoryLimit/ByPropertyName' = 'Invoke-HerderMinion: Environment, File, Output, Timeout, MemoryLimit and Network bind by property name'
        'Invoke-HerderMinion/Network/ByPropertyName' = 'Invoke-HerderMinion: Environment, File, Output, Timeout, MemoryLimit and Network bind by property name'
        'Get-HerderEnvironment/Name/ByPropertyName' = 'Get-HerderEnvironment: a piped environment finds it again by its Name'
        'New-HerderToken/Owner/ByPropertyName' = 'New-HerderToken: Owner, Credits and Expires bind by property name, and Get-HerderToken takes the token piped'
        'New-HerderToken/Credits/ByPropertyName' = 'New-HerderToken: Owner, Credits and Expires bind by property name, and Get-HerderToken takes the token piped'
        'New-HerderToken/Expires/ByPropertyName' = 'New-HerderToken: Owner, Credits and Expires bind by property name, and Get-HerderToken takes the token piped'
        'Get-HerderToken/Token/ByValue' = 'New-HerderToken: Owner, Credits and Expires bind by property name, and Get-HerderToken takes the token piped'
        'Get-HerderToken/Token/ByPropertyName' = 'New-HerderToken: Owner, Credits and Expires bind by property name, and Get-HerderToken takes the token piped'
        'Invoke-HerderMinion/Token/ByPropertyName' = 'Invoke-HerderMinion: a piped Token pays for the run'
        'Invoke-HerderMinion/Node/ByPropertyName' = 'Invoke-HerderMinion: a piped Node that runs no agent is one HerderRemoteFailed error'
        'Receive-StewardReply/AfterSequence/ByPropertyName' = 'Receive-StewardReply: a piped message binds MessageId, a piped StewardOutput its Sequence'
        'Invoke-StewardCommand/InputObject/ByValue'     = 'Invoke-StewardCommand: piped objects are collected into one message per node ($input)'
        'Remove-StewardMessage/MessageId/ByPropertyName' = 'Get-StewardMessage | Remove-StewardMessage cancels what was found'
        'Get-StewardAudit/Path/ByPropertyName' = 'Get-StewardAudit: files bind Path by FullName, and a record pipes into Invoke-StewardMethod to send it again'
        # herder golems
        'Start-HerderGolem/Url/ByValue' = 'Start-HerderGolem: a piped URL starts a golem; Get-, Invoke- and Stop-HerderGolem take it by Name and Node'
        'Start-HerderGolem/Url/ByPropertyName' = 'Start-HerderGolem: an object''s Url binds by property name'
        'Get-HerderGolem/Name/ByPropertyName' = 'Start-HerderGolem: a piped URL starts a golem; Get-, Invoke- and Stop-HerderGolem take it by Name and Node'
        'Get-HerderGolem/Node/ByPropertyName' = 'Get-, Invoke- and Stop-HerderGolem: a piped Node that runs no agent is one HerderRemoteFailed error each'
        'Invoke-HerderGolem/Name/ByPropertyName' = 'Start-HerderGolem: a piped URL starts a golem; Get-, Invoke- and Stop-HerderGolem take it by Name and Node'
        'Invoke-HerderGolem/Node/ByPropertyName' = 'Get-, Invoke- and Stop-HerderGolem: a piped Node that runs no agent is one HerderRemoteFailed error each'
        'Stop-HerderGolem/Name/ByPropertyName' = 'Start-HerderGolem: a piped URL starts a golem; Get-, Invoke- and Stop-HerderGolem take it by Name and Node'
        'Stop-HerderGolem/Node/ByPropertyName' = 'Get-, Invoke- and Stop-HerderGolem: a piped Node that runs no agent is one HerderRemoteFailed error each'
        # herder daemons
        'Start-HerderDaemon/Name/ByPropertyName' = 'Start-HerderDaemon: Name, Command, Environment, File, Port, Restart, Token and Node bind by property name'
        'Start-HerderDaemon/Command/ByPropertyName' = 'Start-HerderDaemon: Name, Command, Environment, File, Port, Restart, Token and Node bind by property name'
        'Start-HerderDaemon/Environment/ByPropertyName' = 'Start-HerderDaemon: Name, Command, Environment, File, Port, Restart, Token and Node bind by property name'
        'Start-HerderDaemon/File/ByPropertyName' = 'Start-HerderDaemon: Name, Command, Environment, File, Port, Restart, Token and Node bind by property name'
        'Start-HerderDaemon/Port/ByPropertyName' = 'Start-HerderDaemon: Name, Command, Environment, File, Port, Restart, Token and Node bind by property name'
        'Start-HerderDaemon/Restart/ByPropertyName' = 'Start-HerderDaemon: Name, Command, Environment, File, Port, Restart, Token and Node bind by property name'
        'Start-HerderDaemon/Token/ByPropertyName' = 'Start-HerderDaemon: Name, Command, Environment, File, Port, Restart, Token and Node bind by property name'
        'Start-HerderDaemon/Node/ByPropertyName' = 'Start-HerderDaemon: Name, Command, Environment, File, Port, Restart, Token and Node bind by property name'
        'Get-HerderDaemon/Name/ByPropertyName' = 'Get-HerderDaemon | Receive-HerderDaemonLog | Stop-HerderDaemon: a daemon binds Name and Node'
        'Get-HerderDaemon/Node/ByPropertyName' = 'Get-HerderDaemon | Receive-HerderDaemonLog | Stop-HerderDaemon: a daemon binds Name and Node'
        'Stop-HerderDaemon/Name/ByPropertyName' = 'Get-HerderDaemon | Receive-HerderDaemonLog | Stop-HerderDaemon: a daemon binds Name and Node'
        'Stop-HerderDaemon/Node/ByPropertyName' = 'Get-HerderDaemon | Receive-HerderDaemonLog | Stop-HerderDaemon: a daemon binds Name and Node'
        'Receive-HerderDaemonLog/Name/ByPropertyName' = 'Get-HerderDaemon | Receive-HerderDaemonLog | Stop-HerderDaemon: a daemon binds Name and Node'
        'Receive-HerderDaemonLog/Node/ByPropertyName' = 'Get-HerderDaemon | Receive-HerderDaemonLog | Stop-HerderDaemon: a daemon binds Name and Node'
        'Connect-HerderDaemon/InputObject/ByValue' = "Connect-HerderDaemon: piped strings go to the daemon's stdin"
    }
    $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
    $pipelineParameters = foreach ($command in Get-Command -Module RemoteOps) {
        foreach ($parameter in $command.Parameters.Values | Where-Object Name -NotIn $common) {
            $attributes = @($parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] })
            foreach ($kind in 'ByValue', 'ByPropertyName') {
                $takes = if ($kind -eq 'ByValue') { $attributes.ValueFromPipeline } else { $attributes.ValueFromPipelineByPropertyName }
                if ($takes -contains $true) {
                    $key = "$($command.Name)/$($parameter.Name)/$kind"
                    @{ Key = $key; Test = $bindingTests[$key] }
                }
            }
        }
    }
    $staleEntries = @($bindingTests.Keys | Where-Object { $_ -notin $pipelineParameters.Key } | ForEach-Object { @{ Key = $_ } })
    $exportedCmdlets = @(Get-Command -Module RemoteOps | ForEach-Object { @{ Cmdlet = $_.Name } })
}

BeforeAll {
    $script:Manifest = Join-Path $PSScriptRoot '..' '..' 'out' 'RemoteOps' 'RemoteOps.psd1'
    Import-Module $script:Manifest -Force
    if ($IsLinux -and ($env:PATH -split [IO.Path]::PathSeparator) -notcontains '/usr/sbin') {
        $env:PATH = $env:PATH + [IO.Path]::PathSeparator + '/usr/sbin'
    }
    $script:Dir = Join-Path ([IO.Path]::GetTempPath()) ("remoteops-contract-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory $script:Dir | Out-Null
    $script:Server = Start-RemoteOpsDevServer -Port 0
    $script:Config = Join-Path $script:Dir 'config.yaml'
    $script:File = New-RemoteOpsConfig -Path $script:Config -Server $script:Server.Url -Destination com.example.web1
    $bucket = 'contract' + [guid]::NewGuid().ToString('N').Substring(0, 8)
    # A second peer that never answers (the example config lists this node as its own peer).
    $peer = New-RemoteOpsIdentity -Verb ping
    $text = (Get-Content -Raw $script:Config) -replace '(?m)^peers:\r?\n', "peers:`n  - destination: com.example.db1`n    public: $($peer.PublicKey)`n    verbs: [ping]`n"
    Set-Content -Path $script:Config -Value $text
    Add-Content -Path $script:Config -Value "`nlatch_bucket: $bucket`nseaport:`n  bucket: $bucket`n  heartbeat: 1s`n  range: [23700, 23800]`n"
    # Every cmdlet below talks to this server unless a test names another config.
    $PSDefaultParameterValues['*-Remaphore*:ConfigPath'] = $script:Config
    $PSDefaultParameterValues['*-SeaportService:ConfigPath'] = $script:Config

    # A port nothing listens on: a config that names it is an unreachable server.
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start(); $script:ClosedPort = $listener.LocalEndpoint.Port; $listener.Stop()
    $script:Unreachable = Join-Path $script:Dir 'unreachable.yaml'
    (Get-Content -Raw $script:Config) -replace [regex]::Escape($script:Server.Url), "nats://127.0.0.1:$script:ClosedPort" |
        Set-Content -Path $script:Unreachable

    # A process id that is no process.
    $script:NoSuchPid = 4000000
    while (Get-Process -Id $script:NoSuchPid -ErrorAction SilentlyContinue) { $script:NoSuchPid++ }

    # The errors of a call, as a script that decides reads them: the call ends with '-ErrorAction SilentlyContinue
    # -ErrorVariable e; $e', and a terminating error is caught. Id is the FullyQualifiedErrorId before the comma.
    function Get-ErrorContract([scriptblock] $Call) {
        $records = @(try { & $Call | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] } } catch { $_ })
        if ($records.Count -eq 0) { throw 'the call wrote no error' }
        [pscustomobject]@{
            Id = ($records[0].FullyQualifiedErrorId -split ',')[0]; Category = [string]$records[0].CategoryInfo.Category
            Count = $records.Count; Record = $records[0]
        }
    }
}

AfterAll {
    Get-SeaportService -ErrorAction SilentlyContinue | Unregister-SeaportService -Confirm:$false -ErrorAction SilentlyContinue
    Clear-RemaphoreLatch -Confirm:$false -ErrorAction SilentlyContinue
    $PSDefaultParameterValues.Remove('*-Remaphore*:ConfigPath')
    $PSDefaultParameterValues.Remove('*-SeaportService:ConfigPath')
    Disconnect-RemoteOps -All
    if ($script:Server) { $script:Server | Stop-RemoteOpsDevServer }
    Remove-Item -Recurse -Force $script:Dir -ErrorAction SilentlyContinue
}

Describe 'Pipeline binding: the contract cannot grow untested' {
    BeforeAll {
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($PSCommandPath, [ref]$null, [ref]$null)
        $script:ItNames = @($ast.FindAll({
                    param($node)
                    $node -is [System.Management.Automation.Language.CommandAst] -and $node.GetCommandName() -eq 'It'
                }, $true) | ForEach-Object { $_.CommandElements[1].SafeGetValue() })
    }

    It '<Key> is fed by a test in this file' -ForEach $pipelineParameters {
        $Test | Should -Not -BeNullOrEmpty -Because "Get-Command says $Key takes pipeline input; map it to its test in BeforeDiscovery"
        $script:ItNames | Should -Contain $Test
    }

    It 'the table names no parameter Get-Command does not show (<Key>)' -ForEach $staleEntries {
        $Key | Should -BeNullOrEmpty -Because 'the table in BeforeDiscovery maps a parameter that no longer takes pipeline input'
    }

    It '<Cmdlet> has an error id test in an ''Error ids'' block' -ForEach $exportedCmdlets {
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($PSCommandPath, [ref]$null, [ref]$null)
        $errorTests = $ast.FindAll({
                param($node)
                $node -is [System.Management.Automation.Language.CommandAst] -and $node.GetCommandName() -eq 'Describe' -and
                $node.CommandElements[1].SafeGetValue() -like 'Error ids*'
            }, $true) | ForEach-Object { $_.Extent.Text }
        ($errorTests -join "`n") | Should -Match ("'" + [regex]::Escape($Cmdlet) + "[:'; ]")
    }

    It 'finds pipeline parameters at all (<Count>)' -ForEach @{ Count = @($pipelineParameters).Count } {
        $Count | Should -BeGreaterThan 30
    }
}

Describe 'Pipeline binding: remaphore' {
    It 'Send-Remaphore: a piped string is the payload' {
        'piped payload' | Send-Remaphore -Uuid pipe-value -Latch
        (Get-RemaphoreLatch -Uuid pipe-value).Payload | Should -Be 'piped payload'
        Clear-RemaphoreLatch -Uuid pipe-value -Confirm:$false
    }

    It 'Send-Remaphore: Payload, Destination, Verb and Uuid bind by property name' {
        $sent = [pscustomobject]@{ Payload = 'by name'; Destination = 'com.example.*'; Verb = 'deploy'; Uuid = 'pipe-names' } |
            Send-Remaphore -Latch -PassThru
        $sent.Payload | Should -Be 'by name'
        $sent.Destination | Should -Be 'com.example.*'
        $sent.Verb | Should -Be 'deploy'
        $latch = Get-RemaphoreLatch -Uuid pipe-names
        $latch.Payload | Should -Be 'by name'
        $latch.Verb | Should -Be 'deploy'
        Clear-RemaphoreLatch -Uuid pipe-names -Confirm:$false
    }

    It 'Invoke-Remaphore: a piped string is the request, and property-named objects bind Payload, Destination, Verb and Uuid' {
        # A responder in another runspace of this process answers with what it received.
        $job = Start-ThreadJob -ArgumentList $script:Manifest, $script:Config {
            param($manifest, $config)
            Import-Module $manifest
            Wait-Remaphore -ConfigPath $config -Timeout 60 -ScriptBlock { "$($_.Verb)|$($_.Uuid)|$($_.Payload)" } -ErrorAction SilentlyContinue
        }
        try {
            # Retried until the responder has subscribed: a request sent before that has nobody to answer it.
            $reply = $null
            for ($i = 0; $i -lt 30 -and -not $reply; $i++) {
                $reply = 'ready?' | Invoke-Remaphore -Destination com.example.web1 -ExpectedResponder com.example.web1 -Timeout 1 -ErrorAction SilentlyContinue
            }
            $reply.Output | Should -BeLike 'ping|*|ready?'

            $replies = [pscustomobject]@{ Payload = 'by name'; Destination = 'com.example.web1'; Verb = 'restart'; Uuid = 'inv-names' } |
                Invoke-Remaphore -ExpectedResponder com.example.web1 -Timeout 10
            $replies.Output | Should -Be 'restart|inv-names|by name'
            $replies.Destination | Should -Be 'com.example.web1'
        }
        finally { $job | Remove-Job -Force }
    }

    It 'Get-RemaphoreLatch | Clear-RemaphoreLatch deletes the latches listed' {
        Send-Remaphore one -Uuid pipe-clear-1 -Latch
        Send-Remaphore two -Uuid pipe-clear-2 -Latch
        Send-Remaphore kept -Uuid pipe-kept -Latch
        $cleared = Get-RemaphoreLatch | Where-Object Uuid -Like 'pipe-clear-*' | Clear-RemaphoreLatch -Confirm:$false -PassThru
        @($cleared).Count | Should -Be 2
        Get-RemaphoreLatch -Uuid pipe-clear-1 | Should -BeNullOrEmpty
        Get-RemaphoreLatch -Uuid pipe-clear-2 | Should -BeNullOrEmpty
        (Get-RemaphoreLatch -Uuid pipe-kept).Payload | Should -Be 'kept'
        Clear-RemaphoreLatch -Uuid pipe-kept -Confirm:$false
    }

    Context 'remaphore.conf' {
        BeforeAll {
            $keys = 1..2 | ForEach-Object { New-RemoteOpsIdentity }
            $script:Conf = Join-Path $script:Dir 'remaphore.conf'
            Set-Content -Path $script:Conf -Value @"
server: nats://nats1:4222
destination: com.crypto.us.left

[ Identities ]
$($keys[0].PublicKey) $($keys[0].PrivateKey) [ping, upload]

[ Peers ]
com.crypto.us.right $($keys[1].PublicKey) [ping]
"@
        }

        It 'Get-ChildItem remaphore.conf | ConvertFrom-RemaphoreConfig converts the file' {
            $yaml = Get-ChildItem $script:Conf | ConvertFrom-RemaphoreConfig
            $yaml | Should -BeLike '*com.crypto.us.left*'
            $yaml | Should -BeLike '*nats://nats1:4222*'
        }

        It 'ConvertFrom-RemaphoreConfig: a piped path string converts that file' {
            $yaml = $script:Conf | ConvertFrom-RemaphoreConfig
            $yaml | Should -BeLike '*com.crypto.us.right*'
        }
    }
}

Describe 'Pipeline binding: foundation' {
    It 'Start-RemoteOpsDevServer | New-RemoteOpsConfig writes the server''s Url' {
        $path = Join-Path $script:Dir 'piped-server.yaml'
        $script:Server | New-RemoteOpsConfig -Path $path -Destination com.example.piped | Out-Null
        (Get-RemoteOpsConfig -ConfigPath $path).Servers | Should -Be @($script:Server.Url)
    }

    It 'Get-RemoteOpsDevServer takes ProcessId (or Id) by property name' {
        ($script:Server | Get-RemoteOpsDevServer).ProcessId | Should -Be $script:Server.ProcessId
        (Get-Process -Id $script:Server.ProcessId | Get-RemoteOpsDevServer).Url | Should -Be $script:Server.Url
    }

    Context 'dev servers of their own' {
        It 'Get-RemoteOpsDevServer | Stop-RemoteOpsDevServer stops that server' {
            $second = Start-RemoteOpsDevServer -Port 0
            try {
                $stopped = Get-RemoteOpsDevServer -ProcessId $second.ProcessId | Stop-RemoteOpsDevServer -PassThru
                $stopped.ProcessId | Should -Be $second.ProcessId
                Get-Process -Id $second.ProcessId -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
                Test-Path $second.DataDirectory | Should -BeFalse
            }
            finally { Stop-RemoteOpsDevServer -ProcessId $second.ProcessId -ErrorAction SilentlyContinue }
        }

        It 'Get-Process | Stop-RemoteOpsDevServer stops it by Id' {
            $third = Start-RemoteOpsDevServer -Port 0
            try {
                Get-Process -Id $third.ProcessId | Stop-RemoteOpsDevServer
                Get-Process -Id $third.ProcessId -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
                Get-RemoteOpsDevServer | Where-Object ProcessId -EQ $third.ProcessId | Should -BeNullOrEmpty
            }
            finally { Stop-RemoteOpsDevServer -ProcessId $third.ProcessId -ErrorAction SilentlyContinue }
        }
    }
}

Describe 'Pipeline binding: seaport' {
    AfterEach {
        Get-SeaportService | Unregister-SeaportService -Confirm:$false
    }

    It 'Register-SeaportService: a piped role string registers it' {
        $svc = 'web@1.0.0' | Register-SeaportService
        $svc.Role | Should -Be 'web@1.0.0'
        (Get-SeaportService -Id $svc.Id).Role | Should -Be 'web@1.0.0'
    }

    It 'Register-SeaportService: Role, Port, Meta, HostName and Id bind by property name' {
        $svc = [pscustomobject]@{ Role = 'api@2.0.0'; Port = 23777; Meta = @{ tier = 'gold' }; HostName = 'h-contract'; Id = 'apicontract' } |
            Register-SeaportService
        $found = Get-SeaportService -Id apicontract
        foreach ($s in $svc, $found) {
            $s.Role | Should -Be 'api@2.0.0'
            $s.Port | Should -Be 23777
            $s.Meta['tier'] | Should -Be 'gold'
            $s.HostName | Should -Be 'h-contract'
            $s.Id | Should -Be 'apicontract'
        }
    }

    It 'Register-SeaportService: PortName binds by property name' {
        $svc = [pscustomobject]@{ Role = 'multi@1.0.0'; PortName = 'http', 'metrics' } | Register-SeaportService
        $svc.Ports.Keys | Sort-Object | Should -Be @('http', 'metrics')
    }

    It 'Get-SeaportService: a piped role pattern finds the service' {
        $svc = Register-SeaportService db@3.1.0
        ('db@3.x' | Get-SeaportService).Id | Should -Be $svc.Id
    }

    It 'Get-SeaportService: a piped service finds it again by its Role' {
        $svc = Register-SeaportService cache@1.2.0
        ($svc | Get-SeaportService).Id | Should -Be $svc.Id
    }

    It 'Wait-SeaportService: a piped pattern, or an object with a Role, returns the live match' {
        $svc = Register-SeaportService queue@4.0.0
        ('queue@4' | Wait-SeaportService -Timeout 10).Id | Should -Be $svc.Id
        ([pscustomobject]@{ Role = 'queue@>=4' } | Wait-SeaportService -Timeout 10).Id | Should -Be $svc.Id
    }

    It 'Watch-SeaportService: an object with a Role watches that role' {
        $svc = Register-SeaportService watched@1.0.0
        Register-SeaportService other@1.0.0 | Out-Null
        $events = [pscustomobject]@{ Role = 'watched' } | Watch-SeaportService -Existing -Timeout 1
        @($events).Count | Should -Be 1
        $events.Service.Id | Should -Be $svc.Id
    }

    It 'Set-SeaportService: a piped id, or a piped service, gets the metadata' {
        $svc = Register-SeaportService meta@1.0.0
        ($svc.Id | Set-SeaportService -Meta @{ color = 'blue' } -PassThru -Confirm:$false).Meta['color'] | Should -Be 'blue'
        ($svc | Set-SeaportService -Meta @{ size = 'xl' } -PassThru -Confirm:$false).Meta['size'] | Should -Be 'xl'
        $meta = (Get-SeaportService -Id $svc.Id).Meta
        $meta['color'] | Should -Be 'blue'
        $meta['size'] | Should -Be 'xl'
    }

    It 'Unregister-SeaportService: a piped id frees it' {
        $svc = Register-SeaportService gone@1.0.0
        $svc.Id | Unregister-SeaportService -Confirm:$false
        Get-SeaportService gone | Should -BeNullOrEmpty
    }

    It 'Get-SeaportService | Unregister-SeaportService frees what was found' {
        Register-SeaportService many@1.0.0 | Out-Null
        Register-SeaportService many@1.1.0 | Out-Null
        $kept = Register-SeaportService few@1.0.0
        Get-SeaportService many | Unregister-SeaportService -Confirm:$false
        Get-SeaportService many | Should -BeNullOrEmpty
        (Get-SeaportService few).Id | Should -Be $kept.Id
    }

    It 'Start-SeaportService: an object with a Role starts that role' {
        # A command that exits at once, with no restarts: the run ends with an error naming the piped role.
        $failure = Get-ErrorContract {
            [pscustomobject]@{ Role = 'job@1.0.0' } |
                Start-SeaportService -Command sh, -c, 'exit 3' -MaxRestarts 0 -ErrorAction SilentlyContinue -ErrorVariable e; $e
        }
        $failure.Count | Should -Be 1
        $failure.Record.TargetObject | Should -Be 'job@1.0.0'
        $failure.Id | Should -Be 'RemoteOps.SeaportCommandFailed'
        $failure.Category | Should -Be 'InvalidResult'
    }
}

Describe 'Error ids and categories: foundation' {
    BeforeAll {
        $script:Broken = Join-Path $script:Dir 'broken.yaml'
        Set-Content -Path $script:Broken -Value "servers: [nats://a:4222]`nsubjekt: x`n"
        $script:PlainFile = Join-Path $script:Dir 'plain.txt'
        Set-Content -Path $script:PlainFile -Value 'not a directory'
    }

    It 'New-RemoteOpsConfig: an existing file without -Force is ConfigExists (ResourceExists)' {
        $r = Get-ErrorContract { New-RemoteOpsConfig -Path $script:Config -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.ConfigExists'
        $r.Category | Should -Be 'ResourceExists'
    }

    It 'New-RemoteOpsConfig: a path under a file is ConfigWriteFailed (WriteError)' {
        $r = Get-ErrorContract { New-RemoteOpsConfig -Path (Join-Path $script:PlainFile 'c.yaml') -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.ConfigWriteFailed'
        $r.Category | Should -Be 'WriteError'
    }

    It 'Get-RemoteOpsConfig: a missing file is ConfigInvalid (ObjectNotFound), a broken one ConfigInvalid (InvalidData)' {
        $r = Get-ErrorContract { Get-RemoteOpsConfig -ConfigPath (Join-Path $script:Dir 'none.yaml') -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.ConfigInvalid'
        $r.Category | Should -Be 'ObjectNotFound'
        $r = Get-ErrorContract { Get-RemoteOpsConfig -ConfigPath $script:Broken -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.ConfigInvalid'
        $r.Category | Should -Be 'InvalidData'
        $r.Record.Exception.Message | Should -BeLike '*subjekt*'
    }

    It 'Test-RemoteOpsConfig: a config that does not load is ConfigInvalid (InvalidData)' {
        $r = Get-ErrorContract { Test-RemoteOpsConfig -ConfigPath $script:Broken -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.ConfigInvalid'
        $r.Category | Should -Be 'InvalidData'
    }

    It 'Disconnect-RemoteOps: a config that does not load is ConfigInvalid (InvalidData)' {
        $r = Get-ErrorContract { Disconnect-RemoteOps -ConfigPath $script:Broken -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.ConfigInvalid'
        $r.Category | Should -Be 'InvalidData'
    }

    It 'New-RemoteOpsIdentity: a verb against the verb rule is InvalidVerb (InvalidArgument)' {
        $r = Get-ErrorContract { New-RemoteOpsIdentity -Verb 'a b' -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.InvalidVerb'
        $r.Category | Should -Be 'InvalidArgument'
    }

    It 'New-RemoteOpsIdentity: an existing key file is KeyFileExists (ResourceExists), a path under a file KeyWriteFailed (WriteError)' {
        $r = Get-ErrorContract { New-RemoteOpsIdentity -Path $script:PlainFile -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.KeyFileExists'
        $r.Category | Should -Be 'ResourceExists'
        $r = Get-ErrorContract { New-RemoteOpsIdentity -Path (Join-Path $script:PlainFile 'k.key') -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.KeyWriteFailed'
        $r.Category | Should -Be 'WriteError'
    }

    It 'ConvertFrom-RemaphoreConfig: a bad line is ConfigInvalid, an existing -OutFile ConfigExists, one under a file ConfigWriteFailed' {
        $bad = Join-Path $script:Dir 'bad-remaphore.conf'
        Set-Content -Path $bad -Value "server: nats://n:4222`n[ Peers ]`ncom.x.y notakey [ping]`n"
        $r = Get-ErrorContract { ConvertFrom-RemaphoreConfig -Path $bad -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.ConfigInvalid'
        $r.Category | Should -Be 'InvalidData'
        $good = Join-Path $script:Dir 'good-remaphore.conf'
        Set-Content -Path $good -Value "server: nats://n:4222`n"
        $r = Get-ErrorContract { ConvertFrom-RemaphoreConfig -Path $good -OutFile $script:PlainFile -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.ConfigExists'
        $r.Category | Should -Be 'ResourceExists'
        $r = Get-ErrorContract { ConvertFrom-RemaphoreConfig -Path $good -OutFile (Join-Path $script:PlainFile 'c.yaml') -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.ConfigWriteFailed'
        $r.Category | Should -Be 'WriteError'
    }

    It 'Start-RemoteOpsDevServer: a port in use is DevServerFailed (ResourceUnavailable)' {
        $r = Get-ErrorContract { Start-RemoteOpsDevServer -Port $script:Server.Port -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.DevServerFailed'
        $r.Category | Should -Be 'ResourceUnavailable'
    }

    It 'Get-RemoteOpsDevServer: an id that is no process is DevServerNotFound (ObjectNotFound)' {
        $r = Get-ErrorContract { Get-RemoteOpsDevServer -ProcessId $script:NoSuchPid -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.DevServerNotFound'
        $r.Category | Should -Be 'ObjectNotFound'
    }

    It 'Stop-RemoteOpsDevServer: an id that is no process is DevServerNotFound (ObjectNotFound); a process that is not a nats-server DevServerNotStopped' {
        $r = Get-ErrorContract { Stop-RemoteOpsDevServer -ProcessId $script:NoSuchPid -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.DevServerNotFound'
        $r.Category | Should -Be 'ObjectNotFound'
        $r = Get-ErrorContract { Stop-RemoteOpsDevServer -ProcessId $PID -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.DevServerNotStopped'
        $r.Category | Should -Be 'InvalidArgument'
        Get-Process -Id $PID | Should -Not -BeNullOrEmpty
    }
}

Describe 'Error ids and categories: remaphore' {
    It 'Send-Remaphore: a verb against the verb rule, or a subject NATS cannot carry, is RemaphoreInvalidArgument (InvalidArgument)' {
        $r = Get-ErrorContract { Send-Remaphore x -Verb 'a b' -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.RemaphoreInvalidArgument'
        $r.Category | Should -Be 'InvalidArgument'
        $r = Get-ErrorContract { Send-Remaphore x -Subject ('s' * 5000) -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.RemaphoreInvalidArgument'
        $r.Category | Should -Be 'InvalidArgument'
    }

    It 'Send-Remaphore: an -Identity the config does not hold is IdentityError (InvalidArgument)' {
        $stranger = New-RemoteOpsIdentity
        $r = Get-ErrorContract { Send-Remaphore x -Identity $stranger.PublicKey -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.IdentityError'
        $r.Category | Should -Be 'InvalidArgument'
    }

    It 'Send-Remaphore: a malformed -Destination is a parameter validation error' {
        $r = Get-ErrorContract { Send-Remaphore x -Destination 'a..b' -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'ParameterArgumentValidationError'
        $r.Category | Should -Be 'InvalidData'
    }

    It 'Wait-Remaphore: nothing before -Timeout is RemaphoreTimeout (OperationTimeout)' {
        $r = Get-ErrorContract { Wait-Remaphore -Uuid never-sent -Timeout 0.2 -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.RemaphoreTimeout'
        $r.Category | Should -Be 'OperationTimeout'
    }

    It 'Wait-Remaphore: a -Command that cannot start is RemaphoreCommandFailed (ObjectNotFound), before the wait' {
        $r = Get-ErrorContract { Wait-Remaphore -Command /no/such/program -Timeout 30 -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.RemaphoreCommandFailed'
        $r.Category | Should -Be 'ObjectNotFound'
    }

    It 'Wait-Remaphore: a -Sender that is not a public key, or -Destination with -AnyDestination, is RemaphoreInvalidArgument' {
        $r = Get-ErrorContract { Wait-Remaphore -Sender 'é' -Timeout 1 -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.RemaphoreInvalidArgument'
        $r.Category | Should -Be 'InvalidArgument'
        $r = Get-ErrorContract { Wait-Remaphore -Destination com.example.web1 -AnyDestination -Timeout 1 -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.RemaphoreInvalidArgument'
        $r.Category | Should -Be 'InvalidArgument'
    }

    It 'Wait-Remaphore: a -ScriptBlock that throws is RemaphoreScriptBlockFailed (OperationStopped)' {
        Send-Remaphore boom -Uuid sb-fails -Latch
        $r = Get-ErrorContract { Wait-Remaphore -Uuid sb-fails -Timeout 30 -ScriptBlock { throw 'boom' } -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.RemaphoreScriptBlockFailed'
        $r.Category | Should -Be 'OperationStopped'
        Clear-RemaphoreLatch -Uuid sb-fails -Confirm:$false
    }

    It 'Wait-Remaphore: a config whose destination is no node name is ConfigInvalid (InvalidData), naming the key' {
        $path = Join-Path $script:Dir 'wildcard-destination.yaml'
        (Get-Content -Raw $script:Config) -replace '(?m)^destination: .*$', 'destination: com.example.*' | Set-Content -Path $path
        $r = Get-ErrorContract { Wait-Remaphore -ConfigPath $path -Timeout 1 -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.ConfigInvalid'
        $r.Category | Should -Be 'InvalidData'
        $r.Record.Exception.Message | Should -BeLike "*key 'destination'*"
    }

    It 'Invoke-Remaphore: an expected responder that stays silent is RemaphoreNoReply (OperationTimeout)' {
        $r = Get-ErrorContract { Invoke-Remaphore x -Destination com.example.db1 -ExpectedResponder com.example.db1 -Timeout 0.5 -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.RemaphoreNoReply'
        $r.Category | Should -Be 'OperationTimeout'
        $r.Record.TargetObject | Should -Be 'com.example.db1'
    }

    It 'Invoke-Remaphore: a verb against the verb rule is RemaphoreInvalidArgument (InvalidArgument)' {
        $r = Get-ErrorContract { Invoke-Remaphore x -Verb 'a,b' -Timeout 1 -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.RemaphoreInvalidArgument'
        $r.Category | Should -Be 'InvalidArgument'
    }

    It 'Get-RemaphoreLatch: a subject that is no NATS subject token is RemaphoreInvalidArgument (InvalidArgument)' {
        $r = Get-ErrorContract { Get-RemaphoreLatch -Subject 'a b' -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.RemaphoreInvalidArgument'
        $r.Category | Should -Be 'InvalidArgument'
    }

    It 'Clear-RemaphoreLatch: an unknown -Key is RemaphoreLatchNotFound (ObjectNotFound)' {
        $r = Get-ErrorContract { Clear-RemaphoreLatch -Key no-such-key -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.RemaphoreLatchNotFound'
        $r.Category | Should -Be 'ObjectNotFound'
        $r.Record.TargetObject | Should -Be 'no-such-key'
    }
}

Describe 'Error ids and categories: seaport' {
    AfterEach {
        Get-SeaportService | Unregister-SeaportService -Confirm:$false
    }

    It 'Register-SeaportService: what the wire cannot carry is SeaportInvalidArgument (InvalidArgument)' {
        $r = Get-ErrorContract { Register-SeaportService web@1.0.0 -HostName ('h' * 5000) -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.SeaportInvalidArgument'
        $r.Category | Should -Be 'InvalidArgument'
        Get-SeaportService web | Should -BeNullOrEmpty
    }

    It 'Register-SeaportService: an id taken is SeaportConflict (ResourceExists)' {
        Register-SeaportService web@1.0.0 -Id taken | Out-Null
        $r = Get-ErrorContract { Register-SeaportService web@1.0.1 -Id taken -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.SeaportConflict'
        $r.Category | Should -Be 'ResourceExists'
        (Get-SeaportService -Id taken).Role | Should -Be 'web@1.0.0'
    }

    It 'Register-SeaportService: an identity not in seaport.authorized is SeaportRejected (SecurityError)' {
        $other = New-RemoteOpsIdentity
        $path = Join-Path $script:Dir 'authorized.yaml'
        Set-Content -Path $path -Value ((Get-Content -Raw $script:Config) + "  authorized: [$($other.PublicKey)]`n")
        $r = Get-ErrorContract { Register-SeaportService web@1.0.0 -ConfigPath $path -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.SeaportRejected'
        $r.Category | Should -Be 'SecurityError'
    }

    It 'Get-SeaportService: an -Id not found is SeaportNotFound (ObjectNotFound), one per id' {
        $r = Get-ErrorContract { Get-SeaportService -Id nosuch1, nosuch2 -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.SeaportNotFound'
        $r.Category | Should -Be 'ObjectNotFound'
        $r.Count | Should -Be 2
    }

    It 'Set-SeaportService: an unknown id is SeaportNotFound (ObjectNotFound)' {
        $r = Get-ErrorContract { Set-SeaportService nosuch @{ a = 'b' } -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.SeaportNotFound'
        $r.Category | Should -Be 'ObjectNotFound'
    }

    It 'Unregister-SeaportService: an unknown id is SeaportNotFound (ObjectNotFound)' {
        $r = Get-ErrorContract { Unregister-SeaportService nosuch -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.SeaportNotFound'
        $r.Category | Should -Be 'ObjectNotFound'
    }

    It 'Wait-SeaportService: nothing live before -Timeout is SeaportTimeout (OperationTimeout)' {
        $r = Get-ErrorContract { Wait-SeaportService nosuch -Timeout 0.2 -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.SeaportTimeout'
        $r.Category | Should -Be 'OperationTimeout'
    }

    It 'Watch-SeaportService: a malformed role pattern is a parameter validation error naming the range' {
        $r = Get-ErrorContract { Watch-SeaportService 'web@>>1' -Timeout 0.2 -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'ParameterArgumentValidationError'
        $r.Category | Should -Be 'InvalidData'
        $r.Record.Exception.Message | Should -BeLike "*'>>1' is not an npm-style semver range*"
    }

    It 'Start-SeaportService: a program that cannot start is SeaportCommandNotFound (ObjectNotFound), at once' {
        $r = Get-ErrorContract { Start-SeaportService web@1.0.0 -Command /no/such/program -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.SeaportCommandNotFound'
        $r.Category | Should -Be 'ObjectNotFound'
        Get-SeaportService web | Should -BeNullOrEmpty
    }
}

Describe 'Pipeline binding: steward' {
    BeforeAll {
        $PSDefaultParameterValues['*-Steward*:ConfigPath'] = $script:Config
        $script:SeedDir = Join-Path $PSScriptRoot '..' 'RemoteOps.Core.Tests' 'Steward' 'Seed'
    }
    AfterAll {
        $PSDefaultParameterValues.Remove('*-Steward*:ConfigPath')
    }

    It 'Invoke-StewardMethod: every field of the seed''s messages binds by property name' {
        # The seed's files as they are: toNode/toNodes, REQ and REQn names, operation objects, replyMethodTimeOut.
        foreach ($file in Get-ChildItem $script:SeedDir -Filter 'seed*.json') {
            $messages = Get-Content -Raw $file.FullName | ConvertFrom-Json
            $expected = ($messages | ForEach-Object { @(@($_.toNode) + @($_.toNodes) | Where-Object { $_ } | Select-Object -Unique).Count } | Measure-Object -Sum).Sum
            $sent = @($messages | Invoke-StewardMethod -NoWait)
            $sent.Count | Should -Be $expected -Because $file.Name
            $sent.Status | Sort-Object -Unique | Should -Be 'Queued'
        }
        (Get-Content -Raw (Join-Path $script:SeedDir 'seed20.json') | ConvertFrom-Json | Invoke-StewardMethod -NoWait).Method | Should -Be 'OpProcessStart'
        # Every field, by the seed's names: the window is ACKTimeout x (retries + 1).
        $all = [pscustomobject]@{
            toNodes = 'com.example.a', 'com.example.b'; method = 'REQCliCommand'; methodArgs = 'bash', '-c', 'true'
            replyMethod = 'REQCliCommand'; replyMethodArgs = 'bash', '-c', 'echo "{{STEWARD_DATA}}"'; directory = 'd'; fileName = 'f'
            ACKTimeout = 3; retries = 2; methodTimeout = '5s'; replyACKTimeout = 3; replyRetries = 1; replyMethodTimeOut = 10
        }
        $out = $all | Invoke-StewardMethod -NoWait -Verbose 4>&1
        $sent = @($out | Where-Object { $_ -is [RemoteOps.Steward.StewardMessage] })
        $sent.Node | Should -Be 'com.example.a', 'com.example.b'
        $queued = ($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like 'Queued *' }).Message
        $queued | Should -HaveCount 2
        $queued[0] | Should -BeLike 'Queued CliCommand bash -c true for com.example.a*reply CliCommand bash -c echo "{{STEWARD_DATA}}" in d/f*'
        $sent | ForEach-Object { ($_.Expires - $_.Created).TotalSeconds | Should -Be 9 }
        # And each field is read from the object: a bad value in it is refused, naming it.
        foreach ($bad in @(
                @{ method = 'REQNoSuch' }, @{ replyMethod = 'REQPing' }, @{ replyMethod = 'CliCommand'; replyMethodArgs = @() }
                @{ fileName = 'a/b' }, @{ ACKTimeout = 'soon' }, @{ retries = 1000 }, @{ methodTimeout = 'soon' }, @{ replyACKTimeout = 'soon' }
                @{ replyRetries = 1000 }, @{ replyMethodTimeOut = 'soon' }, @{ directory = "a`0b" }, @{ toNode = 'a..b' }
                @{ method = 'REQOpCommand'; operation = [pscustomobject]@{ opCmd = 'reboot' } })) {
            $object = [pscustomobject]@{ toNode = 'com.example.a'; method = 'Ping' }
            foreach ($k in $bad.Keys) { $object | Add-Member -Force -NotePropertyName $k -NotePropertyValue $bad[$k] }
            $object | Invoke-StewardMethod -NoWait -ErrorAction SilentlyContinue -ErrorVariable e | Should -BeNullOrEmpty
            $e.Count | Should -Be 1 -Because ($bad.Keys -join ',')
        }
    }

    It 'Get-StewardMessage: piped StewardMessage and StewardReply objects bind MessageId' {
        $sent = Invoke-StewardMethod com.example.nobody Ping -AckTimeout 0.2 -Retries 0 -NoWait
        ($sent | Get-StewardMessage).MessageId | Should -Be $sent.MessageId
        $reply = $sent | Receive-StewardReply -Wait -ErrorAction SilentlyContinue
        $reply | Should -BeOfType ([RemoteOps.Steward.StewardReply])
        ($reply | Get-StewardMessage).Status | Should -Be 'NoAck'
        ($reply | Get-StewardMessage).MessageId | Should -Be $sent.MessageId
    }

    It 'Receive-StewardReply: a piped message binds MessageId, a piped StewardOutput its Sequence' {
        $sent = Invoke-StewardMethod com.example.later TailFile -MethodArgs /tmp/x.log -NoWait
        $sent | Remove-StewardMessage -Confirm:$false
        ($sent | Receive-StewardReply -ErrorAction SilentlyContinue).Status | Should -Be 'Cancelled'
        $line = [RemoteOps.Steward.StewardOutput]@{ MessageId = $sent.MessageId; Sequence = 7 }
        $out = $line | Receive-StewardReply -Verbose -ErrorAction SilentlyContinue 4>&1
        ($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message | Should -Contain "Message $($sent.MessageId): streamed output after line 7."
        ($out | Where-Object { $_ -is [RemoteOps.Steward.StewardReply] }).Status | Should -Be 'Cancelled'
    }

    It 'Get-StewardAudit: files bind Path by FullName, and a record pipes into Invoke-StewardMethod to send it again' {
        $audit = Join-Path $script:Dir 'client-audit.jsonl'
        $audited = Join-Path $script:Dir 'audited.yaml'
        (Get-Content -Raw $script:Config) + "`nsteward:`n  audit_log: $audit`n" | Set-Content -Path $audited
        $first = Invoke-StewardMethod com.example.audit1 CliCommand -MethodArgs echo, hi -AckTimeout 1h -NoWait -ConfigPath $audited
        $record = Get-Item $audit | Get-StewardAudit
        $record | Should -BeOfType ([RemoteOps.Steward.StewardAuditRecord])
        $record.MessageId | Should -Be $first.MessageId
        $record.Verdict | Should -Be 'sent'
        $record | Invoke-StewardMethod -ConfigPath $audited -WhatIf
        @(Get-StewardAudit -Path $audit) | Should -HaveCount 1
        $again = $record | Invoke-StewardMethod -NoWait -ConfigPath $audited
        $again.Node | Should -Be 'com.example.audit1'
        $again.Method | Should -Be 'CliCommand'
        $again.MessageId | Should -Not -Be $first.MessageId
        $resent = @(Get-StewardAudit -Path $audit -MessageId $again.MessageId)
        $resent | Should -HaveCount 1
        $resent[0].MethodArgs | Should -Be 'echo', 'hi'
        $resent[0].AckTimeout | Should -Be ([TimeSpan]::FromHours(1))
        $first, $again | Remove-StewardMessage -Confirm:$false
    }

    It 'Invoke-StewardCommand: piped objects are collected into one message per node ($input)' {
        $sent = @(1, 2, 3 | Invoke-StewardCommand com.example.input1, com.example.input2 { $input } -NoWait)
        $sent | Should -HaveCount 2
        $sent.Method | Sort-Object -Unique | Should -Be 'PwshScript'
        $sent | Remove-StewardMessage -Confirm:$false
    }

    It 'Get-StewardMessage | Remove-StewardMessage cancels what was found' {
        $sent = Invoke-StewardMethod com.example.cancel1, com.example.cancel2 Ping -NoWait
        Get-StewardMessage -ToNode 'com.example.cancel*' | Remove-StewardMessage -Confirm:$false
        (Get-StewardMessage -ToNode 'com.example.cancel*').Status | Sort-Object -Unique | Should -Be 'Cancelled'
        ($sent | Get-StewardMessage).Count | Should -Be 2
    }
}

Describe 'Error ids and categories: steward' {
    BeforeAll {
        $PSDefaultParameterValues['*-Steward*:ConfigPath'] = $script:Config
    }
    AfterAll {
        $PSDefaultParameterValues.Remove('*-Steward*:ConfigPath')
    }

    It 'Invoke-StewardMethod: an unknown method is StewardInvalidArgument, a bad pattern StewardInvalidPattern (InvalidArgument)' {
        $r = Get-ErrorContract { Invoke-StewardMethod com.example.a Reboot -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.StewardInvalidArgument'
        $r.Category | Should -Be 'InvalidArgument'
        $r.Count | Should -Be 1
        $r = Get-ErrorContract { Invoke-StewardMethod 'com.**.a' Ping -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.StewardInvalidPattern'
        $r.Category | Should -Be 'InvalidArgument'
    }

    It 'Invoke-StewardMethod: a node that never acknowledges is StewardNoAck (ResourceUnavailable), its target the node' {
        $r = Get-ErrorContract { Invoke-StewardMethod com.example.silent Ping -AckTimeout 0.2 -Retries 0 -ErrorAction SilentlyContinue -ErrorVariable e | Out-Null; $e }
        $r.Id | Should -Be 'RemoteOps.StewardNoAck'
        $r.Category | Should -Be 'ResourceUnavailable'
        $r.Record.TargetObject | Should -Be 'com.example.silent'
    }

    It 'Invoke-StewardMethod: a broken steward: section is ConfigInvalid (InvalidData), naming the key' {
        $path = Join-Path $script:Dir 'broken-steward.yaml'
        Set-Content -Path $path -Value ((Get-Content -Raw $script:Config) + "`nsteward:`n  retries: many`n")
        $r = Get-ErrorContract { Invoke-StewardMethod com.example.a Ping -ConfigPath $path -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.ConfigInvalid'
        $r.Category | Should -Be 'InvalidData'
        $r.Record.Exception.Message | Should -BeLike '*steward.retries*'
    }

    It 'Invoke-StewardCommand: a bad node name is StewardInvalidArgument, a node that never acknowledges StewardNoAck, its target the node' {
        $r = Get-ErrorContract { Invoke-StewardCommand 'not a node' { 1 } -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.StewardInvalidArgument'
        $r.Category | Should -Be 'InvalidArgument'
        $r.Count | Should -Be 1
        $r = Get-ErrorContract { Invoke-StewardCommand com.example.silent { 1 } -AckTimeout 0.2 -Retries 0 -ErrorAction SilentlyContinue -ErrorVariable e | Out-Null; $e }
        $r.Id | Should -Be 'RemoteOps.StewardNoAck'
        $r.Category | Should -Be 'ResourceUnavailable'
        $r.Record.TargetObject | Should -Be 'com.example.silent'
    }

    It 'Get-StewardMessage: an unknown -MessageId is StewardMessageNotFound (ObjectNotFound), one per id' {
        $r = Get-ErrorContract { Get-StewardMessage -MessageId nosuch1, nosuch2 -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.StewardMessageNotFound'
        $r.Category | Should -Be 'ObjectNotFound'
        $r.Count | Should -Be 2
    }

    It 'Get-StewardNode: a name not in the registry is StewardNodeNotFound (ObjectNotFound), a bad pattern StewardInvalidPattern' {
        $r = Get-ErrorContract { Get-StewardNode com.example.nobody -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.StewardNodeNotFound'
        $r.Category | Should -Be 'ObjectNotFound'
        $r.Record.TargetObject | Should -Be 'com.example.nobody'
        $r = Get-ErrorContract { Get-StewardNode 'com.**.a' -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.StewardInvalidPattern'
        $r.Category | Should -Be 'InvalidArgument'
    }

    It 'Get-StewardError: no steward.central, or a -Since that is neither a time nor a duration, is StewardInvalidArgument (InvalidArgument)' {
        $r = Get-ErrorContract { Get-StewardError -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.StewardInvalidArgument'
        $r.Category | Should -Be 'InvalidArgument'
        $r.Record.Exception.Message | Should -Match 'steward\.central'
        $r = Get-ErrorContract { Get-StewardError -Since 'the day before' -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.StewardInvalidArgument'
        $r.Record.Exception.Message | Should -Match 'Since'
    }

    It 'Get-StewardAudit: a -Path with no file is StewardAuditNotFound (ObjectNotFound), a line that is not a record StewardAuditLineInvalid (InvalidData)' {
        $r = Get-ErrorContract { Get-StewardAudit -Path (Join-Path $script:Dir 'no-audit.jsonl') -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.StewardAuditNotFound'
        $r.Category | Should -Be 'ObjectNotFound'
        $bad = Join-Path $script:Dir 'bad-audit.jsonl'
        Set-Content -Path $bad -Value '{"verdict":"run","time":"2026-01-01T00:00:00Z","messageId":"ok"}', 'not a record'
        $r = Get-ErrorContract { Get-StewardAudit -Path $bad -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.StewardAuditLineInvalid'
        $r.Category | Should -Be 'InvalidData'
        $r.Count | Should -Be 1
        $r.Record.TargetObject | Should -Be "${bad}:2"
        (Get-StewardAudit -Path $bad -ErrorAction SilentlyContinue).MessageId | Should -Be 'ok'
    }

    It 'Receive-StewardReply: -Wait past -Timeout is StewardTimeout (OperationTimeout)' {
        $sent = Invoke-StewardMethod com.example.slow Ping -AckTimeout 1h -NoWait
        $r = Get-ErrorContract { $sent | Receive-StewardReply -Wait -Timeout 0.2 -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.StewardTimeout'
        $r.Category | Should -Be 'OperationTimeout'
        $sent | Remove-StewardMessage -Confirm:$false
    }

    It 'Remove-StewardMessage: an unknown id is StewardMessageNotFound (ObjectNotFound), a cancelled one no error' {
        $r = Get-ErrorContract { Remove-StewardMessage nosuch -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.StewardMessageNotFound'
        $r.Category | Should -Be 'ObjectNotFound'
        $sent = Invoke-StewardMethod com.example.twice Ping -NoWait
        $sent | Remove-StewardMessage -Confirm:$false
        $sent | Remove-StewardMessage -Confirm:$false -ErrorVariable again
        $again | Should -BeNullOrEmpty
    }
}

Describe 'Error ids and categories: an unreachable server' {
    # Each tool names the same failure its own way: remaphore ConnectionError, seaport SeaportUnavailable; both ConnectionError.
    It '<Name> is <Id> (ConnectionError)' -ForEach @(
        @{ Name = 'Send-Remaphore'; Id = 'RemoteOps.ConnectionError'; Call = { Send-Remaphore x -ConfigPath $script:Unreachable -ErrorAction SilentlyContinue -ErrorVariable e; $e } }
        @{ Name = 'Wait-Remaphore'; Id = 'RemoteOps.ConnectionError'; Call = { Wait-Remaphore -Uuid u -Timeout 30 -ConfigPath $script:Unreachable -ErrorAction SilentlyContinue -ErrorVariable e; $e } }
        @{ Name = 'Invoke-Remaphore'; Id = 'RemoteOps.ConnectionError'; Call = { Invoke-Remaphore x -Timeout 30 -ConfigPath $script:Unreachable -ErrorAction SilentlyContinue -ErrorVariable e; $e } }
        @{ Name = 'Get-RemaphoreLatch'; Id = 'RemoteOps.ConnectionError'; Call = { Get-RemaphoreLatch -ConfigPath $script:Unreachable -ErrorAction SilentlyContinue -ErrorVariable e; $e } }
        @{ Name = 'Clear-RemaphoreLatch'; Id = 'RemoteOps.ConnectionError'; Call = { Clear-RemaphoreLatch -Confirm:$false -ConfigPath $script:Unreachable -ErrorAction SilentlyContinue -ErrorVariable e; $e } }
        @{ Name = 'Get-RemoteOpsConfig -TestConnection'; Id = 'RemoteOps.ConnectionError'; Call = { Get-RemoteOpsConfig -TestConnection -ConfigPath $script:Unreachable -ErrorAction SilentlyContinue -ErrorVariable e; $e } }
        @{ Name = 'Register-SeaportService'; Id = 'RemoteOps.SeaportUnavailable'; Call = { Register-SeaportService web@1.0.0 -ConfigPath $script:Unreachable -ErrorAction SilentlyContinue -ErrorVariable e; $e } }
        @{ Name = 'Get-SeaportService'; Id = 'RemoteOps.SeaportUnavailable'; Call = { Get-SeaportService -ConfigPath $script:Unreachable -ErrorAction SilentlyContinue -ErrorVariable e; $e } }
        @{ Name = 'Wait-SeaportService'; Id = 'RemoteOps.SeaportUnavailable'; Call = { Wait-SeaportService web -Timeout 30 -ConfigPath $script:Unreachable -ErrorAction SilentlyContinue -ErrorVariable e; $e } }
        @{ Name = 'Watch-SeaportService'; Id = 'RemoteOps.SeaportUnavailable'; Call = { Watch-SeaportService -Timeout 30 -ConfigPath $script:Unreachable -ErrorAction SilentlyContinue -ErrorVariable e; $e } }
        @{ Name = 'Invoke-StewardMethod'; Id = 'RemoteOps.StewardUnavailable'; Call = { Invoke-StewardMethod com.example.a Ping -ConfigPath $script:Unreachable -ErrorAction SilentlyContinue -ErrorVariable e; $e } }
        @{ Name = 'Get-StewardMessage'; Id = 'RemoteOps.StewardUnavailable'; Call = { Get-StewardMessage -ConfigPath $script:Unreachable -ErrorAction SilentlyContinue -ErrorVariable e; $e } }
        @{ Name = 'Receive-StewardReply'; Id = 'RemoteOps.StewardUnavailable'; Call = { Receive-StewardReply abc -ConfigPath $script:Unreachable -ErrorAction SilentlyContinue -ErrorVariable e; $e } }
        @{ Name = 'Remove-StewardMessage'; Id = 'RemoteOps.StewardUnavailable'; Call = { Remove-StewardMessage abc -Confirm:$false -ConfigPath $script:Unreachable -ErrorAction SilentlyContinue -ErrorVariable e; $e } }
        @{ Name = 'Get-StewardNode'; Id = 'RemoteOps.StewardUnavailable'; Call = { Get-StewardNode -ConfigPath $script:Unreachable -ErrorAction SilentlyContinue -ErrorVariable e; $e } }
        @{ Name = 'Get-StewardError'; Id = 'RemoteOps.StewardUnavailable'; Call = { Get-StewardError -ConfigPath $script:Unreachable -ErrorAction SilentlyContinue -ErrorVariable e; $e } }
    ) {
        $r = Get-ErrorContract $Call
        $r.Id | Should -Be $Id
        $r.Category | Should -Be 'ConnectionError'
    }
}

Describe 'Error ids and categories: steward' {
    BeforeAll {
        $script:NoDestination = Join-Path $script:Dir 'nodestination.yaml'
        (Get-Content -Raw $script:Config) -replace '(?m)^destination:.*$', '' | Set-Content -Path $script:NoDestination
        $script:BrokenSteward = Join-Path $script:Dir 'brokensteward.yaml'
        (Get-Content -Raw $script:Config) + "`nsteward:`n  max_output: 12`n" | Set-Content -Path $script:BrokenSteward
    }

    It 'Start-StewardNode: no -Name and no destination is StewardInvalidArgument (InvalidArgument)' {
        $r = Get-ErrorContract { Start-StewardNode -ConfigPath $script:NoDestination -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.StewardInvalidArgument'
        $r.Category | Should -Be 'InvalidArgument'
        $r.Record.Exception.Message | Should -Match 'destination'
    }

    It 'Start-StewardNode: a broken steward: section is ConfigInvalid (InvalidData), naming the key' {
        $r = Get-ErrorContract { Start-StewardNode -ConfigPath $script:BrokenSteward -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.ConfigInvalid'
        $r.Category | Should -Be 'InvalidData'
        $r.Record.Exception.Message | Should -Match 'steward\.max_output'
    }

    It 'Start-StewardNode: an unreachable server is StewardUnavailable (ConnectionError)' {
        $r = Get-ErrorContract { Start-StewardNode -ConfigPath $script:Unreachable -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.StewardUnavailable'
        $r.Category | Should -Be 'ConnectionError'
        $r.Count | Should -Be 1
    }

    It 'Start-StewardNode: runs in a job (its local store opens: SQLite loads in the module) until the job is stopped' {
        $data = Join-Path $script:Dir 'steward-data'
        $config = Join-Path $script:Dir 'steward.yaml'
        (Get-Content -Raw $script:Config) + "`nsteward:`n  stream: st$(Get-Random)`n  results_bucket: sr$(Get-Random)`n  nodes_bucket: sn$(Get-Random)`n  data_directory: $data`n" |
            Set-Content -Path $config
        $job = Start-Job { param($m, $c) Import-Module $m; Start-StewardNode -ConfigPath $c -InformationAction Continue } -ArgumentList $script:Manifest, $config
        try {
            $db = Join-Path $data 'com.example.web1' 'steward.db'
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while (-not (Test-Path $db) -and $job.State -eq 'Running' -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
            $job.State | Should -Be 'Running' -Because (($job | Receive-Job -ErrorAction SilentlyContinue 2>&1) -join "`n")
            Test-Path $db | Should -BeTrue
        }
        finally {
            $job | Stop-Job
            $job | Remove-Job -Force
        }
    }
}

Describe 'Pipeline binding: steward governors' {
    BeforeAll {
        $PSDefaultParameterValues['*-Steward*:ConfigPath'] = $script:Config
    }
    AfterAll {
        Get-StewardGovernor -ErrorAction SilentlyContinue | Remove-StewardGovernor -Confirm:$false -ErrorAction SilentlyContinue
        $PSDefaultParameterValues.Remove('*-Steward*:ConfigPath')
    }

    It 'Steward governors: piped objects define them; Get-StewardGovernor | Remove-StewardGovernor removes them' {
        $made = @([pscustomobject]@{ Name = 'pipe-a'; Capacity = 2 }, [pscustomobject]@{ Name = 'pipe-b'; Capacity = 3 } | New-StewardGovernor)
        $made | Should -HaveCount 2
        $made[0] | Should -BeOfType ([RemoteOps.Steward.StewardGovernor])
        $made.Capacity | Should -Be 2, 3
        $made.InUse | Should -Be 0, 0
        ([pscustomobject]@{ Name = 'pipe-b' } | Get-StewardGovernor).Capacity | Should -Be 3
        (Get-StewardGovernor 'pipe-*').Name | Should -Be 'pipe-a', 'pipe-b'
        Get-StewardGovernor 'pipe-*' | Remove-StewardGovernor -Confirm:$false
        Get-StewardGovernor 'pipe-*' | Should -BeNullOrEmpty
    }

    It 'Steward governors: -Governor and -Name complete the governors of the bucket on Tab' {
        New-StewardGovernor tab-gov 2 | Out-Null
        try {
            foreach ($line in "Invoke-StewardMethod com.example.a Ping -ConfigPath '$script:Config' -Governor tab-",
                "Get-StewardGovernor -ConfigPath '$script:Config' -Name tab-", "Remove-StewardGovernor -ConfigPath '$script:Config' tab-") {
                $completion = TabExpansion2 -inputScript $line -cursorColumn $line.Length
                $completion.CompletionMatches.CompletionText | Should -Contain 'tab-gov' -Because $line
                ($completion.CompletionMatches | Where-Object CompletionText -eq 'tab-gov').ToolTip | Should -Match 'capacity 2'
            }
        }
        finally { Remove-StewardGovernor tab-gov -Confirm:$false }
    }

    It 'Invoke-StewardMethod: a governor field binds -Governor' {
        New-StewardGovernor pipe-gov 1 | Out-Null
        $sent = [pscustomobject]@{ toNode = 'com.example.gov1'; method = 'Ping'; governor = 'pipe-gov' } | Invoke-StewardMethod -NoWait -WhatIf:$false
        $sent.Status | Should -Be 'Queued'
        $sent | Remove-StewardMessage -Confirm:$false
        # The field is read from the object: a bad name is refused, naming it, and nothing is sent.
        [pscustomobject]@{ toNode = 'com.example.gov1'; method = 'Ping'; governor = 'a.b' } | Invoke-StewardMethod -NoWait -ErrorAction SilentlyContinue -ErrorVariable e | Should -BeNullOrEmpty
        $e.Count | Should -Be 1
        "$($e[0].Exception.Message)" | Should -Match 'governor'
    }
}

Describe 'Error ids and categories: steward governors' {
    BeforeAll {
        $PSDefaultParameterValues['*-Steward*:ConfigPath'] = $script:Config
    }
    AfterAll {
        Remove-StewardGovernor err-exists -Confirm:$false -ErrorAction SilentlyContinue
        $PSDefaultParameterValues.Remove('*-Steward*:ConfigPath')
    }

    It 'New-StewardGovernor: a capacity of 0 or below, or a bad name, is StewardInvalidArgument (InvalidArgument), also under -WhatIf' {
        foreach ($call in { New-StewardGovernor err-zero 0 -ErrorAction SilentlyContinue -ErrorVariable e; $e },
            { New-StewardGovernor err-neg -5 -WhatIf -ErrorAction SilentlyContinue -ErrorVariable e; $e },
            { New-StewardGovernor 'bad.name' 2 -ErrorAction SilentlyContinue -ErrorVariable e; $e },
            { New-StewardGovernor err-big 1001 -ErrorAction SilentlyContinue -ErrorVariable e; $e }) {
            $r = Get-ErrorContract $call
            $r.Id | Should -Be 'RemoteOps.StewardInvalidArgument'
            $r.Category | Should -Be 'InvalidArgument'
            $r.Count | Should -Be 1
        }
        Get-StewardGovernor 'err-*' | Should -BeNullOrEmpty
    }

    It 'New-StewardGovernor: a name that exists is StewardGovernorExists (ResourceExists); -Force changes its capacity' {
        New-StewardGovernor err-exists 2 | Out-Null
        $r = Get-ErrorContract { New-StewardGovernor err-exists 5 -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.StewardGovernorExists'
        $r.Category | Should -Be 'ResourceExists'
        (Get-StewardGovernor err-exists).Capacity | Should -Be 2
        (New-StewardGovernor err-exists 5 -Force).Capacity | Should -Be 5
    }

    It 'Get-StewardGovernor: a name that does not exist is StewardGovernorNotFound (ObjectNotFound); a bad one StewardInvalidArgument' {
        $r = Get-ErrorContract { Get-StewardGovernor err-nosuch -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.StewardGovernorNotFound'
        $r.Category | Should -Be 'ObjectNotFound'
        $r.Record.TargetObject | Should -Be 'err-nosuch'
        (Get-ErrorContract { Get-StewardGovernor 'a b' -ErrorAction SilentlyContinue -ErrorVariable e; $e }).Id | Should -Be 'RemoteOps.StewardInvalidArgument'
    }

    It 'Remove-StewardGovernor: a name that does not exist is StewardGovernorNotFound (ObjectNotFound)' {
        $r = Get-ErrorContract { Remove-StewardGovernor err-nosuch -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.StewardGovernorNotFound'
        $r.Category | Should -Be 'ObjectNotFound'
    }

    It 'Invoke-StewardMethod: an unknown governor is one StewardGovernorNotFound (ObjectNotFound) and nothing is sent' {
        $r = Get-ErrorContract { Invoke-StewardMethod com.example.gov2, com.example.gov3 Ping -Governor err-nosuch -NoWait -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        $r.Id | Should -Be 'RemoteOps.StewardGovernorNotFound'
        $r.Category | Should -Be 'ObjectNotFound'
        $r.Count | Should -Be 1
        $r.Record.Exception.Message | Should -Match 'New-StewardGovernor'
        Get-StewardMessage -ToNode 'com.example.gov*' | Where-Object Node -ne 'com.example.gov1' | Should -BeNullOrEmpty
    }

    It 'Get-StewardGovernor: the default view at 120 columns' {
        New-StewardGovernor err-view 3 | Out-Null
        try {
            $text = Get-StewardGovernor err-view | Out-String -Width 120
            $text | Should -Match 'Name\s+Capacity\s+InUse\s+Updated\s+Holders'
            $text | Should -Match 'err-view\s+3\s+0'
        }
        finally { Remove-StewardGovernor err-view -Confirm:$false }
    }
}

Describe 'Pipeline binding: herder' {
    BeforeAll {
        # This config's own identity issues herder tokens.
        $script:HerderConfig = Join-Path $script:Dir 'herder.yaml'
        $issuer = (Get-RemoteOpsConfig -ConfigPath $script:Config).Identities[0].PublicKey
        (Get-Content -Raw $script:Config) + "`nherder:`n  token_issuers: [$issuer]`n  ledger_bucket: ledger$([guid]::NewGuid().ToString('N').Substring(0, 8))`n" | Set-Content -Path $script:HerderConfig
    }

    It 'Invoke-HerderMinion: Environment, File, Output, Timeout, MemoryLimit and Network bind by property name' {
        $job = [pscustomobject]@{
            Environment = 'bash'; File = @{ 'main.sh' = 'echo piped > out.txt' }; Output = 'out.txt'; Timeout = '10s'
            MemoryLimit = 64MB; Network = $true
        }
        $r = $job | Invoke-HerderMinion -ConfigPath $script:Config
        [Text.Encoding]::UTF8.GetString($r.Output) | Should -Be "piped`n"
        $r.Environment | Should -Be 'bash'
        $slow = [pscustomobject]@{ Environment = 'bash'; File = @{ 'main.sh' = 'sleep 30' }; Timeout = 1 } | Invoke-HerderMinion -ConfigPath $script:Config
        $slow.TimedOut | Should -BeTrue
        $hog = [pscustomobject]@{ Environment = 'python'; File = @{ 'main.py' = 'x = bytearray(200 * 1024 * 1024)' }; MemoryLimit = 32MB } | Invoke-HerderMinion -ConfigPath $script:Config
        $hog.MemoryExceeded | Should -BeTrue
        $net = "import socket`nsocket.create_connection(('127.0.0.1', $(([uri]$script:Server.Url).Port)), timeout=5)`nprint('up')"
        ([pscustomobject]@{ Environment = 'python'; File = @{ 'main.py' = $net }; Network = $true } | Invoke-HerderMinion -ConfigPath $script:Config).Stdout | Should -Be "up`n"
        ([pscustomobject]@{ Environment = 'python'; File = @{ 'main.py' = $net }; Network = $false } | Invoke-HerderMinion -ConfigPath $script:Config).ExitCode | Should -Not -Be 0
    }

    It 'New-HerderToken: Owner, Credits and Expires bind by property name, and Get-HerderToken takes the token piped' {
        $t = [pscustomobject]@{ Owner = 'piped@example.com'; Credits = 40; Expires = '1d' } | New-HerderToken -ConfigPath $script:HerderConfig
        $t.Credits | Should -Be 40
        $t.Expires | Should -BeGreaterThan ([DateTimeOffset]::UtcNow.AddHours(23))
        ($t | Get-HerderToken -ConfigPath $script:HerderConfig).Owner | Should -Be 'piped@example.com'
        ($t.Token | Get-HerderToken -ConfigPath $script:HerderConfig).Credits | Should -Be 40
    }

    It 'Invoke-HerderMinion: a piped Token pays for the run' {
        $t = New-HerderToken payer -Credits 100 -ConfigPath $script:HerderConfig
        $r = [pscustomobject]@{ Environment = 'bash'; File = @{ 'main.sh' = 'sleep 1.2' }; Token = $t.Token } | Invoke-HerderMinion -ConfigPath $script:HerderConfig
        $r.CreditsSpent | Should -BeGreaterOrEqual 2
        (Get-HerderToken $t.Token -ConfigPath $script:HerderConfig).Credits | Should -Be (100 - $r.CreditsSpent)
    }

    It 'Invoke-HerderMinion: a piped Node that runs no agent is one HerderRemoteFailed error' {
        # com.example.db1 is a peer with no agent: the message is never taken, so it ends NoAck after its short window.
        $job = [pscustomobject]@{ Node = 'com.example.db1'; Environment = 'bash'; File = @{ 'main.sh' = 'true' } }
        $fast = Join-Path $script:Dir 'herder-fast.yaml'
        (Get-Content -Raw $script:Config) + "`nsteward:`n  ack_timeout: 1s`n  retries: 0`n  stream: hs$([guid]::NewGuid().ToString('N').Substring(0, 8))`n  results_bucket: hr$([guid]::NewGuid().ToString('N').Substring(0, 8))`n" | Set-Content -Path $fast
        $out = $job | Invoke-HerderMinion -ConfigPath $fast -ErrorAction SilentlyContinue -ErrorVariable e
        $out | Should -BeNullOrEmpty
        ($e.Count, ($e[0].FullyQualifiedErrorId -split ',')[0], [string]$e[0].TargetObject) | Should -Be @(1, 'RemoteOps.HerderRemoteFailed', 'com.example.db1')
        $e[0].Exception.Message | Should -Match 'NoAck'
        $out = Get-HerderEnvironment -Node com.example.db1 -ConfigPath $fast -ErrorAction SilentlyContinue -ErrorVariable e2
        ($e2.Count, ($e2[0].FullyQualifiedErrorId -split ',')[0]) | Should -Be @(1, 'RemoteOps.HerderRemoteFailed')
    }

    It 'Get-HerderEnvironment: a piped environment finds it again by its Name' {
        $found = Get-HerderEnvironment python -ConfigPath $script:Config | Get-HerderEnvironment -ConfigPath $script:Config
        $found.Name | Should -Be 'python'
    }
}

Describe 'Error ids and categories: herder' {
    It 'Invoke-HerderMinion: an unknown environment is HerderUnknownEnvironment (ObjectNotFound)' {
        $r = Get-ErrorContract { Invoke-HerderMinion cobol @{ 'main.cob' = 'x' } -ConfigPath $script:Config -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        ($r.Id, $r.Category, $r.Count) | Should -Be @('RemoteOps.HerderUnknownEnvironment', 'ObjectNotFound', 1)
    }

    It 'Invoke-HerderMinion: a file name with a directory part is HerderInvalidFile (InvalidArgument)' {
        $r = Get-ErrorContract { Invoke-HerderMinion bash @{ 'a/main.sh' = 'x' } -ConfigPath $script:Config -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        ($r.Id, $r.Category) | Should -Be @('RemoteOps.HerderInvalidFile', 'InvalidArgument')
    }

    It 'Invoke-HerderMinion: a 100 MB file is HerderInvalidFile (InvalidArgument)' {
        $r = Get-ErrorContract { Invoke-HerderMinion bash @{ 'main.sh' = [byte[]]::new(100MB) } -ConfigPath $script:Config -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        ($r.Id, $r.Category) | Should -Be @('RemoteOps.HerderInvalidFile', 'InvalidArgument')
        $r.Record.Exception.Message | Should -Match 'MiB'
    }

    It 'Invoke-HerderMinion: a memory limit past herder.memory_limit is HerderInvalidLimit (InvalidArgument)' {
        $r = Get-ErrorContract { Invoke-HerderMinion bash @{ 'main.sh' = 'x' } -MemoryLimit 64GB -ConfigPath $script:Config -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        ($r.Id, $r.Category) | Should -Be @('RemoteOps.HerderInvalidLimit', 'InvalidArgument')
    }

    It 'Invoke-HerderMinion: an environment whose program is missing is HerderEnvironmentUnavailable (NotInstalled)' {
        $missing = Join-Path $script:Dir 'missing-interpreter.yaml'
        (Get-Content -Raw $script:Config) + "`nherder:`n  environments:`n    gone: [no-such-interpreter-here, main.x]`n" | Set-Content -Path $missing
        $r = Get-ErrorContract { Invoke-HerderMinion gone @{ 'main.x' = 'x' } -ConfigPath $missing -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        ($r.Id, $r.Category) | Should -Be @('RemoteOps.HerderEnvironmentUnavailable', 'NotInstalled')
        $r.Record.Exception.Message | Should -Match 'herder\.environments\.gone'
    }

    It 'New-HerderToken: an identity not in herder.token_issuers is HerderNotIssuer (PermissionDenied), and nothing is written' {
        $r = Get-ErrorContract { New-HerderToken nobody -ConfigPath $script:Config -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        ($r.Id, $r.Category) | Should -Be @('RemoteOps.HerderNotIssuer', 'PermissionDenied')
        $r.Record.Exception.Message | Should -Match 'token_issuers'
    }

    It 'Get-HerderToken: a forged token is HerderInvalidToken (SecurityError)' {
        $r = Get-ErrorContract { Get-HerderToken 'hrd1.eyJvd25lciI6Im1lIn0.3yZe7d' -ConfigPath $script:Config -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        ($r.Id, $r.Category) | Should -Be @('RemoteOps.HerderInvalidToken', 'SecurityError')
    }

    It 'Invoke-HerderMinion: under require_token, an owner with no credits is HerderNoCredits (QuotaExceeded)' {
        $strict = Join-Path $script:Dir 'herder-strict.yaml'
        $issuer = (Get-RemoteOpsConfig -ConfigPath $script:Config).Identities[0].PublicKey
        (Get-Content -Raw $script:Config) + "`nherder:`n  token_issuers: [$issuer]`n  require_token: true`n  ledger_bucket: strict$([guid]::NewGuid().ToString('N').Substring(0, 8))`n" | Set-Content -Path $strict
        $broke = New-HerderToken broke -Credits 0 -ConfigPath $strict
        $r = Get-ErrorContract { Invoke-HerderMinion bash @{ 'main.sh' = 'true' } -Token $broke.Token -ConfigPath $strict -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        ($r.Id, $r.Category) | Should -Be @('RemoteOps.HerderNoCredits', 'QuotaExceeded')
        $r = Get-ErrorContract { Invoke-HerderMinion bash @{ 'main.sh' = 'true' } -ConfigPath $strict -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        ($r.Id, $r.Category) | Should -Be @('RemoteOps.HerderInvalidToken', 'SecurityError')
    }

    It 'Get-HerderEnvironment: a broken herder: section is ConfigInvalid (InvalidData), naming the key' {
        $broken = Join-Path $script:Dir 'brokenherder.yaml'
        (Get-Content -Raw $script:Config) + "`nherder:`n  sandbox: docker`n" | Set-Content -Path $broken
        $r = Get-ErrorContract { Get-HerderEnvironment -ConfigPath $broken -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        ($r.Id, $r.Category) | Should -Be @('RemoteOps.ConfigInvalid', 'InvalidData')
        $r.Record.Exception.Message | Should -Match 'herder\.sandbox'
    }
}

Describe 'Pipeline binding: herder golems' {
    BeforeAll {
        $script:GolemPage = Join-Path $script:Dir 'golem-contract.html'
        Set-Content $script:GolemPage '<!doctype html><title>Contract</title><div class="golem">window.ran = "yes"</div>'
        $script:GolemUrl = [Uri]::new($script:GolemPage, [UriKind]::Absolute).AbsoluteUri
        $script:GolemConfig = Join-Path $script:Dir 'golem.yaml'
        (Get-Content -Raw $script:Config) + "`nherder:`n  max_timeout: 2m`n" | Set-Content -Path $script:GolemConfig
    }

    It 'Start-HerderGolem: a piped URL starts a golem; Get-, Invoke- and Stop-HerderGolem take it by Name and Node' {
        $golem = $script:GolemUrl | Start-HerderGolem -ConfigPath $script:GolemConfig
        try {
            $golem.Name | Should -Be 'golem-contract'
            ($golem | Get-HerderGolem).ProcessId | Should -Be $golem.ProcessId
            $golem | Invoke-HerderGolem -Script 'window.ran' | Should -Be 'yes'
            ($golem | Stop-HerderGolem -PassThru -Confirm:$false).Name | Should -Be 'golem-contract'
            (Get-HerderGolem).Name | Should -Not -Contain 'golem-contract'
        }
        finally { Get-HerderGolem golem-contract* | Stop-HerderGolem -Confirm:$false }
    }

    It 'Start-HerderGolem: an object''s Url binds by property name' {
        $out = [pscustomobject]@{ Url = 'not a url' } | Start-HerderGolem -ConfigPath $script:GolemConfig -ErrorAction SilentlyContinue -ErrorVariable e
        $out | Should -BeNullOrEmpty
        ($e.Count, ($e[0].FullyQualifiedErrorId -split ',')[0], [string]$e[0].TargetObject) | Should -Be @(1, 'RemoteOps.HerderInvalidUrl', 'not a url')
    }

    It 'Get-, Invoke- and Stop-HerderGolem: a piped Node that runs no agent is one HerderRemoteFailed error each' {
        # com.example.db1 is a peer with no agent: the message is never taken, so it ends NoAck after its short window.
        $fast = Join-Path $script:Dir 'golem-fast.yaml'
        (Get-Content -Raw $script:Config) + "`nsteward:`n  ack_timeout: 1s`n  retries: 0`n  stream: gs$([guid]::NewGuid().ToString('N').Substring(0, 8))`n  results_bucket: gr$([guid]::NewGuid().ToString('N').Substring(0, 8))`n" | Set-Content -Path $fast
        $far = [pscustomobject]@{ Name = 'faraway'; Node = 'com.example.db1' }
        $calls = @(
            { $far | Get-HerderGolem -ConfigPath $fast -ErrorAction SilentlyContinue -ErrorVariable e; $e }
            { $far | Invoke-HerderGolem -Script '1' -ConfigPath $fast -ErrorAction SilentlyContinue -ErrorVariable e; $e }
            { $far | Stop-HerderGolem -ConfigPath $fast -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        )
        foreach ($call in $calls) {
            $e = @(& $call)
            ($e.Count, ($e[0].FullyQualifiedErrorId -split ',')[0]) | Should -Be @(1, 'RemoteOps.HerderRemoteFailed')
            $e[0].Exception.Message | Should -Match 'NoAck'
        }
    }
}

Describe 'Error ids and categories: herder golems' {
    It 'Start-HerderGolem: a URL that is not absolute http, https or file is HerderInvalidUrl (InvalidArgument)' {
        $r = Get-ErrorContract { Start-HerderGolem -Url 'ftp://example.org/x' -ConfigPath $script:Config -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        ($r.Id, $r.Category, $r.Count) | Should -Be @('RemoteOps.HerderInvalidUrl', 'InvalidArgument', 1)
    }

    It 'Start-HerderGolem: a missing Chromium is HerderBrowserUnavailable (NotInstalled)' {
        $nobrowser = Join-Path $script:Dir 'nobrowser.yaml'
        (Get-Content -Raw $script:Config) + "`nherder:`n  browser: /nonexistent/chromium`n" | Set-Content -Path $nobrowser
        $r = Get-ErrorContract { Start-HerderGolem -Url 'http://127.0.0.1/' -ConfigPath $nobrowser -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        ($r.Id, $r.Category) | Should -Be @('RemoteOps.HerderBrowserUnavailable', 'NotInstalled')
        $r.Record.Exception.Message | Should -Match 'apt-get install chromium'
    }

    It 'Get-HerderGolem: an unknown golem is HerderGolemNotFound (ObjectNotFound)' {
        $r = Get-ErrorContract { Get-HerderGolem no-such-golem -ConfigPath $script:Config -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        ($r.Id, $r.Category) | Should -Be @('RemoteOps.HerderGolemNotFound', 'ObjectNotFound')
    }

    It 'Invoke-HerderGolem: an unknown golem is HerderGolemNotFound (ObjectNotFound)' {
        $r = Get-ErrorContract { Invoke-HerderGolem no-such-golem '1' -ConfigPath $script:Config -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        ($r.Id, $r.Category) | Should -Be @('RemoteOps.HerderGolemNotFound', 'ObjectNotFound')
    }

    It 'Stop-HerderGolem: an unknown golem is HerderGolemNotFound (ObjectNotFound)' {
        $r = Get-ErrorContract { Stop-HerderGolem no-such-golem -ConfigPath $script:Config -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        ($r.Id, $r.Category) | Should -Be @('RemoteOps.HerderGolemNotFound', 'ObjectNotFound')
    }
}

Describe 'Pipeline binding: herder daemons' {
    BeforeAll {
        # Daemons of this session (no agent runs for its destination), kept in the test's own data directory; this
        # config's identity issues tokens.
        $script:DaemonConfig = Join-Path $script:Dir 'daemons.yaml'
        $issuer = (Get-RemoteOpsConfig -ConfigPath $script:Config).Identities[0].PublicKey
        (Get-Content -Raw $script:Config) + "`nsteward:`n  data_directory: $(Join-Path $script:Dir 'daemon-data')`nherder:`n  token_issuers: [$issuer]`n  ledger_bucket: dledger$([guid]::NewGuid().ToString('N').Substring(0, 8))`n" |
            Set-Content -Path $script:DaemonConfig
        $PSDefaultParameterValues['*-HerderDaemon*:ConfigPath'] = $script:DaemonConfig
    }

    AfterAll {
        Get-HerderDaemon -ErrorAction SilentlyContinue | Where-Object State -In Running, Restarting | Stop-HerderDaemon -Confirm:$false -ErrorAction SilentlyContinue
        $PSDefaultParameterValues.Remove('*-HerderDaemon*:ConfigPath')
    }

    It 'Start-HerderDaemon: Name, Command, Environment, File, Port, Restart, Token and Node bind by property name' {
        $t = New-HerderToken daemon-payer -Credits 1000 -ConfigPath $script:DaemonConfig
        $byCommand = [pscustomobject]@{ Name = 'by-command'; Command = @('bash', '-c', 'echo "port $PORT"; exec sleep 300'); Port = @('http'); Restart = 'Never'; Token = $t.Token } |
            Start-HerderDaemon
        ($byCommand.Name, $byCommand.Owner, $byCommand.Restart, $byCommand.Ports.Keys) | Should -Be @('by-command', 'daemon-payer', 'Never', 'http')
        $byEnvironment = [pscustomobject]@{ Name = 'by-env'; Environment = 'bash'; File = @{ 'main.sh' = 'exec sleep 300' }; Node = 'com.example.web1' } | Start-HerderDaemon
        ($byEnvironment.Name, $byEnvironment.State, $byEnvironment.Node) | Should -Be @('by-env', 'Running', 'com.example.web1')
        Stop-HerderDaemon by-command -Confirm:$false | Out-Null
        Stop-HerderDaemon by-env -Confirm:$false | Out-Null
        (Get-HerderToken $t.Token -ConfigPath $script:DaemonConfig).Credits | Should -BeLessThan 1000
    }

    It 'Get-HerderDaemon | Receive-HerderDaemonLog | Stop-HerderDaemon: a daemon binds Name and Node' {
        Start-HerderDaemon piped -Command bash, -c, 'echo hello; exec sleep 300' | Out-Null
        $found = [pscustomobject]@{ Name = 'piped'; Node = 'com.example.web1' } | Get-HerderDaemon
        $found.Name | Should -Be 'piped'
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        while (-not @($found | Receive-HerderDaemonLog).Count -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
        ($found | Receive-HerderDaemonLog).Line | Should -Be 'hello'
        ($found | Stop-HerderDaemon -Confirm:$false).State | Should -Be 'Stopped'
    }

    It "Connect-HerderDaemon: piped strings go to the daemon's stdin" {
        Start-HerderDaemon reader -Command bash, -c, 'while read l; do echo "read $l"; done' | Out-Null
        $out = 'one', 'two' | Connect-HerderDaemon reader -Timeout 5s
        ($out | Where-Object Line -Like 'read *').Line | Should -Be @('read one', 'read two')
        Stop-HerderDaemon reader -Confirm:$false | Out-Null
    }
}

Describe 'Error ids and categories: herder daemons' {
    BeforeAll {
        $script:DaemonErrors = Join-Path $script:Dir 'daemon-errors.yaml'
        (Get-Content -Raw $script:Config) + "`nsteward:`n  data_directory: $(Join-Path $script:Dir 'daemon-errors')`nherder:`n  require_token: true`n" | Set-Content -Path $script:DaemonErrors
        $script:DaemonOk = Join-Path $script:Dir 'daemon-ok.yaml'
        (Get-Content -Raw $script:Config) + "`nsteward:`n  data_directory: $(Join-Path $script:Dir 'daemon-ok')`n" | Set-Content -Path $script:DaemonOk
    }

    It 'Start-HerderDaemon: a name that runs already is HerderDaemonExists (ResourceExists); a bad name HerderInvalidDaemon; no token where one is required HerderInvalidToken' {
        Start-HerderDaemon once -Command sleep, 300 -ConfigPath $script:DaemonOk | Out-Null
        $r = Get-ErrorContract { Start-HerderDaemon once -Command sleep, 300 -ConfigPath $script:DaemonOk -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        ($r.Id, $r.Category, $r.Count) | Should -Be @('RemoteOps.HerderDaemonExists', 'ResourceExists', 1)
        Stop-HerderDaemon once -ConfigPath $script:DaemonOk -Confirm:$false | Out-Null
        $r = Get-ErrorContract { Start-HerderDaemon 'a/b' -Command sleep, 300 -ConfigPath $script:DaemonOk -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        ($r.Id, $r.Category) | Should -Be @('RemoteOps.HerderInvalidDaemon', 'InvalidArgument')
        $r = Get-ErrorContract { Start-HerderDaemon paid -Command sleep, 300 -ConfigPath $script:DaemonErrors -ErrorAction SilentlyContinue -ErrorVariable e; $e }
        ($r.Id, $r.Category) | Should -Be @('RemoteOps.HerderInvalidToken', 'SecurityError')
    }

    It '<Cmdlet>: an unknown daemon is HerderDaemonNotFound (ObjectNotFound)' -ForEach @(
        @{ Cmdlet = 'Get-HerderDaemon'; Call = { Get-HerderDaemon nope -ConfigPath $script:DaemonOk -ErrorAction SilentlyContinue -ErrorVariable e; $e } }
        @{ Cmdlet = 'Stop-HerderDaemon'; Call = { Stop-HerderDaemon nope -ConfigPath $script:DaemonOk -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable e; $e } }
        @{ Cmdlet = 'Connect-HerderDaemon'; Call = { Connect-HerderDaemon nope -Timeout 1s -ConfigPath $script:DaemonOk -ErrorAction SilentlyContinue -ErrorVariable e; $e } }
        @{ Cmdlet = 'Receive-HerderDaemonLog'; Call = { Receive-HerderDaemonLog nope -ConfigPath $script:DaemonOk -ErrorAction SilentlyContinue -ErrorVariable e; $e } }
    ) {
        $r = Get-ErrorContract $Call
        ($r.Id, $r.Category, $r.Count) | Should -Be @('RemoteOps.HerderDaemonNotFound', 'ObjectNotFound', 1)
    }

    It 'Get-HerderDaemon: a wildcard that matches nothing is no error' {
        @(Get-HerderDaemon 'nothing-*' -ConfigPath $script:DaemonOk -ErrorAction Stop) | Should -BeNullOrEmpty
    }
}
