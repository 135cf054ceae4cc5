# The service of the seed's example: an HTTP server that answers "beep boop".
# Start-SeaportService runs it with its assigned port as the last argument (and in $env:PORT):
#   Start-SeaportService web@1.2.3 -Command pwsh, -NoProfile, -File, ./server.ps1
param([Parameter(Mandatory)][int] $Port)
$ErrorActionPreference = 'Stop'

$listener = [System.Net.HttpListener]::new()
# localhost keeps the example free of URL ACLs on Windows; use http://+:$Port/ (as admin) to serve other hosts.
$listener.Prefixes.Add("http://localhost:$Port/")
$listener.Start()
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
