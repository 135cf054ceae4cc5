# Servers 2-n (downloaders), the remaphore seed's:  remaphore -u upload_done && aws s3 cp s3://bucket/ bigfile
# Run: ./download.ps1 [-ConfigPath config.yaml] [-File ./bigfile] [-Timeout 24h]
# Wait-Remaphore writes the message, or on timeout the error RemoteOps.RemaphoreTimeout. With ErrorActionPreference
# Stop that error ends the script, and pwsh -File exits 1: the seed's exit code, so  pwsh -File download.ps1 && next
# stops too. (&& alone would skip the download but still exit 0.)
param([string]$ConfigPath, [string]$File = './bigfile', [string]$Uuid = 'upload_done', [string]$Timeout = '24h')
$ErrorActionPreference = 'Stop'

$config = @{}
if ($ConfigPath) { $config.ConfigPath = $ConfigPath }

# Stand-in for the download (aws s3 cp s3://bucket/ $File): read what the uploader wrote.
Wait-Remaphore -Uuid $Uuid -Timeout $Timeout @config && [System.IO.File]::ReadAllText($File)
