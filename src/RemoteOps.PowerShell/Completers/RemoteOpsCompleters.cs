using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Runtime.CompilerServices;
using RemoteOps.Config;
using RemoteOps.Messaging;
using RemoteOps.Seaport;

namespace RemoteOps.PowerShell.Completers;

/// <summary>What every RemoteOps completer shares: the config as -ConfigPath is bound so far, matching what was typed,
/// quoting, and never throwing (a completer that throws shows the user nothing useful; one that hangs blocks Tab).</summary>
public abstract class RemoteOpsCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        try
        {
            var typed = Unquote(wordToComplete ?? "");
            return Values(fakeBoundParameters)
                .Where(v => v.Value.StartsWith(typed, StringComparison.OrdinalIgnoreCase))
                .Select(v => new CompletionResult(Quote(v.Value), v.Value, CompletionResultType.ParameterValue, v.ToolTip))
                .ToList();
        }
        catch (Exception) { return []; } // completion is best effort: never an error at the prompt
    }

    /// <summary>The values to offer (the core supplies them); called only from <see cref="CompleteArgument"/>, which
    /// keeps the core's types out of the completer's own signature (the core loads in the module's context).</summary>
    private protected abstract IEnumerable<CompletionValue> Values(IDictionary fakeBoundParameters);

    /// <summary>The config named by -ConfigPath if the command line already binds it, else the default one.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private protected static RemoteOpsConfig? Config(IDictionary fakeBoundParameters)
    {
        string? path = null;
        if (fakeBoundParameters?["ConfigPath"] is { } bound)
        {
            path = (bound is PSObject p ? p.BaseObject : bound)?.ToString();
            if (!string.IsNullOrEmpty(path) && !Path.IsPathRooted(path))
            {
                var location = System.Management.Automation.Runspaces.Runspace.DefaultRunspace?.SessionStateProxy.Path.CurrentFileSystemLocation.ProviderPath;
                if (location is not null) path = Path.GetFullPath(path, location);
            }
        }
        return ConfigCompletions.TryLoad(path);
    }

    private static string Unquote(string word) =>
        word.Length > 0 && word[0] is '\'' or '"' ? word.Trim('\'', '"') : word;

    /// <summary>Single-quoted when PowerShell would read the bare text otherwise.</summary>
    private static string Quote(string value) =>
        value.Length == 0 || value[0] is '@' or '-' or '#' || value.Any(c => char.IsWhiteSpace(c) || "'\"`$&(){};,|<>".Contains(c))
            ? "'" + value.Replace("'", "''") + "'"
            : value;
}

/// <summary>Verbs from the config (Send-/Invoke-/Wait-Remaphore -Verb).</summary>
public sealed class RemaphoreVerbCompleter : RemoteOpsCompleter
{
    private protected override IEnumerable<CompletionValue> Values(IDictionary bound) =>
        Config(bound) is { } c ? ConfigCompletions.Verbs(c) : [];
}

/// <summary>Local identities' public keys, with their verbs as the tooltip (-Identity).</summary>
public sealed class IdentityCompleter : RemoteOpsCompleter
{
    private protected override IEnumerable<CompletionValue> Values(IDictionary bound) =>
        Config(bound) is { } c ? ConfigCompletions.Identities(c) : [];
}

/// <summary>Peer destinations and the patterns that reach them (-Destination, -ExpectedResponder).</summary>
public sealed class DestinationCompleter : RemoteOpsCompleter
{
    private protected override IEnumerable<CompletionValue> Values(IDictionary bound) =>
        Config(bound) is { } c ? ConfigCompletions.Destinations(c) : [];
}

/// <summary>Peers' public keys, with their destination as the tooltip (Wait-Remaphore -Sender).</summary>
public sealed class PeerKeyCompleter : RemoteOpsCompleter
{
    private protected override IEnumerable<CompletionValue> Values(IDictionary bound) =>
        Config(bound) is { } c ? ConfigCompletions.PeerKeys(c) : [];
}

