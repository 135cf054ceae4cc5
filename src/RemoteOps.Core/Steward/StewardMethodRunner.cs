using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using RemoteOps.Messaging;
using RemoteOps.Processes;

namespace RemoteOps.Steward;

/// <summary>What a method ended with: the final status and the result fields of its record.</summary>
public sealed record MethodOutcome(StewardStatus Status, string Output = "", string Error = "", int? ExitCode = null, long Dropped = 0, long Chunks = 0);

/// <summary>Output capped at a byte budget, with a marker that says how much was dropped.</summary>
public static class StewardOutputCap
{
    public static string Marker(long dropped) => $"\n[steward: {dropped} bytes dropped beyond max_output]";

    /// <summary>The text cut to <paramref name="max"/> UTF-8 bytes (plus the marker when cut), and the bytes dropped
    /// (<paramref name="alreadyDropped"/> included).</summary>
    public static (string Text, long Dropped) Apply(string text, int max, long alreadyDropped = 0)
    {
        var bytes = Encoding.UTF8.GetByteCount(text);
        long dropped = alreadyDropped;
        if (bytes > max)
        {
            var raw = Encoding.UTF8.GetBytes(text);
            // Back off to a character boundary so the kept part stays valid UTF-8.
            var cut = max;
            while (cut > 0 && (raw[cut] & 0xC0) == 0x80) cut--;
            text = Encoding.UTF8.GetString(raw, 0, cut);
            dropped += bytes - cut;
        }
        return dropped > 0 ? (text + Marker(dropped), dropped) : (text, 0);
    }
}

