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

    # The first error of a call, as a script that decides would read it.
    function Get-ErrorContract($Errors) {
        $first = @($Errors)[0]
        if ($first -isnot [System.Management.Automation.ErrorRecord]) { throw "expected an ErrorRecord, got: $($Errors | Out-String)" }
        [pscustomobject]@{ Id = ($first.FullyQualifiedErrorId -split ',')[0]; Category = [string]$first.CategoryInfo.Category; Record = $first }
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
        [pscustomobject]@{ Role = 'job@1.0.0' } |
            Start-SeaportService -Command sh, -c, 'exit 3' -MaxRestarts 0 -ErrorAction SilentlyContinue -ErrorVariable e
        $e | Should -HaveCount 1
        $e[0].TargetObject | Should -Be 'job@1.0.0'
        (Get-ErrorContract $e).Id | Should -Be 'RemoteOps.SeaportCommandFailed'
    }
}
