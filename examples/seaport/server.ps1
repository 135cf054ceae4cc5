# The service of the seed's example: an HTTP server that answers "beep boop".
# Start-SeaportService runs it with its assigned port as the last argument (and in $env:PORT):
#   Start-SeaportService web@1.2.3 -Command pwsh, -NoProfile, -File, ./server.ps1
param(
    [Parameter(Mandatory)][int] $Port,
    # The host name the registration advertises (Register-/Start-SeaportService -HostName; by default this machine's
    # name): clients call http://<HostName>:<Port>/, so that is what the server answers, plus localhost.
    [string] $HostName = [System.Net.Dns]::GetHostName()
)
$ErrorActionPreference = 'Stop'

$listener = [System.Net.HttpListener]::new()
$listener.Prefixes.Add("http://localhost:$Port/")
if ($HostName -ne 'localhost') { $listener.Prefixes.Add("http://${HostName}:$Port/") }
try {
    $listener.Start()
}
catch [System.Net.HttpListenerException] {
    # Windows lets a non-administrator serve a host name only with a URL ACL
    # (netsh http add urlacl url=http://<HostName>:<Port>/ user=<you>): serve localhost alone rather than nothing.
    Write-Warning "Cannot serve http://${HostName}:$Port/ ($($_.Exception.Message)); serving http://localhost:$Port/ only."
    $listener = [System.Net.HttpListener]::new()
    $listener.Prefixes.Add("http://localhost:$Port/")
    $listener.Start()
}
try {
    while ($listener.IsListening) {
        $context = $listener.GetContext()
        $body = [System.Text.Encoding]::UTF8.GetBytes("beep boop`n")
        $context.Response.ContentType = 'text/plain'
        $context.Response.OutputStream.Write($body, 0, $body.Length)
        $context.Response.Close()
    }
}
finally {
    $listener.Close()
}
