#!/usr/bin/env pwsh
# Does what README.md's commands do, for people with PowerShell (pwsh on Linux/macOS too).
#   ./build.ps1            # restore and build (Release)
#   ./build.ps1 test       # run the tests
#   ./build.ps1 train      # train configs/shakespeare-char.json on the shipped tinyshakespeare into runs/shakespeare-char
# Anything after the target goes to that command: ./build.ps1 train --workers 2, ./build.ps1 test --filter Reports
param([ValidateSet('build', 'test', 'train')][string]$Target = 'build')
$rest = $args
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
switch ($Target) {
    'build' { dotnet build Distributed.sln -c Release @rest }
    'test'  { dotnet test Distributed.sln -c Release @rest }
    'train' { dotnet run -c Release --project coordinator -- train --config configs/shakespeare-char.json --out runs/shakespeare-char @rest }
}
exit $LASTEXITCODE
