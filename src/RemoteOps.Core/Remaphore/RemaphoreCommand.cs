using System.Globalization;
using RemoteOps.Processes;

namespace RemoteOps.Remaphore;

/// <summary>The result of running a command for a message: what goes back in the reply.</summary>
public sealed record RemaphoreCommandResult(int ExitCode, string Output, string? Error);

/// <summary>Runs the waiter's command as the original does (src/subprocess/exec.go): <c>cmd [args...] $verb $payload</c>
/// with REMAPHORE_SENDER, _VERB, _TIME (unix seconds), _UUID (hex), _MSG and, when our destination matched,
/// REMAPHORE_DESTMATCH. Unlike the original, which gives the command only those variables, the command also inherits
/// our environment (PATH and the rest). Output is stdout and stderr combined, each in order (the original shares one pipe; here they are two, so how the two interleave is approximate). The command runs through
/// <see cref="OneShotRunner"/>: in a process group of its own, stdin closed, output capped.</summary>
public static class RemaphoreCommand
{
    /// <summary>Most output kept (the reply carries at most max_payload of it).</summary>
    public const int MaxOutputBytes = 4 * 1024 * 1024;

    public static IReadOnlyDictionary<string, string> Environment(RemaphoreMessage message)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["REMAPHORE_SENDER"] = message.Sender,
            ["REMAPHORE_VERB"] = message.Verb,
            ["REMAPHORE_TIME"] = message.Time.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            ["REMAPHORE_UUID"] = message.UuidHex,
            ["REMAPHORE_MSG"] = message.Payload,
        };
        if (message.DestinationMatch is { } match) env["REMAPHORE_DESTMATCH"] = match;
        return env;
    }

    /// <summary>Null when the command's program can be started (it exists and is executable, found in PATH or as a path
    /// from <paramref name="workingDirectory"/>); else why not ("Cannot start 'x': …"). Checked before a wait begins.</summary>
    public static string? StartProblem(IReadOnlyList<string> command, string? workingDirectory)
    {
        if (command.Count == 0 || string.IsNullOrWhiteSpace(command[0])) return "The command is empty.";
        return ExecutableLocator.TryResolve(command[0], string.IsNullOrEmpty(workingDirectory) ? null : workingDirectory, out _, out var problem) ? null : problem;
    }

    /// <summary>Runs <c>command [args...] $verb $payload</c> with the message's environment to its end; on cancellation
    /// the command's whole process tree is killed and the OperationCanceledException propagates.</summary>
    public static async Task<RemaphoreCommandResult> RunAsync(IReadOnlyList<string> command, RemaphoreMessage message, string? workingDirectory, CancellationToken cancellationToken)
    {
        if (command.Count == 0 || string.IsNullOrEmpty(command[0])) throw new RemaphoreArgumentException("The command is empty.");
        var options = new OneShotOptions([.. command, message.Verb, message.Payload])
        {
            Environment = Environment(message),
            WorkingDirectory = string.IsNullOrEmpty(workingDirectory) ? null : workingDirectory,
            MaxOutputBytes = MaxOutputBytes,
        };
        var result = await OneShotRunner.RunAsync(options, cancellationToken).ConfigureAwait(false);
        // The original reports exit code -1 when the command cannot start.
        return result.StartFailure is { } failure
            ? new RemaphoreCommandResult(-1, "", failure)
            : new RemaphoreCommandResult(result.ExitCode, result.Output, null);
    }
}
