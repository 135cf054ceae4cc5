using System.Management.Automation;
using RemoteOps.Config;
using RemoteOps.Herder;
using RemoteOps.Identity;
using RemoteOps.Messaging;
using RemoteOps.Remaphore;
using RemoteOps.Seaport;

namespace RemoteOps.PowerShell.Internal;

/// <summary>The error ids a tool's cmdlets use for the failures every tool meets. They are a contract, and two tools
/// name the same NATS failure differently (remaphore says ConnectionError, seaport SeaportUnavailable): this keeps
/// both. A new tool reuses <see cref="Foundation"/>'s ids unless it has a reason not to.</summary>
public sealed record ToolErrorIds(string InvalidArgument, string InvalidPattern, string Unavailable, string Timeout, string What)
{
    public static readonly ToolErrorIds Foundation = new("RemoteOps.InvalidArgument", "RemoteOps.InvalidPattern", "RemoteOps.ConnectionError", "RemoteOps.Timeout", "NATS");
    public static readonly ToolErrorIds Remaphore = Foundation with { InvalidArgument = "RemoteOps.RemaphoreInvalidArgument", InvalidPattern = "RemoteOps.RemaphoreInvalidPattern", Timeout = "RemoteOps.RemaphoreTimeout" };
    public static readonly ToolErrorIds Seaport = new("RemoteOps.SeaportInvalidArgument", "RemoteOps.SeaportInvalidArgument", "RemoteOps.SeaportUnavailable", "RemoteOps.SeaportTimeout", "The seaport registry");
    public static readonly ToolErrorIds Steward = new("RemoteOps.StewardInvalidArgument", "RemoteOps.StewardInvalidPattern", "RemoteOps.StewardUnavailable", "RemoteOps.StewardTimeout", "Steward");
    /// <summary>Steward's sender cmdlets (Invoke-StewardMethod, Get-StewardMessage, Receive-StewardReply, Remove-StewardMessage): the same ids.</summary>
    public static readonly ToolErrorIds StewardSender = Steward;
    public static readonly ToolErrorIds Herder = new("RemoteOps.HerderInvalidArgument", "RemoteOps.HerderInvalidPattern", "RemoteOps.HerderUnavailable", "RemoteOps.HerderTimeout", "Herder");
}

/// <summary>The one map from the core's exceptions to ErrorRecords (stable id, category, target) that every cmdlet
/// uses. NATS failures are recognised by the core (<see cref="NatsFailures"/>), never by type name here.</summary>
public static class ErrorMap
{
    /// <summary>The ErrorRecord for a config problem: id RemoteOps.ConfigInvalid, the located message, no stack trace.</summary>
    public static ErrorRecord ConfigErrorRecord(ConfigException e) =>
        new(e, "RemoteOps.ConfigInvalid",
            e.Line == 0 && !File.Exists(e.File) ? ErrorCategory.ObjectNotFound : ErrorCategory.InvalidData,
            e.File);

    /// <summary>The ErrorRecord for an exception the core raises on purpose; null for anything else (a bug: let it surface).</summary>
    public static ErrorRecord? ToErrorRecord(Exception e, object? target, ToolErrorIds ids) => e switch
    {
        ConfigException c => ConfigErrorRecord(c),
        DestinationPatternException => new ErrorRecord(e, ids.InvalidPattern, ErrorCategory.InvalidArgument, target),
        IdentityException => new ErrorRecord(e, "RemoteOps.IdentityError", ErrorCategory.InvalidArgument, target),
        RemaphoreLatchException => new ErrorRecord(e, "RemoteOps.RemaphoreLatchError", ErrorCategory.ResourceUnavailable, target),
        SeaportConflictException => new ErrorRecord(e, "RemoteOps.SeaportConflict", ErrorCategory.ResourceExists, target),
        SeaportNotFoundException => new ErrorRecord(e, "RemoteOps.SeaportNotFound", ErrorCategory.ObjectNotFound, target),
        SeaportRejectedException => new ErrorRecord(e, "RemoteOps.SeaportRejected", ErrorCategory.SecurityError, target),
        HerderException h => new ErrorRecord(e, h.ErrorId, h.Failure switch
        {
            HerderFailure.UnknownEnvironment => ErrorCategory.ObjectNotFound,
            HerderFailure.EnvironmentUnavailable or HerderFailure.SandboxUnavailable => ErrorCategory.NotInstalled,
            HerderFailure.InvalidToken => ErrorCategory.SecurityError,
            HerderFailure.NotIssuer => ErrorCategory.PermissionDenied,
            HerderFailure.NoCredits => ErrorCategory.QuotaExceeded,
            HerderFailure.RemoteFailed => ErrorCategory.ResourceUnavailable,
            HerderFailure.GolemNotFound => ErrorCategory.ObjectNotFound,
            HerderFailure.GolemExists => ErrorCategory.ResourceExists,
            HerderFailure.BrowserUnavailable => ErrorCategory.NotInstalled,
            HerderFailure.GolemFailed => ErrorCategory.ResourceUnavailable,
            HerderFailure.ScriptError => ErrorCategory.InvalidOperation,
            HerderFailure.GolemTimeout => ErrorCategory.OperationTimeout,
            HerderFailure.DaemonExists => ErrorCategory.ResourceExists,
            HerderFailure.DaemonNotFound => ErrorCategory.ObjectNotFound,
            _ => ErrorCategory.InvalidArgument,
        }, target),
        RemoteOpsArgumentException => new ErrorRecord(e, ids.InvalidArgument, ErrorCategory.InvalidArgument, target),
        RemoteOpsUnavailableException => new ErrorRecord(e, ids.Unavailable, ErrorCategory.ConnectionError, target),
        TimeoutException => new ErrorRecord(e, ids.Timeout, ErrorCategory.OperationTimeout, target),
        _ when NatsFailures.Translate(e, ids.What) is { } failure
            => new ErrorRecord(failure, ids.Unavailable, ErrorCategory.ConnectionError, target),
        _ => null,
    };
}
