# Server 1 (uploader), the remaphore seed's:  aws s3 cp bigfile s3://bucket/ && remaphore -s -u upload_done
# Run: ./upload.ps1 [-ConfigPath config.yaml] [-File ./bigfile]
# -Latch also stores the signal, so a downloader that starts late still proceeds.
# Any failure (the file, the config, the connection) ends the script with exit code 1.
param([string]$ConfigPath, [string]$File = './bigfile', [string]$Uuid = 'upload_done')
$ErrorActionPreference = 'Stop'

$config = @{}
if ($ConfigPath) { $config.ConfigPath = $ConfigPath }

# Stand-in for the upload (aws s3 cp $File s3://bucket/): write the file the downloaders fetch.
[System.IO.File]::WriteAllText($File, 'uploaded bytes')
Send-Remaphore -Uuid $Uuid -Latch @config -PassThru
