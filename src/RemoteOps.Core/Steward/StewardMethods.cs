namespace RemoteOps.Steward;

/// <summary>The methods of the steward seed. Request methods run on the node that receives the message; reply methods
/// (<see cref="ToConsole"/>, <see cref="ToFile"/>, <see cref="ToFileAppend"/>) run where the reply is received.</summary>
public enum StewardMethod
{
    Ping,
    Hello,
    CliCommand,
    CliCommandCont,
    TailFile,
    HttpGet,
    OpProcessList,
    OpProcessStart,
    OpProcessStop,
    ErrorLog,
    ToConsole,
    ToFile,
    ToFileAppend,
    /// <summary>A PowerShell scriptblock run in a separate pwsh worker (Invoke-StewardCommand); objects stream back as
    /// CliXml chunks. Last, so the catalogue's existing values keep their numbers.</summary>
    PwshScript,
    /// <summary>A herder minion (Invoke-HerderMinion -Node): served through <see cref="StewardMethodExtensions"/> by
    /// herder, which runs on the node agent.</summary>
    HerderMinion,
    /// <summary>Herder daemons (Start-/Get-/Stop-/Connect-HerderDaemon, Receive-HerderDaemonLog -Node): every daemon
    /// operation, served through <see cref="StewardMethodExtensions"/> by herder.</summary>
    HerderDaemon,
    /// <summary>Every herder golem operation (Start-/Get-/Invoke-/Stop-HerderGolem -Node): served through
    /// <see cref="StewardMethodExtensions"/> by herder.</summary>
    HerderGolem,
}

/// <summary>The method catalogue: names as the seed spells them, parsed leniently as users of the seed type them.</summary>
public static class StewardMethods
{
    /// <summary>Every method, in catalogue order.</summary>
    public static IReadOnlyList<StewardMethod> All { get; } = Enum.GetValues<StewardMethod>();

    /// <summary>The methods a reply can use (the seed also allows CliCommand, with {{STEWARD_DATA}}).</summary>
    public static IReadOnlyList<StewardMethod> ReplyMethods { get; } =
        [StewardMethod.ToConsole, StewardMethod.ToFile, StewardMethod.ToFileAppend, StewardMethod.CliCommand];

    /// <summary>The seed's method that takes an <c>operation</c> object instead of naming the Op method itself.</summary>
    public const string OpCommand = "OpCommand";

    /// <summary>Longer than any method name with its prefix; longer text is not parsed at all.</summary>
    public const int MaxNameLength = 64;

    /// <summary>The trust-store scope that <c>steward.methods.&lt;Method&gt;.allowed</c> grants.</summary>
    public static string TrustScope(StewardMethod method) => "steward." + method;

    /// <summary>A method's name without the seed's prefix ("REQCliCommand" → CliCommand), case-insensitive; also the
    /// seed's "REQn" spelling (REQnCliCommandCont). False for anything else, including the seed's OpCommand, which needs
    /// its operation (<see cref="StewardOperation"/>).</summary>
    public static bool TryParse(string? text, out StewardMethod method)
    {
        method = default;
        if (string.IsNullOrEmpty(text) || text.Length > MaxNameLength) return false;
        var name = text.AsSpan().Trim();
        // No method name starts with N, so "REQn" is always the seed's prefix, never part of a name.
        if (name.StartsWith("REQn", StringComparison.OrdinalIgnoreCase)) name = name[4..];
        else if (name.StartsWith("REQ", StringComparison.OrdinalIgnoreCase)) name = name[3..];
        foreach (var m in All)
            if (name.Equals(m.ToString(), StringComparison.OrdinalIgnoreCase)) { method = m; return true; }
        return false;
    }

    /// <summary>True for the seed's "REQOpCommand" (or "OpCommand"), whose method the operation object names.</summary>
    public static bool IsOpCommand(string? text)
    {
        if (string.IsNullOrEmpty(text) || text.Length > MaxNameLength) return false;
        var name = text.AsSpan().Trim();
        if (name.StartsWith("REQ", StringComparison.OrdinalIgnoreCase)) name = name[3..];
        return name.Equals(OpCommand, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The names a user may type, for error messages and completion.</summary>
    public static string Known => string.Join(", ", All);
}
