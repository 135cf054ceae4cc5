using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace RemoteOps.Remaphore;

/// <summary>The result of running a command for a message: what goes back in the reply.</summary>
public sealed record RemaphoreCommandResult(int ExitCode, string Output, string? Error);

/// <summary>Runs the waiter's command as the original does (src/subprocess/exec.go): <c>cmd [args...] $verb $payload</c>
/// with REMAPHORE_SENDER, _VERB, _TIME (unix seconds), _UUID (hex), _MSG and, when our destination matched,
/// REMAPHORE_DESTMATCH. Unlike the original, which gives the command only those variables, the command also inherits
/// our environment (PATH and the rest). Output is stdout and stderr combined, each in order (the original shares one pipe; here they are two, so how the two interleave is approximate).</summary>
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

    public static async Task<RemaphoreCommandResult> RunAsync(IReadOnlyList<string> command, RemaphoreMessage message, string? workingDirectory, CancellationToken cancellationToken)
    {
        if (command.Count == 0 || string.IsNullOrEmpty(command[0])) throw new RemaphoreArgumentException("The command is empty.");
        var psi = new ProcessStartInfo(command[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var a in command.Skip(1)) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add(message.Verb);
        psi.ArgumentList.Add(message.Payload);
        foreach (var (k, v) in Environment(message)) psi.Environment[k] = v;

        using var process = new Process { StartInfo = psi };
        try
        {
            process.Start();
        }
        catch (Exception e) when (e is Win32Exception or InvalidOperationException or FileNotFoundException)
        {
            // The original reports exit code -1 when the command cannot start.
            return new RemaphoreCommandResult(-1, "", $"Cannot start '{command[0]}': {e.Message}");
        }
        process.StandardInput.Close();
        var output = new MemoryStream();
        var gate = new object();
        async Task Pump(Stream s)
        {
            var buffer = new byte[8192];
            int n;
            while ((n = await s.ReadAsync(buffer, CancellationToken.None).ConfigureAwait(false)) > 0)
                lock (gate)
                    if (output.Length < MaxOutputBytes) output.Write(buffer, 0, (int)Math.Min(n, MaxOutputBytes - output.Length));
        }
        var pumps = Task.WhenAll(Pump(process.StandardOutput.BaseStream), Pump(process.StandardError.BaseStream));
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            await pumps.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw;
        }
        string text;
        lock (gate) text = Encoding.UTF8.GetString(output.GetBuffer(), 0, (int)output.Length);
        return new RemaphoreCommandResult(process.ExitCode, text, null);
    }
}
