using RemoteOps.Config;

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
        public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);
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
        var environment = new Dictionary<string, string> { ["PORT"] = ports[0].ToString(System.Globalization.CultureInfo.InvariantCulture) };
        for (int i = 0; i < names.Count; i++)
            environment["PORT_" + names[i].ToUpperInvariant().Replace('-', '_')] = ports[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
        var supervisor = new ProcessSupervisor(new SupervisorOptions(options.Command)
        {
            TrailingArguments = [ports[0].ToString(System.Globalization.CultureInfo.InvariantCulture)],
            Environment = environment,
            WorkingDirectory = options.WorkingDirectory,
            MaxRestarts = options.MaxRestarts,
            ReadyPort = ports[0],
            ReadyTimeout = options.ReadyTimeout,
            InitialBackoff = options.InitialBackoff,
            MaxBackoff = options.MaxBackoff,
        });
        var registration = options.Registration with { Id = reserved.Id, HostName = reserved.HostName, ClaimedPorts = ports, Port = null };
        bool isRegistered = false;
        SupervisorEvent? gaveUp = null;
        try
        {
            await supervisor.RunAsync(async (e, token) =>
            {
                if (e.ReadyTimedOut) warn?.Invoke(e.Message + " Registering it anyway.");
                else note(e.Message);
                switch (e.Kind)
                {
                    case SupervisorEventKind.Ready:
                        var service = await SeaportRegistrar.RegisterAsync(config, registration, token).ConfigureAwait(false);
                        isRegistered = true;
                        registered(service);
                        break;
                    case SupervisorEventKind.Exited when isRegistered:
                        isRegistered = false;
                        await SeaportRegistrar.FreeQuietlyAsync(config, reserved.Id, token, keepClaims: true).ConfigureAwait(false);
                        note($"Deregistered {reserved.Id} while the command is down.");
                        break;
                    case SupervisorEventKind.GaveUp:
                        gaveUp = e;
                        break;
                }
            }, output, ct).ConfigureAwait(false);
        }
        finally
        {
            // Stopped, gave up or failed: free the registration and its ports (bounded: Ctrl+C must stay prompt).
            using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            if (isRegistered) await SeaportRegistrar.FreeQuietlyAsync(config, reserved.Id, cleanup.Token).ConfigureAwait(false);
            await SeaportRegistrar.ReleaseAsync(config, reserved).ConfigureAwait(false);
        }
        if (gaveUp is not null) throw new SeaportCommandFailedException(gaveUp.Message);
    }
}

/// <summary>Start-SeaportService's command kept exiting: the restart limit was reached.</summary>
public sealed class SeaportCommandFailedException(string message) : Exception(message);
