using RemoteOps.Config;
using RemoteOps.Processes;

namespace RemoteOps.Seaport;

/// <summary>seaport's <c>register NAME@VERSION -- COMMAND</c>: claims the port(s), runs the command with the port as its
/// last argument (and in PORT, PORT_&lt;NAME&gt;), registers once it listens, deregisters while it is down (ports stay
/// claimed), re-registers when it is back, and frees everything when stopped.</summary>
public static class SeaportServiceRunner
{
    public sealed record Options
    {
        public required SeaportRegistration Registration { get; init; }
        public required IReadOnlyList<string> Command { get; init; }
        public int MaxRestarts { get; init; } = 10;
        public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(30);
        public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(1);
        /// <summary>Cap of the doubling restart delay: 30 s, or the first delay when that is longer.</summary>
        public TimeSpan MaxBackoff => InitialBackoff > TimeSpan.FromSeconds(30) ? InitialBackoff : TimeSpan.FromSeconds(30);
        public string? WorkingDirectory { get; init; }
    }

    /// <summary>Runs until <paramref name="ct"/> is cancelled (returns normally) or the restart limit is reached
    /// (<see cref="SeaportCommandFailedException"/>).</summary>
    public static async Task RunAsync(RemoteOpsConfig config, Options options, Action<SeaportService> registered, Action<string> note,
        Action<string>? output, CancellationToken ct, Action<string>? warn = null)
    {
        var reserved = await SeaportRegistrar.ReserveAsync(config, options.Registration, ct).ConfigureAwait(false);
        var names = options.Registration.PortNames;
        var ports = names.Count == 0 ? new List<int> { reserved.Port } : names.Select(n => reserved.Ports[n]).ToList();
        // The first port is the last argument and $PORT; each named one is also $PORT_<NAME>; readiness is the first port.
        var named = names.Count == 0
            ? new List<KeyValuePair<string, int>> { new("port", ports[0]) }
            : names.Select((n, i) => new KeyValuePair<string, int>(n, ports[i])).ToList();
        var supervisor = new ProcessSupervisor(SupervisorOptions.ForPorts(options.Command, named) with
        {
            WorkingDirectory = options.WorkingDirectory,
            MaxRestarts = options.MaxRestarts,
            ReadyTimeout = options.ReadyTimeout,
            InitialBackoff = options.InitialBackoff,
            MaxBackoff = options.MaxBackoff,
        });
        var registration = options.Registration with { Id = reserved.Id, HostName = reserved.HostName, ClaimedPorts = ports, Port = null };
        var isRegistered = false;
        SupervisorEvent? gaveUp = null;
        Exception? fatal = null;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        CancellationTokenSource? registeringStop = null;
        Task registering = Task.CompletedTask;

        // Registers once the command is up. The registry being unreachable at that moment is no reason to kill a healthy
        // service: it is retried (1 s, doubling to 30 s) while the command runs. Anything else (a conflict, a rejected
        // identity) stops everything with that error.
        async Task RegisterUntilDoneAsync(CancellationToken token)
        {
            var delay = TimeSpan.FromSeconds(1);
            while (true)
            {
                try
                {
                    var service = await SeaportRegistrar.RegisterAsync(config, registration, token).ConfigureAwait(false);
                    Volatile.Write(ref isRegistered, true);
                    registered(service);
                    return;
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested) { return; }
                catch (Exception e) when (e is SeaportUnavailableException || SeaportStore.IsAvailabilityProblem(e))
                {
                    warn?.Invoke($"Could not register {reserved.Role} ({reserved.Id}) yet: {e.Message} Retrying in {Duration.Format(delay)}; the command keeps running.");
                }
                catch (Exception e)
                {
                    fatal = e;
                    stop.Cancel();
                    return;
                }
                try { await Task.Delay(delay, token).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
                delay = delay * 2 > TimeSpan.FromSeconds(30) ? TimeSpan.FromSeconds(30) : delay * 2;
            }
        }

        async Task StopRegisteringAsync()
        {
            registeringStop?.Cancel();
            await registering.ConfigureAwait(false);
            registeringStop?.Dispose();
            registeringStop = null;
        }

        try
        {
            await supervisor.RunAsync(async (e, token) =>
            {
                if (e.ReadyTimedOut) warn?.Invoke(e.Message + " Registering it anyway.");
                else note(e.Message);
                switch (e.Kind)
                {
                    case SupervisorEventKind.Ready:
                        registeringStop = CancellationTokenSource.CreateLinkedTokenSource(token);
                        registering = RegisterUntilDoneAsync(registeringStop.Token);
                        break;
                    case SupervisorEventKind.Exited:
                        await StopRegisteringAsync().ConfigureAwait(false);
                        if (Volatile.Read(ref isRegistered))
                        {
                            Volatile.Write(ref isRegistered, false);
                            await SeaportRegistrar.FreeQuietlyAsync(config, reserved.Id, token, keepClaims: true).ConfigureAwait(false);
                            note($"Deregistered {reserved.Id} while the command is down.");
                        }
                        break;
                    case SupervisorEventKind.GaveUp:
                        gaveUp = e;
                        break;
                }
            }, output, stop.Token).ConfigureAwait(false);
        }
        finally
        {
            // Stopped, gave up or failed: free the registration and its ports (bounded: Ctrl+C must stay prompt).
            await StopRegisteringAsync().ConfigureAwait(false);
            using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            if (Volatile.Read(ref isRegistered)) await SeaportRegistrar.FreeQuietlyAsync(config, reserved.Id, cleanup.Token).ConfigureAwait(false);
            await SeaportRegistrar.ReleaseAsync(config, reserved).ConfigureAwait(false);
        }
        if (fatal is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(fatal).Throw();
        if (gaveUp is not null) throw new SeaportCommandFailedException(gaveUp.Message);
    }
}

/// <summary>Start-SeaportService's command kept exiting: the restart limit was reached.</summary>
public sealed class SeaportCommandFailedException(string message) : Exception(message);
