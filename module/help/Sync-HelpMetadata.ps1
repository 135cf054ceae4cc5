#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Rewrites the syntax and parameter sections of module/help/<Cmdlet>.maml.xml from the built cmdlets' metadata.
.DESCRIPTION
    Required, position, pipeline input, globbing, aliases and types come from Get-Command; descriptions and default
    values are kept from the file (a new parameter gets an empty description, which the help test reports). Everything
    else in the file (synopsis, description, examples, links) is left as it is. The Pester help test
    (tests/pester/Help.Tests.ps1) fails when a file and the cmdlet disagree; run this after changing a parameter:
        dotnet build -c Release; dotnet pwsh ./module/help/Sync-HelpMetadata.ps1
#>
param(
    [string] $Manifest = (Join-Path $PSScriptRoot '..' '..' 'out' 'RemoteOps' 'RemoteOps.psd1'),
    [string[]] $Name
)
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'HelpMetadata.ps1')
Import-Module $Manifest -Force

$mamlNs = 'http://schemas.microsoft.com/maml/2004/10'
$commandNs = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$devNs = 'http://schemas.microsoft.com/maml/dev/2004/10'
$standard = @{
    WhatIf  = 'Shows what would happen if the cmdlet runs. The cmdlet is not run.'
    Confirm = 'Prompts you for confirmation before running the cmdlet.'
}

function New-ParameterElement([xml] $Doc, $Fact, $Existing) {
    $e = $Doc.CreateElement('command', 'parameter', $commandNs)
    $e.SetAttribute('required', $Fact.Required.ToString().ToLower())
    $e.SetAttribute('variableLength', $Fact.VariableLength.ToString().ToLower())
    $e.SetAttribute('globbing', $Fact.Globbing.ToString().ToLower())
    $e.SetAttribute('pipelineInput', $Fact.PipelineInput)
    $e.SetAttribute('position', $Fact.Position)
    $e.SetAttribute('aliases', $Fact.Aliases)
    $n = $Doc.CreateElement('maml', 'name', $mamlNs); $n.InnerText = $Fact.Name; [void]$e.AppendChild($n)
    $description = $Existing ? $Existing.SelectSingleNode('maml:description', $script:ns) : $null
    if ($description) { [void]$e.AppendChild($description.Clone()) }
    else {
        $d = $Doc.CreateElement('maml', 'description', $mamlNs)
        $para = $Doc.CreateElement('maml', 'para', $mamlNs); $para.InnerText = $standard[$Fact.Name] ?? ''
        [void]$d.AppendChild($para); [void]$e.AppendChild($d)
    }
    if (-not $Fact.IsSwitch) {
        $v = $Doc.CreateElement('command', 'parameterValue', $commandNs)
        $v.SetAttribute('required', 'true'); $v.SetAttribute('variableLength', $Fact.VariableLength.ToString().ToLower())
        $v.InnerText = $Fact.Type; [void]$e.AppendChild($v)
    }
    $t = $Doc.CreateElement('dev', 'type', $devNs)
    $tn = $Doc.CreateElement('maml', 'name', $mamlNs); $tn.InnerText = $Fact.Type; [void]$t.AppendChild($tn); [void]$e.AppendChild($t)
    $default = $Existing ? $Existing.SelectSingleNode('dev:defaultValue', $script:ns) : $null
    $dv = $Doc.CreateElement('dev', 'defaultValue', $devNs)
    $dv.InnerText = $default ? $default.InnerText : ($Fact.IsSwitch ? 'False' : 'None')
    [void]$e.AppendChild($dv)
    $e
}

$helpDir = $PSScriptRoot
$names = $Name ? $Name : (Get-Command -Module RemoteOps -CommandType Cmdlet).Name
foreach ($cmdlet in $names) {
    $path = Join-Path $helpDir "$cmdlet.maml.xml"
    if (-not (Test-Path $path)) { Write-Warning "No help file $path; write one (copy a neighbour) and run this again."; continue }
    $doc = [xml]::new(); $doc.PreserveWhitespace = $false; $doc.Load($path)
    $script:ns = [System.Xml.XmlNamespaceManager]::new($doc.NameTable)
    $ns.AddNamespace('maml', $mamlNs); $ns.AddNamespace('command', $commandNs); $ns.AddNamespace('dev', $devNs)
    $root = $doc.DocumentElement
    $existing = @{}
    foreach ($p in $root.SelectNodes('command:parameters/command:parameter', $ns)) { $existing[$p.SelectSingleNode('maml:name', $ns).InnerText] = $p }
    foreach ($p in $root.SelectNodes('command:syntax/command:syntaxItem/command:parameter', $ns)) {
        $key = $p.SelectSingleNode('maml:name', $ns).InnerText
        if (-not $existing.ContainsKey($key)) { $existing[$key] = $p }
    }
    $contract = Get-HelpContract $cmdlet

    $syntax = $root.SelectSingleNode('command:syntax', $ns)
    $syntax.RemoveAll()
    foreach ($set in $contract.Syntax) {
        $item = $doc.CreateElement('command', 'syntaxItem', $commandNs)
        $n = $doc.CreateElement('maml', 'name', $mamlNs); $n.InnerText = $cmdlet; [void]$item.AppendChild($n)
        foreach ($fact in $set.Parameters) { [void]$item.AppendChild((New-ParameterElement $doc $fact $existing[$fact.Name])) }
        [void]$syntax.AppendChild($item)
    }
    $parameters = $root.SelectSingleNode('command:parameters', $ns)
    $parameters.RemoveAll()
    foreach ($fact in $contract.Parameters) { [void]$parameters.AppendChild((New-ParameterElement $doc $fact $existing[$fact.Name])) }

    $settings = [System.Xml.XmlWriterSettings]@{ Indent = $true; IndentChars = '  '; OmitXmlDeclaration = $true; Encoding = [System.Text.UTF8Encoding]::new($false) }
    $writer = [System.Xml.XmlWriter]::Create($path, $settings)
    try { $doc.Save($writer) } finally { $writer.Dispose() }
    Add-Content -Path $path -Value '' -NoNewline
    Write-Verbose "Synced $path"
}
