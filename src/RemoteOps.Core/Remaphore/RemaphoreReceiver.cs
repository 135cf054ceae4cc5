using RemoteOps.Config;
using RemoteOps.Messaging;

namespace RemoteOps.Remaphore;

/// <summary>What Wait-Remaphore does with each accepted message: nothing but write it, run a program
/// (<see cref="Command"/>), or call <see cref="Handler"/> (a script block, run by the caller where it must run);
/// either way it replies when the sender asked.</summary>
public sealed class RemaphoreHandling
{
    /// <summary>Run as <c>cmd [args] $verb $payload</c> with REMAPHORE_* variables.</summary>
    public IReadOnlyList<string>? Command { get; init; }
    public string? WorkingDirectory { get; init; }
    /// <summary>Handles a message itself and returns the reply: exit code (null: NO_DATA) and text.</summary>
    public Func<RemaphoreMessage, CancellationToken, Task<(int? ExitCode, string? Reply)>>? Handler { get; init; }
}

/// <summary>The command could not be started for a message (the reply carries exit code -1 and this error).</summary>
public sealed record RemaphoreCommandFailed(string Program, string Error) : RemaphoreEvent;

/// <summary>The wait ended without a message it needed: the subscription closed under it, or nothing came in time.</summary>
public sealed record RemaphoreWaitEnded(bool SubscriptionClosed, string Subject, string Text) : RemaphoreEvent;

/// <summary>The seed's receive mode as a whole: wait, and for each verified message act as <see cref="RemaphoreHandling"/>
/// says, then reply when asked. Everything worth telling the caller comes out, in order, through <c>emit</c>:
/// notes, warnings, each message to write (<see cref="RemaphoreReceived"/>), command failures, and how the wait ended.</summary>
public static class RemaphoreReceiver
{
    public static async Task RunAsync(RemoteOpsConfig config, RemaphoreWaitOptions options, RemaphoreHandling handling,
        Action<RemaphoreEvent> emit, CancellationToken ct)
    {
        // A program that cannot start fails now, not when the first message comes (perhaps hours later, unseen).
        if (handling.Command is { Count: > 0 } command && RemaphoreCommand.StartProblem(command, handling.WorkingDirectory) is { } problem)
        {
            emit(new RemaphoreCommandFailed(command[0], problem));
            return;
        }
        await using var waiter = await RemaphoreWaiter.StartAsync(config, options, ct).ConfigureAwait(false);
        await foreach (var e in waiter.ReadAllAsync(ct).ConfigureAwait(false))
        {
            if (e is RemaphoreReceived received) await HandleAsync(waiter, received.Message, handling, emit, ct).ConfigureAwait(false);
            else emit(e);
        }
        if (waiter.SubscriptionEnded)
            emit(new RemaphoreWaitEnded(true, waiter.Subject, $"The subscription to {waiter.Subject} ended: the NATS connection was closed."));
        else if (waiter.TimedOut && waiter.Accepted == 0)
            emit(new RemaphoreWaitEnded(false, waiter.Subject, $"No matching message on {waiter.Subject} within {Duration.Format(options.Timeout!.Value)}."));
    }

    private static async Task HandleAsync(RemaphoreWaiter waiter, RemaphoreMessage message, RemaphoreHandling handling, Action<RemaphoreEvent> emit, CancellationToken ct)
    {
        int? exitCode = null;
        string? reply = null;
        if (handling.Command is { Count: > 0 } command)
        {
            emit(new RemaphoreNote($"Running {command[0]} for message {message.Hash[..12]} from {message.Sender}."));
            var result = await RemaphoreCommand.RunAsync(command, message, handling.WorkingDirectory, ct).ConfigureAwait(false);
            message.ExitCode = result.ExitCode;
            message.Output = result.Output;
            exitCode = result.ExitCode;
            reply = result.Error ?? result.Output;
            if (result.Error is not null) emit(new RemaphoreCommandFailed(command[0], result.Error));
            emit(new RemaphoreReceived(message));
        }
        else if (handling.Handler is { } handler)
        {
            (exitCode, reply) = await handler(message, ct).ConfigureAwait(false);
        }
        else
        {
            emit(new RemaphoreReceived(message));
        }
        try
        {
            if (message.ReplyRequested) emit(new RemaphoreNote($"Replying to {message.Hash[..12]} (exit code {exitCode?.ToString() ?? "none: NO_DATA"})."));
            await waiter.ReplyAsync(message, exitCode, reply, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException && (NatsFailures.IsNats(e) || e is RemoteOpsUnavailableException or RemoteOpsArgumentException or Identity.IdentityException))
        {
            emit(new RemaphoreWarning($"Could not reply to {message.Sender}: {e.Message}"));
        }
    }
}
