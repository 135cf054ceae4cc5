# Herder's reverse proxy end to end, as a node runs it: a node agent (Start-StewardNode in its own pwsh process) with
# herder.proxy_port set starts the proxy process from the module folder; a daemon stand-in (python's http.server under
# Start-SeaportService, registered as files@0.0.0 on this host, in its own pwsh process) is reached through
# http://127.0.0.1:<proxy_port>/daemon/files/… with a token from New-HerderToken. The agent owns the proxy: it restarts
# it when it dies, stops it on SIGTERM, and a SIGKILLed agent's proxy exits by itself. A real herder daemon the agent
# runs (Start-HerderDaemon -Node) is reached through the proxy too. nats-server: PATH or /usr/sbin.

BeforeAll {
    $script:Manifest = (Resolve-Path (Join-Path $PSScriptRoot '..' '..' 'out' 'RemoteOps' 'RemoteOps.psd1')).Path
    Import-Module $script:Manifest -Force
    . (Join-Path $PSScriptRoot 'ChildProcess.ps1')
    if ($IsLinux -and ($env:PATH -split [IO.Path]::PathSeparator) -notcontains '/usr/sbin') {
        $env:PATH = $env:PATH + [IO.Path]::PathSeparator + '/usr/sbin'
    }
    $script:Dir = Join-Path ([IO.Path]::GetTempPath()) ("remoteops-proxy-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory $script:Dir | Out-Null
    $script:Server = Start-RemoteOpsDevServer -Port 0

    $script:Node = 'com.example.proxy'
    $created = New-RemoteOpsConfig -Path (Join-Path $script:Dir 'node' 'config.yaml') -Server $script:Server.Url -Destination $script:Node
    $free = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $free.Start(); $script:ProxyPort = $free.LocalEndpoint.Port; $free.Stop()
    $suffix = [guid]::NewGuid().ToString('N').Substring(0, 8)
    $data = Join-Path $script:Dir 'node' 'data'
    Add-Content -Path $created.Path -Value ("`nsteward:`n  stream: st$suffix`n  results_bucket: sr$suffix`n  nodes_bucket: sn$suffix`n  data_directory: $data`n  methods:`n    Ping: { allowed: ['*'] }`n    HerderDaemon: { allowed: ['*'] }`n" +
        "herder:`n  token_issuers: [$($created.PublicKey)]`n  ledger_bucket: hl$suffix`n  proxy_port: $script:ProxyPort`n")
    $script:Config = @{ $script:Node = $created.Path }
    $script:ConfigPath = $created.Path

    # The daemon stand-in: a file served by python, under Start-SeaportService in its own pwsh (it runs until killed).
    $site = Join-Path $script:Dir 'site'
    New-Item -ItemType Directory $site | Out-Null
    Set-Content -Path (Join-Path $site 'hello.txt') -Value 'hello through the herder proxy' -NoNewline
    $command = "Import-Module '$script:Manifest'; Start-SeaportService files@0.0.0 -Command python3, -m, http.server, --bind, 127.0.0.1, --directory, '$site' -ConfigPath '$script:ConfigPath'"
    $info = [System.Diagnostics.ProcessStartInfo]::new($script:Pwsh[0])
    foreach ($a in @($script:Pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', $command)) { $info.ArgumentList.Add($a) }
    $info.RedirectStandardOutput = $true; $info.RedirectStandardError = $true; $info.UseShellExecute = $false
    $script:Daemon = [System.Diagnostics.Process]::Start($info)
    $script:DaemonOut = $script:Daemon.StandardOutput.ReadToEndAsync(); $script:DaemonErr = $script:Daemon.StandardError.ReadToEndAsync()

    . (Join-Path $PSScriptRoot 'StewardAgents.ps1')
    $script:Agents = @{ $script:Node = Start-Agent $script:Node }
    $script:Token = (New-HerderToken -Owner 'alice@example.com' -Credits 100 -ConfigPath $script:ConfigPath).Token
    $null = Wait-SeaportService files@0.0.0 -Timeout 120 -ConfigPath $script:ConfigPath

    $script:Base = "http://127.0.0.1:$script:ProxyPort"
    # Awaits a condition (a script block returning true), up to $Seconds; throws with $What when it never holds.
    function Wait-Until([scriptblock] $Condition, [int] $Seconds, [string] $What) {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        while (-not (& $Condition)) {
            if ([DateTime]::UtcNow -gt $deadline) { throw "Not within $Seconds s: $What" }
            Start-Sleep -Milliseconds 200
        }
    }
    # The proxy answers (any status) on its port.
    function Test-ProxyUp {
        try { $null = Invoke-WebRequest "$script:Base/" -SkipHttpErrorCheck -TimeoutSec 5; $true } catch { $false }
    }
    # The proxy processes started for this config (the agent passes --config with its path).
    function Get-ProxyProcess {
        @(Get-Process -ErrorAction SilentlyContinue | Where-Object { $_.CommandLine -like '*RemoteOps.HerderProxy.dll*' -and $_.CommandLine -like "*$script:ConfigPath*" })
    }
    function Get-Through([string] $Path, [hashtable] $Headers = @{}) {
        Invoke-WebRequest "$script:Base$Path" -Headers $Headers -SkipHttpErrorCheck -TimeoutSec 60
    }
    Wait-Until { Test-ProxyUp } 120 "the herder proxy on port $script:ProxyPort (agent output: $($script:Agents[$script:Node].Out))"
}

AfterAll {
    . (Join-Path $PSScriptRoot 'StewardAgents.ps1')
    if ($script:Daemon -and -not $script:Daemon.HasExited) { $script:Daemon.Kill($true); $script:Daemon.WaitForExit() }
    Remove-StewardTestBed
}

Describe 'The herder proxy on a node agent' {
    It 'serves a GET through to the seaport-registered daemon, with the prefix removed' {
        $r = Get-Through '/daemon/files/hello.txt' @{ 'X-Herder-Token' = $script:Token }
        $r.StatusCode | Should -Be 200
        $r.Content | Should -Be 'hello through the herder proxy'
        $r = Get-Through "/daemon/files/hello.txt?token=$([uri]::EscapeDataString($script:Token))"
        $r.StatusCode | Should -Be 200
        $r = Get-Through '/daemon/files/hello.txt' @{ Authorization = "Bearer $script:Token" }
        $r.StatusCode | Should -Be 200
    }

    It 'refuses a request without a valid token (401) and names an unknown daemon (404)' {
        $r = Get-Through '/daemon/files/hello.txt'
        $r.StatusCode | Should -Be 401
        $r.Content | Should -Match 'X-Herder-Token'
        $r = Get-Through '/daemon/files/hello.txt' @{ 'X-Herder-Token' = $script:Token.Substring(0, $script:Token.Length - 4) + 'AAAA' }
        $r.StatusCode | Should -Be 401
        $r = Get-Through '/daemon/nosuch/' @{ 'X-Herder-Token' = $script:Token }
        $r.StatusCode | Should -Be 404
        $r.Content | Should -Match "No daemon 'nosuch' is registered on node $([regex]::Escape($script:Node))"
    }

    It 'serves a GET through to a herder daemon the agent runs (Start-HerderDaemon -Node: its first port), and 404 once it is stopped' {
        $main = @'
import http.server, os
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ('daemon web saw ' + self.path).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain; charset=utf-8')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
'@
        $daemon = Start-HerderDaemon -Name web -Environment python -File @{ 'main.py' = $main } -Port http -Node $script:Node -ConfigPath $script:ConfigPath
        $daemon.State | Should -Be 'Running'
        $headers = @{ 'X-Herder-Token' = $script:Token }
        Wait-Until { (Get-Through '/daemon/web/' $headers).StatusCode -eq 200 } 60 "the daemon web on port $($daemon.Ports['http']) through the proxy"
        $r = Get-Through '/daemon/web/status?verbose=1' $headers
        $r.Content | Should -Be 'daemon web saw /status?verbose=1'
        Stop-HerderDaemon web -Node $script:Node -ConfigPath $script:ConfigPath -Confirm:$false | Out-Null
        (Get-Through '/daemon/web/' $headers).StatusCode | Should -Be 404
    }

    It 'is restarted by the agent when it dies' {
        $first = @(Get-ProxyProcess)
        $first.Count | Should -Be 1
        & /bin/kill -KILL $first[0].Id
        Wait-Until { $p = @(Get-ProxyProcess); $p.Count -eq 1 -and $p[0].Id -ne $first[0].Id -and (Test-ProxyUp) } 90 'a new proxy process serving'
        (Get-Through '/daemon/files/hello.txt' @{ 'X-Herder-Token' = $script:Token }).StatusCode | Should -Be 200
    }

    It 'stops with the agent (SIGTERM)' {
        $proxy = @(Get-ProxyProcess)
        $proxy.Count | Should -Be 1
        $stopped = Stop-Agent $script:Agents[$script:Node]
        $stopped.ExitCode | Should -Be 0
        $stopped.Out | Should -Match 'Herder proxy: starting on port'
        Wait-Until { $proxy[0].HasExited } 30 'the proxy process gone after the agent stopped'
        @(Get-ProxyProcess).Count | Should -Be 0
    }

    It 'exits by itself when the agent is killed with SIGKILL (no orphan)' {
        $script:Agents[$script:Node] = Start-Agent $script:Node
        Wait-Until { @(Get-ProxyProcess).Count -eq 1 -and (Test-ProxyUp) } 120 'the proxy of the restarted agent'
        $proxy = @(Get-ProxyProcess)
        & /bin/kill -KILL $script:Agents[$script:Node].Process.Id
        Wait-Until { $proxy[0].HasExited } 30 'the proxy process gone after its agent was killed'
        @(Get-ProxyProcess).Count | Should -Be 0
    }
}
