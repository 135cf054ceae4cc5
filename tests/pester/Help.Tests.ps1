# Help that cannot drift: every fact Get-Help states about a parameter (required, position, pipeline input, globbing,
# type, a switch shown without a value) and every syntax item must agree with the cmdlet's metadata (Get-Command).
# The contract and the comparison are in module/help/HelpMetadata.ps1; module/help/Sync-HelpMetadata.ps1 fixes a file.

BeforeDiscovery {
    $script:Manifest = Join-Path $PSScriptRoot '..' '..' 'out' 'RemoteOps' 'RemoteOps.psd1'
    $script:CmdletNames = (Import-PowerShellDataFile $script:Manifest).CmdletsToExport
}

BeforeAll {
    $script:Manifest = Join-Path $PSScriptRoot '..' '..' 'out' 'RemoteOps' 'RemoteOps.psd1'
    Import-Module $script:Manifest -Force
    . (Join-Path $PSScriptRoot '..' '..' 'module' 'help' 'HelpMetadata.ps1')
}

Describe 'Help agrees with the cmdlets' {
    It '<_>: every parameter and syntax line of Get-Help -Full matches Get-Command' -ForEach $CmdletNames {
        Compare-HelpWithMetadata $_ | Should -BeNullOrEmpty
    }

    It 'notices a wrong line (the comparison is not blind)' {
        $help = Get-Help Send-Remaphore -Full
        $entry = $help.parameters.parameter | Where-Object name -EQ Message
        $fact = (Get-HelpContract Send-Remaphore).Parameters | Where-Object Name -EQ Message
        Compare-HelpParameter 'test' $entry $fact | Should -BeNullOrEmpty
        $wrong = $entry.PSObject.Copy()
        $wrong.position = 'named'
        $wrong.pipelineInput = 'false'
        @(Compare-HelpParameter 'test' $wrong $fact).Count | Should -Be 2
        $switch = (Get-HelpContract Send-Remaphore).Parameters | Where-Object Name -EQ PassThru
        $shownWithValue = [pscustomobject]@{ name = 'PassThru'; required = 'false'; position = 'named'; parameterValue = 'SwitchParameter' }
        Compare-HelpParameter 'test' $shownWithValue $switch | Should -BeLike '*switch*value*'
    }

    It 'shows <_> switches without a value in the syntax' -ForEach @('Send-Remaphore') {
        (Get-Help $_ | Out-String) | Should -Match '\[-PassThru\]'
    }
}

Describe 'About topics' {
    It 'about_RemoteOps names <_>' -ForEach $CmdletNames {
        Get-Help about_RemoteOps | Out-String | Should -BeLike "*$_*"
    }

    It 'has <_>' -ForEach 'about_Remaphore', 'about_Seaport' {
        $text = Get-Help $_ | Out-String
        $text | Should -BeLike "*$($_ -replace 'about_')*"
        $text.Length | Should -BeGreaterThan 500
    }

    It '<_> is named in its tool''s about topic' -ForEach @($CmdletNames | Where-Object { $_ -match 'Remaphore|Seaport' -and $_ -ne 'ConvertFrom-RemaphoreConfig' }) {
        $topic = if ($_ -match 'Seaport') { 'about_Seaport' } else { 'about_Remaphore' }
        Get-Help $topic | Out-String | Should -BeLike "*$_*"
    }
}
