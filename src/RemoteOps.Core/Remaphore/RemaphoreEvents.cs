using RemoteOps.Messaging;

namespace RemoteOps.Remaphore;

/// <summary>What a waiter or a request reports, in order, for the cmdlet to write.</summary>
public abstract record RemaphoreEvent;

/// <summary>A verified message that matched the waiter's filters.</summary>
public sealed record RemaphoreReceived(RemaphoreMessage Message) : RemaphoreEvent;

/// <summary>A verified reply to a request.</summary>
public sealed record RemaphoreReplied(RemaphoreResponse Response) : RemaphoreEvent;

/// <summary>Something worth a -Verbose line: a dropped or skipped message, readiness, a latch looked up.</summary>
public sealed record RemaphoreNote(string Text) : RemaphoreEvent;

/// <summary>Something worth a warning: e.g. a reply that could not be sent.</summary>
public sealed record RemaphoreWarning(string Text) : RemaphoreEvent;

/// <summary>Bad arguments to a remaphore operation (a parameter error for the cmdlets).</summary>
public sealed class RemaphoreArgumentException(string message) : RemoteOpsArgumentException(message);