/// <summary>Roles of the live services in the registry (-Role); at most 2 s, nothing when the registry does not answer.</summary>
public sealed class SeaportRoleCompleter : RemoteOpsCompleter
{
    private protected override IEnumerable<CompletionValue> Values(IDictionary bound) =>
        Config(bound) is { } c ? SeaportCompletions.Roles(SeaportCompletions.Services(c)) : [];
}

/// <summary>Ids of the live services in the registry (-Id); at most 2 s, nothing when the registry does not answer.</summary>
public sealed class SeaportIdCompleter : RemoteOpsCompleter
{
    private protected override IEnumerable<CompletionValue> Values(IDictionary bound) =>
        Config(bound) is { } c ? SeaportCompletions.Ids(SeaportCompletions.Services(c)) : [];
}

/// <summary>Process ids of this user's running dev servers, with their URL (Stop-/Get-RemoteOpsDevServer -ProcessId).</summary>
public sealed class DevServerCompleter : RemoteOpsCompleter
{
    private protected override IEnumerable<CompletionValue> Values(IDictionary bound) =>
        DevServer.List().Select(s => new CompletionValue(s.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            $"{s.Url}, data in {s.DataDirectory}, started {s.StartTime:yyyy-MM-dd HH:mm:ss}"));
}

/// <summary>Steward's request methods (Invoke-StewardMethod -Method).</summary>
public sealed class StewardMethodCompleter : RemoteOpsCompleter
{
    private protected override IEnumerable<CompletionValue> Values(IDictionary bound) => Steward.StewardCompletions.Methods(reply: false);
}

/// <summary>Steward's reply methods (Invoke-StewardMethod -ReplyMethod).</summary>
public sealed class StewardReplyMethodCompleter : RemoteOpsCompleter
{
    private protected override IEnumerable<CompletionValue> Values(IDictionary bound) => Steward.StewardCompletions.Methods(reply: true);
}

/// <summary>Nodes of the steward registry and the configured peers' destinations (-ToNode); the registry at most 2 s.</summary>
public sealed class StewardNodeCompleter : RemoteOpsCompleter
{
    private protected override IEnumerable<CompletionValue> Values(IDictionary bound) =>
        Config(bound) is { } c ? Steward.StewardCompletions.Nodes(c) : [];
}

/// <summary>Fleet governors: the config's steward.governors and the governors bucket's (-Governor, Get-/New-/Remove-StewardGovernor -Name).</summary>
public sealed class StewardGovernorCompleter : RemoteOpsCompleter
{
    private protected override IEnumerable<CompletionValue> Values(IDictionary bound) =>
        Config(bound) is { } c ? Steward.StewardGovernors.Completions(c) : [];
}

/// <summary>Herder environments: the built-ins and the config's (Invoke-HerderMinion -Environment).</summary>
public sealed class HerderEnvironmentCompleter : RemoteOpsCompleter
{
    private protected override IEnumerable<CompletionValue> Values(IDictionary bound) => Herder.HerderCompletions.Environments(Config(bound));
}

/// <summary>Herder golems: this session's, or with -Node already bound that node agent's (asked for at most 2 s).</summary>
public sealed class HerderGolemCompleter : RemoteOpsCompleter
{
    private protected override IEnumerable<CompletionValue> Values(IDictionary bound)
    {
        var node = bound["Node"] is { } n ? (n is PSObject p ? p.BaseObject : n)?.ToString() : null;
        return Herder.HerderGolemRemote.Completions(string.IsNullOrEmpty(node) ? null : Config(bound), string.IsNullOrEmpty(node) ? null : node);
    }
}

/// <summary>Herder daemons of this machine (this session's, or this machine's agent's): Stop-/Connect-/Get-HerderDaemon -Name.</summary>
public sealed class HerderDaemonCompleter : RemoteOpsCompleter
{
    private protected override IEnumerable<CompletionValue> Values(IDictionary bound) => Herder.HerderDaemons.Completions(Config(bound));
}
