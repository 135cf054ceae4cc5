# What the MAML help must say about each parameter, derived from the cmdlet's own metadata (Get-Command), so that help
# cannot drift from the code. Dot-sourced by the Pester help test (which compares) and by Sync-HelpMetadata.ps1 (which
# rewrites the parameter and syntax sections of module/help/<Cmdlet>.maml.xml, keeping every description).

$script:CommonParameterNames = [System.Management.Automation.PSCmdlet]::CommonParameters +
    [System.Management.Automation.PSCmdlet]::OptionalCommonParameters

# The type name help shows: nullable value types as their value type (int? is an Int32 that may be left out).
function Get-HelpTypeName([type] $Type) {
    $underlying = [Nullable]::GetUnderlyingType($Type)
    if ($underlying) { $Type = $underlying }
    if ($Type.IsArray) { return (Get-HelpTypeName $Type.GetElementType()) + '[]' }
    $Type.FullName
}

function Get-HelpPipelineInput([bool] $ByValue, [bool] $ByPropertyName) {
    if ($ByValue -and $ByPropertyName) { 'True (ByValue, ByPropertyName)' }
    elseif ($ByValue) { 'True (ByValue)' }
    elseif ($ByPropertyName) { 'True (ByPropertyName)' }
    else { 'False' }
}

# One parameter as help states it. $Sets: the CommandParameterInfo of this parameter in each set it belongs to (one set
# for a syntax item; all of them for the Parameters section: required when mandatory in every set, the position when
# positional in any, pipeline input when accepted in any).
function Get-HelpParameterFacts([System.Management.Automation.CommandParameterInfo[]] $Sets, [System.Management.Automation.ParameterMetadata] $Metadata) {
    $positions = @($Sets | Where-Object Position -GE 0 | ForEach-Object Position | Sort-Object -Unique)
    [pscustomobject]@{
        Name          = $Metadata.Name
        Required      = @($Sets | Where-Object { -not $_.IsMandatory }).Count -eq 0
        Position      = if ($positions.Count) { [string]$positions[0] } else { 'named' }
        PipelineInput = Get-HelpPipelineInput (@($Sets | Where-Object ValueFromPipeline).Count -gt 0) (@($Sets | Where-Object ValueFromPipelineByPropertyName).Count -gt 0)
        Globbing      = @($Metadata.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] }).Count -gt 0
        Type          = Get-HelpTypeName $Metadata.ParameterType
        IsSwitch      = $Metadata.SwitchParameter
        VariableLength = $Metadata.ParameterType.IsArray
        Aliases       = if ($Metadata.Aliases.Count) { $Metadata.Aliases -join ', ' } else { 'none' }
    }
}

# The parameters help documents (not the common ones; -WhatIf and -Confirm included), in a stable order: positional
# first by position, then mandatory, then the rest, each group in declaration order.
function Get-HelpParameterNames($Command, $SetInfo) {
    $infos = if ($SetInfo) { $SetInfo.Parameters } else { $Command.ParameterSets.Parameters }
    $seen = @{}
    $ordered = foreach ($p in $infos) {
        if ($p.Name -in $script:CommonParameterNames -and $p.Name -notin 'WhatIf', 'Confirm') { continue }
        if ($seen.ContainsKey($p.Name)) { continue }
        $seen[$p.Name] = $true
        $p
    }
    $rank = { param($p) if ($p.Name -in 'WhatIf', 'Confirm') { 3 } elseif ($p.Position -ge 0) { 0 } elseif ($p.IsMandatory) { 1 } else { 2 } }
    $i = 0
    $ordered | ForEach-Object { [pscustomobject]@{ P = $_; Rank = (& $rank $_); Pos = $(if ($_.Position -ge 0) { $_.Position } else { 0 }); I = $i++ } } |
        Sort-Object Rank, Pos, I | ForEach-Object { $_.P.Name }
}

