# client.js of the seed: get() a web@1.2.x service (waiting until one is registered) and call it.
# Run it before or after start-server.ps1: Wait-SeaportService returns as soon as one is live.
# Nothing by -Timeout is the error RemoteOps.SeaportTimeout; ErrorActionPreference Stop makes it (and any other error)
# end the script, so pwsh -File client.ps1 exits 1.
param(
    [string] $ConfigPath,
    [object] $Timeout = 60
)
$ErrorActionPreference = 'Stop'

$params = @{}
if ($ConfigPath) { $params.ConfigPath = $ConfigPath }
$services = Wait-SeaportService 'web@1.2.x' -Timeout $Timeout @params
$service = @($services)[0]
# The registration carries this machine's name; call it through localhost when it is us.
$hostName = if ($service.HostName -eq [System.Net.Dns]::GetHostName()) { 'localhost' } else { $service.HostName }
$http = [System.Net.Http.HttpClient]::new()
try {
    $http.GetStringAsync("http://${hostName}:$($service.Port)/").GetAwaiter().GetResult().TrimEnd()
}
finally {
    $http.Dispose()
}
