# Helm plugin install hook on Windows: fetches the release archive of the
# plugin's version into $env:HELM_PLUGIN_DIR\bin and checks its SHA-256
# against checksums.txt. SDR_MIRROR_PLUGIN_DOWNLOAD_URL overrides the base URL.
param([switch]$Force)
$ErrorActionPreference = 'Stop'
$dir = $env:HELM_PLUGIN_DIR
$bin = Join-Path $dir 'bin\kubectl-sdr_mirror.exe'
if ((Test-Path $bin) -and -not $Force) { Write-Host "sdr-mirror: using $bin"; exit 0 }
$version = (Select-String -Path (Join-Path $dir 'plugin.yaml') -Pattern '^version:\s*"?([^"\s]+)"?').Matches[0].Groups[1].Value
$arch = if ($env:PROCESSOR_ARCHITECTURE -eq 'ARM64') { 'arm64' } else { 'amd64' }
$base = $env:SDR_MIRROR_PLUGIN_DOWNLOAD_URL
if (-not $base) { $base = "https://github.com/sdr-mirror/kubectl-sdr-mirror/releases/download/v$version" }
$archive = "kubectl-sdr_mirror_windows_$arch.zip"
$tmp = Join-Path ([System.IO.Path]::GetTempPath()) ([System.IO.Path]::GetRandomFileName())
New-Item -ItemType Directory -Path $tmp | Out-Null
try {
  Invoke-WebRequest -UseBasicParsing -Uri "$base/$archive" -OutFile (Join-Path $tmp $archive)
  Invoke-WebRequest -UseBasicParsing -Uri "$base/checksums.txt" -OutFile (Join-Path $tmp 'checksums.txt')
  $want = (Get-Content (Join-Path $tmp 'checksums.txt') | Where-Object { $_ -match "\s\*?$archive$" }) -split '\s+' | Select-Object -First 1
  $got = (Get-FileHash -Algorithm SHA256 (Join-Path $tmp $archive)).Hash.ToLower()
  if ($want -ne $got) { throw "sdr-mirror: $archive has SHA-256 $got, checksums.txt says '$want'; not installing" }
  Expand-Archive -Path (Join-Path $tmp $archive) -DestinationPath $tmp
  New-Item -ItemType Directory -Force -Path (Join-Path $dir 'bin') | Out-Null
  Move-Item -Force (Join-Path $tmp 'kubectl-sdr_mirror.exe') $bin
} finally { Remove-Item -Recurse -Force $tmp }
