using System.Collections.Concurrent;
using NATS.Client.Core;
using RemoteOps.Config;

namespace RemoteOps.Messaging;

/// <summary>One NATS connection per distinct connection settings, per process (so per PowerShell session),
/// reused across cmdlet calls: a loop of Send-Remaphore must not reconnect each time. Each connection comes with its
/// <see cref="ConnectionContext"/>, which owns everything tied to it (buckets, subscriptions, background loops) and
/// is shut down with it.</summary>
public static class ConnectionPool
{
    private static readonly ConcurrentDictionary<string, Lazy<ConnectionContext>> Contexts = new();
    private static int _exitHooked;

    /// <summary>How long a new call waits for a connection that is reconnecting.</summary>
    public static readonly TimeSpan ReconnectWait = TimeSpan.FromSeconds(5);

    /// <summary>Returns the shared, connected connection for this config.</summary>
    /// <exception cref="RemoteOpsConnectionException">The servers cannot be reached or refuse the credentials.</exception>
    public static async ValueTask<NatsConnection> GetAsync(RemoteOpsConfig config, CancellationToken cancellationToken = default) =>
        (await GetContextAsync(config, cancellationToken).ConfigureAwait(false)).Connection;

    /// <summary>Returns the context of the shared, connected connection for this config.</summary>
    /// <exception cref="RemoteOpsConnectionException">The servers cannot be reached or refuse the credentials.</exception>
    public static async ValueTask<ConnectionContext> GetContextAsync(RemoteOpsConfig config, CancellationToken cancellationToken = default)
    {
        var key = config.ConnectionKey;
        if (!Contexts.TryGetValue(key, out var lazy))
        {
            // Built outside the Lazy so that a bad seed file is reported (and not cached as a failure).
            var options = BuildOptions(config);
            lazy = Contexts.GetOrAdd(key, _ => new Lazy<ConnectionContext>(() => new ConnectionContext(new NatsConnection(options))));
            HookExit();
        }
        var context = lazy.Value;
        var connection = context.Connection;
        if (connection.ConnectionState == NatsConnectionState.Open) return context;
        if (connection.ConnectionState == NatsConnectionState.Reconnecting)
        {
            // Connected before and now reconnecting (server restart, network cut): a new call waits a bounded time,
            // then says so, rather than hanging until the server is back. Calls already under way carry on by themselves.
            try
            {
                await connection.ConnectAsync().AsTask().WaitAsync(ReconnectWait, cancellationToken).ConfigureAwait(false);
                return context;
            }
            catch (TimeoutException e)
            {
                throw new RemoteOpsConnectionException($"Not connected to NATS at {string.Join(", ", config.Servers)}: the connection is lost and still reconnecting after {ReconnectWait.TotalSeconds:0} s.", e);
            }
        }
        try
        {
            await connection.ConnectAsync().AsTask().WaitAsync(cancellationToken).ConfigureAwait(false);
            return context;
        }
        catch (Exception e) when (e is NatsException or TimeoutException or System.Net.Sockets.SocketException)
        {
            // A connection that never opened is not worth keeping: the next call starts afresh.
            if (Contexts.TryRemove(new KeyValuePair<string, Lazy<ConnectionContext>>(key, lazy)))
                await context.DisposeAsync().ConfigureAwait(false);
            throw new RemoteOpsConnectionException($"Cannot connect to NATS at {string.Join(", ", config.Servers)}: {e.Message}", e);
        }
    }

    /// <summary>Closes the shared connection for this config (or all of them), with its context: pending sends are
    /// confirmed (bounded), background loops stop, cached buckets and subscriptions are dropped. Returns how many were closed.</summary>
    public static async ValueTask<int> DisconnectAsync(RemoteOpsConfig? config = null)
    {
        var keys = config is null ? Contexts.Keys.ToArray() : new[] { config.ConnectionKey };
        int closed = 0;
        foreach (var key in keys)
        {
            if (Contexts.TryRemove(key, out var lazy) && lazy.IsValueCreated)
            {
                await lazy.Value.DisposeAsync().ConfigureAwait(false);
                closed++;
            }
        }
        return closed;
    }

