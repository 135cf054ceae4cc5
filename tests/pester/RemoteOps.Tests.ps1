# Pester 5 tests of the module as a user meets it in a real pwsh: ./build.ps1 Test runs them (after the xunit suites) in
# the pinned pwsh (.config/dotnet-tools.json) with the Pester the build restores (tools/Pester), and CI fails when they do.

BeforeDiscovery {
    $script:Manifest = Join-Path $PSScriptRoot '..' '..' 'out' 'RemoteOps' 'RemoteOps.psd1'
    $script:CmdletNames = (Import-PowerShellDataFile $script:Manifest).CmdletsToExport
}

BeforeAll {
    $script:Manifest = Join-Path $PSScriptRoot '..' '..' 'out' 'RemoteOps' 'RemoteOps.psd1'
    Import-Module $script:Manifest -Force
}

AfterAll {
    Remove-Module RemoteOps -ErrorAction SilentlyContinue
}

Describe 'RemoteOps module' {
    It 'imports' {
        Get-Module RemoteOps | Should -Not -BeNullOrEmpty
    }

    It 'exports every cmdlet its manifest lists' {
        $expected = (Import-PowerShellDataFile $script:Manifest).CmdletsToExport
        (Get-Command -Module RemoteOps -CommandType Cmdlet).Count | Should -Be $expected.Count
    }

    It '<_> has a synopsis and an example' -ForEach $CmdletNames {
        $help = Get-Help $_ -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -BeLike "$_ *"
        @($help.Examples.Example).Count | Should -BeGreaterThan 0
    }

    It '<_> documents every parameter in Get-Help' -ForEach $CmdletNames {
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
        $help = @((Get-Help $_ -Full).parameters.parameter | Where-Object { $_ })
        $undocumented = foreach ($p in (Get-Command $_).Parameters.Values) {
            if ($p.Name -in $common) { continue }
            $entry = $help | Where-Object name -EQ $p.Name
            if (-not $entry -or -not ($entry.description | Out-String).Trim()) { $p.Name }
        }
        $undocumented | Should -BeNullOrEmpty
    }

    It '<_> has examples with code in Get-Help -Examples' -ForEach $CmdletNames {
        $examples = @((Get-Help $_ -Examples).examples.example)
        $examples.Count | Should -BeGreaterThan 0
        foreach ($e in $examples) { $e.code | Should -Not -BeNullOrEmpty }
    }

    It 'has a valid manifest that names every capability, its license and its release notes' {
        $module = Test-ModuleManifest $script:Manifest -ErrorAction Stop
        foreach ($capability in 'remaphore', 'seaport', 'steward', 'golem-herder') { $module.Description | Should -BeLike "*$capability*" }
        $module.LicenseUri | Should -Not -BeNullOrEmpty
        $module.ReleaseNotes | Should -Not -BeNullOrEmpty
    }

    It 'has about_RemoteOps' {
        Get-Help about_RemoteOps | Out-String | Should -BeLike '*New-RemoteOpsConfig*'
    }

    It 'makes an identity without touching any config' {
        $id = New-RemoteOpsIdentity -Verb ping
        $id.PublicKey | Should -Match '^[1-9A-HJ-NP-Za-km-z]{32,44}$'
        $id.Verbs | Should -Be @('ping')
        $id.Yaml | Should -BeLike '- public: *'
    }
}

Describe 'seaport (no server needed)' {
    It 'refuses a malformed role while binding' {
        { Register-SeaportService 'web@notsemver' -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
    }

    It 'refuses a malformed semver range while binding' {
        { Get-SeaportService 'web@^^1' -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
    }

    It 'has table views for <_>' -ForEach 'RemoteOps.Seaport.SeaportService', 'RemoteOps.Seaport.SeaportEvent' {
        Get-FormatData -TypeName $_ | Should -Not -BeNullOrEmpty
    }
}
