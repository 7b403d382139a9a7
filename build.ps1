# Does what README.md's commands do, for people with PowerShell (pwsh on Linux/macOS too).
#   ./build.ps1            # restore and build (Release)
#   ./build.ps1 test       # run the tests
#   ./build.ps1 train      # train configs/shakespeare-char.json on tiny-shakespeare into runs/shakespeare-char
param([ValidateSet('build', 'test', 'train')][string]$Target = 'build')
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
switch ($Target) {
    'build' { dotnet build Distributed.sln -c Release }
    'test'  { dotnet test Distributed.sln -c Release }
    'train' { dotnet run -c Release --project coordinator -- train --config configs/shakespeare-char.json --data tinyshakespeare --out runs/shakespeare-char }
}
exit $LASTEXITCODE
