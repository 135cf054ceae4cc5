# Shared by the Pester files that run children (dot-source it in BeforeAll): this same PowerShell as a command, and a
# way to run a program to its end and read its exit code and output.

# pwsh, or 'dotnet <...>/pwsh.dll' under the pwsh dotnet tool.
$script:Pwsh = @([Environment]::ProcessPath)
if ([IO.Path]::GetFileNameWithoutExtension($script:Pwsh[0]) -eq 'dotnet') { $script:Pwsh += Join-Path $PSHOME 'pwsh.dll' }

# Runs a program to its end (5 minutes at most); returns its exit code, its stdout lines and its stderr.
function Invoke-Child([string] $Program, [string[]] $Arguments, [hashtable] $Environment = @{}) {
    $info = [System.Diagnostics.ProcessStartInfo]::new($Program)
    foreach ($a in $Arguments) { $info.ArgumentList.Add($a) }
    $info.RedirectStandardOutput = $true
    $info.RedirectStandardError = $true
    $info.UseShellExecute = $false
    foreach ($k in $Environment.Keys) { $info.Environment[$k] = $Environment[$k] }
    $p = [System.Diagnostics.Process]::Start($info)
    try {
        $out = $p.StandardOutput.ReadToEndAsync()
        $err = $p.StandardError.ReadToEndAsync()
        if (-not $p.WaitForExit(300000)) { $p.Kill($true); throw "$Program $Arguments did not exit within 5 minutes." }
        $p.WaitForExit()
        [pscustomobject]@{
            ExitCode = $p.ExitCode
            Out = @($out.GetAwaiter().GetResult() -split '\r?\n' | Where-Object { $_ })
            Err = $err.GetAwaiter().GetResult()
        }
    }
    finally { $p.Dispose() }
}

# Runs a child of this same PowerShell (no profile, non-interactive).
function Invoke-ChildPwsh([string[]] $Arguments, [hashtable] $Environment = @{}) {
    Invoke-Child $script:Pwsh[0] (@($script:Pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive') + $Arguments) $Environment
}
