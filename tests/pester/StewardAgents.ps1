# The steward node agents of the end-to-end Pester files, dot-sourced in their BeforeAll after $script:Manifest,
# $script:Config (node name -> config path) and ChildProcess.ps1's $script:Pwsh exist.

# The agent: its own OS process, Start-StewardNode in a child pwsh (dotnet pwsh.dll itself, not a launcher, so that a
# signal reaches the agent, and so that its PwshScript workers are found as "the pwsh that runs the agent").
# STEWARD_TEST_NODE reaches what it runs, so a script can tell the nodes apart. Its output is kept for failure messages.
function Start-Agent([string] $Name) {
    $command = "Import-Module '$script:Manifest'; Start-StewardNode -ConfigPath '$($script:Config[$Name])' -InformationAction Continue"
    $info = [System.Diagnostics.ProcessStartInfo]::new($script:Pwsh[0])
    foreach ($a in @($script:Pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', $command)) { $info.ArgumentList.Add($a) }
    $info.RedirectStandardOutput = $true
    $info.RedirectStandardError = $true
    $info.UseShellExecute = $false
    $info.Environment['NO_COLOR'] = '1'
    $info.Environment['STEWARD_TEST_NODE'] = $Name
    $p = [System.Diagnostics.Process]::Start($info)
    [pscustomobject]@{ Name = $Name; Process = $p; Out = $p.StandardOutput.ReadToEndAsync(); Err = $p.StandardError.ReadToEndAsync() }
}

# SIGTERM, as systemd stops it; the agent drains and exits. Returns the exit code and what it wrote.
function Stop-Agent($Agent) {
    & /bin/kill -TERM $Agent.Process.Id
    if (-not $Agent.Process.WaitForExit(60000)) { $Agent.Process.Kill($true); throw "The agent $($Agent.Name) did not stop within 60 s of SIGTERM." }
    $Agent.Process.WaitForExit()
    [pscustomobject]@{ ExitCode = $Agent.Process.ExitCode; Out = $Agent.Out.GetAwaiter().GetResult(); Err = $Agent.Err.GetAwaiter().GetResult() }
}

# An agent is serving once it answered a Ping (the message waits in the queue while its pwsh starts).
function Wait-Agent([string[]] $Name) {
    $r = @(Invoke-StewardMethod $Name Ping -AckTimeout 60 -Retries 0 -ErrorAction SilentlyContinue)
    if (@($r | Where-Object Status -EQ 'Succeeded').Count -ne $Name.Count) {
        throw "Agent(s) $Name not serving: $($r | ForEach-Object { "$($_.Node) $($_.Status) $($_.Error)" })"
    }
}

# The end-to-end files' AfterAll: every agent still running killed with its tree, the shared connection closed, the
# dev server stopped and the scratch directory removed.
function Remove-StewardTestBed {
    $PSDefaultParameterValues.Remove('*-Steward*:ConfigPath')
    foreach ($a in $script:Agents.Values) {
        if (-not $a.Process.HasExited) { $a.Process.Kill($true); $a.Process.WaitForExit() }
    }
    Disconnect-RemoteOps -All
    if ($script:Server) { $script:Server | Stop-RemoteOpsDevServer }
    Remove-Item -Recurse -Force $script:Dir -ErrorAction SilentlyContinue
}
