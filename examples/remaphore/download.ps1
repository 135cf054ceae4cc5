# Servers 2-n (downloaders), the remaphore seed's:  remaphore -u upload_done && aws s3 cp s3://bucket/ bigfile
# Run: ./download.ps1 [-ConfigPath config.yaml] [-File ./bigfile] [-Timeout 24h]
# Wait-Remaphore writes the message and fails ($? false) on timeout, so && runs the download only after the signal.
param([string]$ConfigPath, [string]$File = './bigfile', [string]$Uuid = 'upload_done', [string]$Timeout = '24h')

$config = @{}
if ($ConfigPath) { $config.ConfigPath = $ConfigPath }

# Stand-in for the download (aws s3 cp s3://bucket/ $File): read what the uploader wrote.
Wait-Remaphore -Uuid $Uuid -Timeout $Timeout @config && [System.IO.File]::ReadAllText($File)