/// <summary>The methods that run as part of the agent (streaming, HTTP) and the output caps they share. CliCommand is
/// the agent's (it is detached, see <see cref="DetachedCommand"/>); the Op methods and Ping/Hello too.</summary>
internal sealed class StewardMethodRunner(int outputCap, Func<long, string, CancellationToken, Task> publishChunk)
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { AllowAutoRedirect = true, MaxAutomaticRedirections = 5 })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public int OutputCap { get; } = outputCap;

    /// <summary>CliCommandCont: the command's stdout and stderr lines as numbered chunks while it runs, for at most
    /// <paramref name="timeout"/>; reaching it is its normal end (Succeeded), and its whole tree is killed then.</summary>
    public async Task<MethodOutcome> StreamCommandAsync(IReadOnlyList<string> args, TimeSpan timeout, CancellationToken ct)
    {
        if (args.Count == 0 || string.IsNullOrWhiteSpace(args[0])) return new MethodOutcome(StewardStatus.Failed, Error: "CliCommandCont needs a program (methodArgs[0]).");
        if (!ExecutableLocator.TryResolve(args[0], null, out var path, out var problem)) return new MethodOutcome(StewardStatus.Failed, Error: problem, ExitCode: 127);
        var lines = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
        var psi = ProcessTree.StartInfo(path, args.Skip(1), null, new Dictionary<string, string>());
        ProcessTree tree;
        try
        {
            tree = ProcessTree.Start(psi, p =>
            {
                p.OutputDataReceived += (_, e) => { if (e.Data is not null) lines.Writer.TryWrite(e.Data); };
                p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lines.Writer.TryWrite(e.Data); };
            });
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return new MethodOutcome(StewardStatus.Failed, Error: $"Cannot start '{args[0]}': {e.Message}", ExitCode: 127);
        }
        using (tree)
        {
            tree.Process.StandardInput.Close();
            tree.Process.BeginOutputReadLine();
            tree.Process.BeginErrorReadLine();
            var collected = new Collector(OutputCap);
            var pump = PumpAsync(lines.Reader, collected, ct);
            var ended = await tree.WaitOrKillAsync(timeout, ct).ConfigureAwait(false);
            lines.Writer.TryComplete();
            await pump.ConfigureAwait(false);
            var (output, dropped) = collected.Result();
            if (!ended) return new MethodOutcome(StewardStatus.Succeeded, output, ct.IsCancellationRequested ? "stopped: the agent is shutting down" : "", null, dropped, collected.Sequence);
            var code = tree.ExitCode;
            return new MethodOutcome(code == 0 ? StewardStatus.Succeeded : StewardStatus.Failed, output, code == 0 ? "" : $"exit code {code}", code, dropped, collected.Sequence);
        }
    }

    /// <summary>TailFile: the lines appended to a file for <paramref name="timeout"/> (from its end when the method
    /// starts; a file that shrinks is read again from its start), then Succeeded.</summary>
    public async Task<MethodOutcome> TailFileAsync(IReadOnlyList<string> args, TimeSpan timeout, CancellationToken ct, long? from = null)
    {
        if (args.Count == 0 || string.IsNullOrWhiteSpace(args[0])) return new MethodOutcome(StewardStatus.Failed, Error: "TailFile needs a file (methodArgs[0]).");
        var file = args[0];
        if (!File.Exists(file)) return new MethodOutcome(StewardStatus.Failed, Error: $"No such file: {file}");
        var collected = new Collector(OutputCap);
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        try
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            long position = from is { } start && start <= stream.Length ? start : stream.Length;
            var pending = new List<byte>();
            var buffer = new byte[64 * 1024];
            while (!ct.IsCancellationRequested)
            {
                if (stream.Length < position) position = 0; // truncated or rotated in place
                stream.Position = position;
                int n;
                while ((n = stream.Read(buffer)) > 0)
                {
                    position += n;
                    for (int i = 0; i < n; i++)
                    {
                        if (buffer[i] == (byte)'\n')
                        {
                            var line = Encoding.UTF8.GetString(pending.ToArray()).TrimEnd('\r');
                            pending.Clear();
                            await EmitAsync(collected, line, ct).ConfigureAwait(false);
                        }
                        else if (pending.Count < OutputCap) pending.Add(buffer[i]);
                    }
                }
                var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
                if (Stopwatch.GetTimestamp() >= deadline) break;
                // A file has no change event that works everywhere (network file systems, rotation): poll it.
                await Task.Delay(left < TimeSpan.FromMilliseconds(100) ? left : TimeSpan.FromMilliseconds(100), ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var (o, d) = collected.Result();
            return new MethodOutcome(StewardStatus.Failed, o, $"Cannot read {file}: {e.Message}", null, d, collected.Sequence);
        }
        var (output, dropped) = collected.Result();
        return new MethodOutcome(StewardStatus.Succeeded, output, "", null, dropped, collected.Sequence);
    }

    /// <summary>HttpGet: the body of an http(s) URL, capped, within <paramref name="timeout"/>. ExitCode is the HTTP
    /// status; a status other than 2xx is Failed.</summary>
    public async Task<MethodOutcome> HttpGetAsync(IReadOnlyList<string> args, TimeSpan timeout, CancellationToken ct)
    {
        if (args.Count == 0 || !Uri.TryCreate(args[0], UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            return new MethodOutcome(StewardStatus.Failed, Error: "HttpGet needs an http or https URL (methodArgs[0]).");
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            using var response = await Http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cts.Token).ConfigureAwait(false);
            await using var body = await response.Content.ReadAsStreamAsync(cts.Token).ConfigureAwait(false);
            var kept = new MemoryStream();
            var buffer = new byte[64 * 1024];
            long dropped = 0;
            int n;
            while ((n = await body.ReadAsync(buffer, cts.Token).ConfigureAwait(false)) > 0)
            {
                var keep = (int)Math.Min(n, OutputCap - kept.Length);
                if (keep > 0) kept.Write(buffer, 0, keep);
                dropped += n - keep;
            }
            var (text, total) = StewardOutputCap.Apply(Encoding.UTF8.GetString(kept.ToArray()), OutputCap, dropped);
            var code = (int)response.StatusCode;
            return response.IsSuccessStatusCode
                ? new MethodOutcome(StewardStatus.Succeeded, text, "", code, total)
                : new MethodOutcome(StewardStatus.Failed, text, $"HTTP {code} {response.ReasonPhrase}", code, total);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new MethodOutcome(StewardStatus.TimedOut, Error: $"No complete answer from {uri} within methodTimeout {Config.Duration.Format(timeout)}.");
        }
        catch (HttpRequestException e)
        {
            return new MethodOutcome(StewardStatus.Failed, Error: $"GET {uri}: {e.Message}");
        }
    }

    private async Task PumpAsync(ChannelReader<string> lines, Collector collected, CancellationToken ct)
    {
        await foreach (var line in lines.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            await EmitAsync(collected, line, ct).ConfigureAwait(false);
    }

    private async Task EmitAsync(Collector collected, string line, CancellationToken ct)
    {
        var sequence = collected.Add(line);
        await publishChunk(sequence, line, ct).ConfigureAwait(false);
    }

    /// <summary>The lines of a stream, numbered, kept up to the cap for the final record.</summary>
    private sealed class Collector(int cap)
    {
        private readonly StringBuilder _text = new();
        private long _bytes;
        private long _dropped;
        public long Sequence { get; private set; }

        public long Add(string line)
        {
            var size = Encoding.UTF8.GetByteCount(line) + 1;
            if (_bytes + size <= cap) { _text.Append(line).Append('\n'); _bytes += size; }
            else _dropped += size;
            return ++Sequence;
        }

        public (string, long) Result() => _dropped > 0 ? (_text + StewardOutputCap.Marker(_dropped), _dropped) : (_text.ToString(), 0);
    }
}
