# server.js of the seed: get a port for web@1.2.3 and serve on it, registered for as long as it runs.
# Ctrl+C deregisters the service and stops the server (and anything it started).
param(
    [string] $ConfigPath,
    # The PowerShell to run server.ps1 with: a program and its first arguments (e.g. dotnet, <path>/pwsh.dll).
    [string[]] $Pwsh = 'pwsh'
)
$ErrorActionPreference = 'Stop'

$params = @{}
if ($ConfigPath) { $params.ConfigPath = $ConfigPath }
Start-SeaportService web@1.2.3 -Command (@($Pwsh) + '-File', "$PSScriptRoot/server.ps1") -Meta @{ example = 'seaport' } @params