# Everything help must say about a cmdlet's parameters: Parameters (one entry per parameter) and Syntax (one item per
# parameter set, default set first).
function Get-HelpContract([string] $Name) {
    $command = Get-Command $Name -CommandType Cmdlet
    $parameters = foreach ($n in Get-HelpParameterNames $command $null) {
        $sets = @($command.ParameterSets | ForEach-Object { $_.Parameters | Where-Object Name -EQ $n })
        Get-HelpParameterFacts $sets $command.Parameters[$n]
    }
    $setsOrdered = @($command.ParameterSets | Sort-Object { -not $_.IsDefault })
    $syntax = foreach ($set in $setsOrdered) {
        [pscustomobject]@{
            SetName    = $set.Name
            Parameters = @(foreach ($n in Get-HelpParameterNames $command $set) {
                Get-HelpParameterFacts @($set.Parameters | Where-Object Name -EQ $n) $command.Parameters[$n]
            })
        }
    }
    [pscustomobject]@{ Name = $Name; Parameters = @($parameters); Syntax = @($syntax) }
}

# Differences between what Get-Help shows for a cmdlet and its contract: one line per wrong fact, none when help is right.
function Compare-HelpWithMetadata([string] $Name) {
    $contract = Get-HelpContract $Name
    $help = Get-Help $Name -Full
    $documented = @($help.parameters.parameter | Where-Object { $_ })
    $expectedNames = $contract.Parameters.Name
    foreach ($n in $documented.name) { if ($n -notin $expectedNames) { "${Name}: help documents -$n, which the cmdlet does not have" } }
    foreach ($fact in $contract.Parameters) {
        $entry = $documented | Where-Object name -EQ $fact.Name | Select-Object -First 1
        if (-not $entry) { "${Name}: -$($fact.Name) is not in the help's parameters"; continue }
        if (-not ($entry.description | Out-String).Trim()) { "${Name}: -$($fact.Name) has no description" }
        Compare-HelpParameter "${Name} parameters" $entry $fact
    }
    $items = @($help.syntax.syntaxItem | Where-Object { $_ })
    if ($items.Count -ne $contract.Syntax.Count) { "${Name}: help has $($items.Count) syntax items, the cmdlet $($contract.Syntax.Count) parameter sets" }
    for ($i = 0; $i -lt [Math]::Min($items.Count, $contract.Syntax.Count); $i++) {
        $set = $contract.Syntax[$i]
        $shown = @($items[$i].parameter | Where-Object { $_ })
        $got = ($shown.name) -join ','
        $want = ($set.Parameters.Name) -join ','
        if ($got -ne $want) { "${Name}: syntax item $($i + 1) (set $($set.SetName)) lists $got; expected $want"; continue }
        foreach ($fact in $set.Parameters) {
            Compare-HelpParameter "${Name} syntax $($set.SetName)" ($shown | Where-Object name -EQ $fact.Name | Select-Object -First 1) $fact
        }
    }
}

function Compare-HelpParameter([string] $Where, $Entry, $Fact) {
    $p = "${Where}: -$($Fact.Name)"
    $required = "$($Entry.required)" -eq 'true'
    if ($required -ne $Fact.Required) { "$p says required=$($Entry.required); it is $($Fact.Required.ToString().ToLower())" }
    if ("$($Entry.position)" -ne $Fact.Position) { "$p says position=$($Entry.position); it is $($Fact.Position)" }
    if ($null -ne $Entry.pipelineInput -and "$($Entry.pipelineInput)" -ne $Fact.PipelineInput) { "$p says pipelineInput=$($Entry.pipelineInput); it is $($Fact.PipelineInput)" }
    if ($null -ne $Entry.globbing -and ("$($Entry.globbing)" -eq 'true') -ne $Fact.Globbing) { "$p says globbing=$($Entry.globbing); it is $($Fact.Globbing.ToString().ToLower())" }
    $value = "$($Entry.parameterValue)"
    if ($Fact.IsSwitch -and $value) { "$p is a switch but help shows it taking a value <$value>" }
    if (-not $Fact.IsSwitch -and $value -ne $Fact.Type) { "$p shows value <$value>; its type is $($Fact.Type)" }
    if ($null -ne $Entry.type -and "$($Entry.type.name)" -ne $Fact.Type) { "$p says type $($Entry.type.name); it is $($Fact.Type)" }
}