    /// <summary>At process exit: one PING round trip (bounded) on every open connection with sends not yet confirmed,
    /// so a script that sends and exits does not lose its message.</summary>
    private static void HookExit()
    {
        if (Volatile.Read(ref _exitHooked) != 0 || Interlocked.Exchange(ref _exitHooked, 1) != 0) return;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            var pings = Contexts.Values.Where(l => l.IsValueCreated).Select(l => l.Value.ConfirmSendsAsync()).ToArray();
            try { Task.WaitAll(pings, TimeSpan.FromSeconds(5)); }
            catch (Exception) { /* exiting anyway */ }
        };
    }

    /// <summary>The first line of the file that looks like a seed ("S…"), so comments and a public-key line may surround it.</summary>
    private static string ReadSeed(string file)
    {
        try
        {
            var seed = File.ReadLines(file).Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith('S'))
                ?? throw new RemoteOpsConnectionException($"The nkey_seed_file '{file}' holds no NKey seed (a line starting with 'S').");
            using (NATS.NKeys.KeyPair.FromSeed(seed)) { } // validates the checksum now, with a clear message
            return seed;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RemoteOpsConnectionException($"Cannot use the nkey_seed_file '{file}': {e.Message}", e);
        }
        catch (Exception e) when (e is NATS.NKeys.NKeysException or ArgumentException or IndexOutOfRangeException)
        {
            // NATS.NKeys says "Invalid CRC", "Invalid Seed" or "Invalid base32 character"; say what a CRC error means.
            var why = e.Message.Contains("CRC", StringComparison.OrdinalIgnoreCase)
                ? "its checksum does not match (a mistyped or truncated seed)"
                : e.Message;
            throw new RemoteOpsConnectionException($"Cannot use the nkey_seed_file '{file}': not a valid NKey seed: {why}.", e);
        }
    }

    public static NatsOpts BuildOptions(RemoteOpsConfig config)
    {
        var auth = NatsAuthOpts.Default;
        if (!string.IsNullOrEmpty(config.Credentials)) auth = auth with { CredsFile = config.Credentials };
        if (!string.IsNullOrEmpty(config.NkeySeedFile))
        {
            // A seed file as `nk -gen user` writes it holds only the seed: derive the public key here.
            var seed = ReadSeed(config.NkeySeedFile);
            using var pair = NATS.NKeys.KeyPair.FromSeed(seed);
            auth = auth with { Seed = seed, NKey = pair.GetPublicKey() };
        }
        if (!string.IsNullOrEmpty(config.User)) auth = auth with { Username = config.User, Password = config.Password };
        if (!string.IsNullOrEmpty(config.Token)) auth = auth with { Token = config.Token };

        var tls = NatsTlsOpts.Default;
        if (config.Tls is { } t)
        {
            tls = tls with { CaFile = t.Ca, CertFile = t.Cert, KeyFile = t.Key, Mode = TlsMode.Require };
        }

        return NatsOpts.Default with
        {
            Url = string.Join(",", config.Servers),
            Name = "RemoteOps",
            AuthOpts = auth,
            TlsOpts = tls,
            InboxPrefix = config.InboxPrefix ?? NatsOpts.Default.InboxPrefix,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            // Keep trying while a server restarts; a cmdlet decides itself how long it waits.
            MaxReconnectRetry = -1,
            ReconnectWaitMin = TimeSpan.FromMilliseconds(200),
            ReconnectWaitMax = TimeSpan.FromSeconds(2),
        };
    }
}

/// <summary>NATS is unreachable or refused us: distinct from "nothing matched".</summary>
public sealed class RemoteOpsConnectionException(string message, Exception? inner = null) : RemoteOpsUnavailableException(message, inner);
