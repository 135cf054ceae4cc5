using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using RemoteOps.Processes;

namespace RemoteOps.Steward;

/// <summary>PwshScript on the node: the signed scriptblock text (args[0]) and its serialized arguments (args[1], see
/// <see cref="StewardPwsh.Payload"/>) run in a pwsh worker process of their own, one per script, so that an exit, a
/// crash or a runaway script cannot touch the agent. The worker's bootstrap (<see cref="Bootstrap"/>) serializes each
/// output object with PSSerializer (CliXml, its default depth) as it is written, and each error, warning, verbose, debug
/// and information record, tagged; each becomes one numbered chunk, "&lt;tag&gt;:&lt;CliXml&gt;" (tags in
/// <see cref="Tags"/>).</summary>
public static class StewardPwsh
{
    /// <summary>The chunk tags: O an output object, E a non-terminating error, T the terminating error (one at most),
    /// W/V/D a warning/verbose/debug message (a string), I an information record.</summary>
    public const string Tags = "OETWVDI";

    /// <summary>The payload (args[1]) is JSON: <c>{ "args": [CliXml...], "using": { name: CliXml }, "input": [CliXml...],
    /// "hasInput": bool }</c>; a $using:name in the script was rewritten by the sender to
    /// <c>$__steward_using_&lt;name&gt;</c>, which the bootstrap defines.</summary>
    public const string UsingPrefix = "__steward_using_";

    /// <summary>The most a script and its serialized arguments may take together: well within a signed command's wire
    /// limit (<see cref="StewardCodec.MaxWireBytes"/>), which a node drops unread past.</summary>
    public const int MaxScriptBytes = StewardCodec.MaxWireBytes / 2;

    /// <summary>A StewardArgumentException when the script and payload would not travel.</summary>
    public static void CheckSize(string script, string payload)
    {
        var bytes = (long)Encoding.UTF8.GetByteCount(script) + Encoding.UTF8.GetByteCount(payload);
        if (bytes > MaxScriptBytes)
            throw new StewardArgumentException($"The script with its arguments, $using: values and input is {bytes} bytes serialized; at most {MaxScriptBytes} travel in one message. Send less input, or let the node read it.");
    }

    /// <summary>The PwshScript request for <paramref name="targets"/>: the script text (its $using: already rewritten)
    /// and the payload of the caller's values, each given as CliXml; checked to travel in one message.</summary>
    public static StewardRequest Request(IReadOnlyList<string> targets, string script, IEnumerable<string> args,
        IReadOnlyDictionary<string, string> usingValues, IEnumerable<string> input, bool hasInput,
        TimeSpan? ackTimeout, int? retries, TimeSpan? methodTimeout)
    {
        var payload = JsonSerializer.Serialize(new { args = args.ToArray(), @using = usingValues, input = input.ToArray(), hasInput });
        CheckSize(script, payload);
        return new StewardRequest
        {
            ToNodes = targets, Method = StewardMethod.PwshScript, MethodArgs = [script, payload],
            AckTimeout = ackTimeout, Retries = retries, MethodTimeout = methodTimeout,
        };
    }

    /// <summary>A string as PSSerializer writes it (for the agent's own records: a worker's stray console lines, the
    /// dropped-records warning).</summary>
    public static string CliXmlString(string text)
    {
        var b = new StringBuilder("<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\"><S>");
        foreach (var ch in text)
        {
            switch (ch)
            {
                case '<': b.Append("&lt;"); break;
                case '>': b.Append("&gt;"); break;
                case '&': b.Append("&amp;"); break;
                // CliXml's own escape for characters XML cannot carry, and for '_' that starts one.
                case '_': b.Append("_x005F_"); break;
                case < ' ' or (>= '\uFFFE'): b.Append($"_x{(int)ch:X4}_"); break;
                default: b.Append(ch); break;
            }
        }
        return b.Append("</S></Objs>").ToString();
    }

    /// <summary>The worker's command line: <paramref name="configured"/> (steward.pwsh_command) when set, else the pwsh
    /// running this process (pwsh itself, or dotnet with pwsh.dll), else pwsh from PATH. False with a problem that says
    /// how to fix it.</summary>
    public static bool TryLocateWorker(IReadOnlyList<string>? configured, out string program, out IReadOnlyList<string> arguments, out string problem)
    {
        arguments = [];
        problem = "";
        if (configured is { Count: > 0 })
        {
            arguments = [.. configured.Skip(1)];
            if (ExecutableLocator.TryResolve(configured[0], null, out var resolved, out var p) && resolved is not null) { program = resolved; return true; }
            program = "";
            problem = $"steward.pwsh_command: {p}";
            return false;
        }
        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self).Equals("pwsh", StringComparison.OrdinalIgnoreCase))
        {
            program = self;
            return true;
        }
        if (self is not null && Assembly.GetEntryAssembly() is { } entry && entry.GetName().Name == "pwsh" && File.Exists(entry.Location))
        {
            program = self; // dotnet, hosting pwsh.dll (a dotnet tool install)
            arguments = [entry.Location];
            return true;
        }
        if (ExecutableLocator.Find(OperatingSystem.IsWindows() ? "pwsh.exe" : "pwsh") is { } found)
        {
            program = found;
            return true;
        }
        program = "";
        problem = "no pwsh to run PwshScript: install PowerShell 7 on this node (pwsh on PATH), run the agent in pwsh, or set steward.pwsh_command (e.g. [dotnet, pwsh] or [/opt/microsoft/powershell/7/pwsh]) in its config.";
        return false;
    }

    /// <summary>Runs the script in a worker of <paramref name="pool"/> (a warm one when one waits) and streams its
    /// records through <paramref name="publishChunk"/>, at most <paramref name="cap"/> bytes of them (later records are
    /// dropped and counted in one last warning); the worker is used for this script only and killed after it; its whole
    /// tree is killed at <paramref name="timeout"/> (TimedOut) or when <paramref name="ct"/> is cancelled.</summary>
    public static async Task<MethodOutcome> RunAsync(StewardPwshPool pool, IReadOnlyList<string> args, int cap, TimeSpan timeout,
        Func<long, string, CancellationToken, Task> publishChunk, CancellationToken ct)
    {
        if (args.Count is 0 or > 2 || string.IsNullOrWhiteSpace(args[0]))
            return new MethodOutcome(StewardStatus.Failed, Error: "PwshScript needs the script text (methodArgs[0]) and optionally its serialized arguments (methodArgs[1]).");
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var nonce = Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
        if (JobLine(nonce, args[0], args.Count > 1 ? args[1] : null, out var badPayload) is not { } job)
            return new MethodOutcome(StewardStatus.Failed, Error: badPayload);
        StewardPwshPool.NoteActivity();
        if (pool.Take(out var problem) is not { } worker)
            return new MethodOutcome(StewardStatus.Failed, Error: problem, ExitCode: 127);
        var recycled = false;
        try
        {
            var records = new Records(nonce, cap, publishChunk);
            var readyOrEnd = await WaitReadyAsync(worker, Remaining(deadline), ct).ConfigureAwait(false);
            if (readyOrEnd is false && !worker.Tree.HasExited)
            {
                await worker.KillAsync().ConfigureAwait(false);
                recycled = true;
                pool.Fill();
                return ct.IsCancellationRequested
                    ? new MethodOutcome(StewardStatus.Failed, "0 object(s)", "stopped: the agent is shutting down")
                    : new MethodOutcome(StewardStatus.TimedOut, "0 object(s)", $"PwshScript's worker did not start within methodTimeout {Config.Duration.Format(timeout)}; it was killed.");
            }
            if (readyOrEnd is null)
            {
                // Its output ended before it was ready: it is exiting (a broken pwsh, a bad pwsh_command argument).
                try { await worker.Tree.Exited.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(false); } catch (TimeoutException) { }
                var err = worker.Stderr;
                var exited = worker.Tree.HasExited ? worker.Tree.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?";
                return new MethodOutcome(StewardStatus.Failed, "0 object(s)", $"the pwsh worker exited (code {exited}) before it could take the script{(err.Length > 0 ? ": " + Truncate(err, MaxErrorChars) : ".")}", 127);
            }
            try
            {
                await worker.SendJobAsync(job).ConfigureAwait(false);
            }
            catch (IOException) { /* the worker died meanwhile; its exit code says so below */ }
            // The end line (Z, or M and T for a terminating error) answers at once; the worker's own exit (and its
            // runspace's teardown) is not waited for: the worker is killed in the background.
            var pump = Task.Run(async () =>
            {
                await foreach (var line in worker.Lines.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
                    if (await records.AddAsync(line, ct).ConfigureAwait(false)) return true;
                return false;
            }, CancellationToken.None);
            var ended = await WaitEndAsync(worker, pump, Remaining(deadline), ct).ConfigureAwait(false);
            int? code = null;
            if (ended == End.Answered)
            {
                code = records.Terminating is null ? 0 : 1;
            }
            else if (ended == End.Exited)
            {
                // The streams are read to their end before the exit counts as complete.
                await worker.Tree.Process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                worker.Lines.Writer.TryComplete();
                await pump.ConfigureAwait(false);
                code = worker.Tree.ExitCode;
            }
            else
            {
                await worker.KillAsync().ConfigureAwait(false);
                recycled = true;
                pool.Fill();
                worker.Lines.Writer.TryComplete();
                await pump.ConfigureAwait(false);
            }
            await records.FinishAsync(ct).ConfigureAwait(false);
            var summary = $"{records.Objects} object(s)";
            if (code is not { } exit)
                return ct.IsCancellationRequested
                    ? new MethodOutcome(StewardStatus.Failed, summary, "stopped: the agent is shutting down", null, records.Dropped, records.Sequence)
                    : new MethodOutcome(StewardStatus.TimedOut, summary, $"PwshScript ran past methodTimeout {Config.Duration.Format(timeout)}; its worker and everything it started were killed.", null, records.Dropped, records.Sequence);
            if (records.Terminating is { } message)
                return new MethodOutcome(StewardStatus.Failed, summary, message, exit, records.Dropped, records.Sequence);
            if (exit != 0)
            {
                var err = worker.Stderr;
                return new MethodOutcome(StewardStatus.Failed, summary, $"the script exited with code {exit}{(err.Length > 0 ? ": " + Truncate(err, MaxErrorChars) : ".")}", exit, records.Dropped, records.Sequence);
            }
            return new MethodOutcome(StewardStatus.Succeeded, summary, "", 0, records.Dropped, records.Sequence);
        }
        finally
        {
            StewardPwshPool.NoteActivity();
            if (!recycled) pool.Recycle(worker);
        }
    }

    private enum End { Answered, Exited, Killed }

    private static TimeSpan Remaining(long deadline)
    {
        var left = (deadline - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency;
        return left > 0 ? TimeSpan.FromSeconds(left) : TimeSpan.Zero;
    }

    /// <summary>True when the worker is ready, null when it exited first, false at the deadline or cancellation.</summary>
    private static async Task<bool?> WaitReadyAsync(PwshWorker worker, TimeSpan timeout, CancellationToken ct)
    {
        try { return await worker.Ready.WaitAsync(timeout, ct).ConfigureAwait(false) ? true : null; }
        catch (TimeoutException) { return false; }
        catch (OperationCanceledException) { return false; }
    }

    private static async Task<End> WaitEndAsync(PwshWorker worker, Task<bool> pump, TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            var first = await Task.WhenAny(pump, worker.Tree.Exited).WaitAsync(timeout, ct).ConfigureAwait(false);
            if (first == pump && pump.Result) return End.Answered;
            // The lines ended without an end line: the worker is exiting (exit N, a crash).
            await worker.Tree.Exited.WaitAsync(timeout, ct).ConfigureAwait(false);
            return End.Exited;
        }
        catch (TimeoutException) { return End.Killed; }
        catch (OperationCanceledException) { return End.Killed; }
    }

    /// <summary>The most of a terminating error's message the node's record keeps.</summary>
    internal const int MaxErrorChars = 4000;

    internal static string Truncate(string s, int max) => s.Length <= max ? s : s[..max] + "…";

    /// <summary>The worker's lines turned into numbered chunks, capped: all the chunks together, the terminating error
    /// and the dropped-records warning included, stay within <c>cap</c> bytes. Output and stream records may use the cap
    /// but a reserve (<see cref="Reserve"/>); once one does not fit, it and every later one are dropped (past the cap the
    /// objects stop) and counted. The terminating error always travels: whole when it fits, else as a compact error
    /// with its message cut to fit.</summary>
    internal sealed class Records(string nonce, int cap, Func<long, string, CancellationToken, Task> publish)
    {
        /// <summary>Room always left for the dropped-records warning.</summary>
        internal const int WarningRoom = 256;
        private long _bytes;
        private long _droppedRecords;
        private bool _full;
        public long Sequence { get; private set; }
        public long Objects { get; private set; }
        public long Dropped { get; private set; }
        public string? Terminating { get; private set; }
        /// <summary>Kept for the terminating error and the warning: a quarter of the cap, at most 4 KiB.</summary>
        internal int Reserve => Math.Min(cap / 4, 4096);

        /// <summary>Takes one line of the worker's stdout; true for its end line (Z: the script is done).</summary>
        public async Task<bool> AddAsync(string line, CancellationToken ct)
        {
            string tag, xml;
            if (line.Length > nonce.Length + 1 && line.StartsWith(nonce, StringComparison.Ordinal) && line[nonce.Length + 1] == ':')
            {
                tag = line[nonce.Length].ToString();
                try { xml = Encoding.UTF8.GetString(Convert.FromBase64String(line[(nonce.Length + 2)..])); }
                catch (FormatException) { return false; }
                if (tag == "M") { Terminating ??= Truncate(xml, MaxErrorChars); return false; }
                if (tag == "Z") return true;
                if (!Tags.Contains(tag, StringComparison.Ordinal)) return false;
            }
            else
            {
                // Written to the console directly ([Console]::WriteLine, a native program not piped): a string object.
                tag = "O";
                xml = CliXmlString(line);
            }
            var chunk = tag + ":" + xml;
            var size = Encoding.UTF8.GetByteCount(chunk);
            if (tag == "T")
            {
                // What the sender reports for this node: it travels, within what is left.
                var room = cap - _bytes - WarningRoom;
                if (size > room)
                {
                    chunk = "T:" + CompactError(Terminating ?? "", (int)Math.Max(0, room - CompactErrorOverhead - 2));
                    size = Encoding.UTF8.GetByteCount(chunk);
                    if (size > room) { _droppedRecords++; Dropped += size; return false; }
                }
            }
            else if (_full || _bytes + size > cap - Reserve)
            {
                _full = true;
                _droppedRecords++;
                Dropped += size;
                return false;
            }
            _bytes += size;
            if (tag == "O") Objects++;
            await publish(++Sequence, chunk, ct).ConfigureAwait(false);
            return false;
        }

        public async Task FinishAsync(CancellationToken ct)
        {
            if (_droppedRecords == 0) return;
            await publish(++Sequence, "W:" + CliXmlString($"{_droppedRecords} object(s) or stream record(s) ({Dropped} bytes) dropped beyond max_output."), ct).ConfigureAwait(false);
        }
    }

    private const string CompactErrorHead = "<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\"><Obj RefId=\"0\"><TN RefId=\"0\"><T>System.Management.Automation.PSCustomObject</T><T>System.Object</T></TN><MS><S N=\"Message\">";
    private const string CompactErrorTail = "</S></MS></Obj></Objs>";
    private static readonly int CompactErrorOverhead = Encoding.UTF8.GetByteCount(CompactErrorHead + CompactErrorTail);

    /// <summary>A terminating error as CliXml with only its message (cut so the whole is at most
    /// <paramref name="maxMessageBytes"/> + the markup's bytes): what travels when the worker's full record does not fit.</summary>
    internal static string CompactError(string message, int maxMessageBytes)
    {
        var inner = CliXmlString(message);
        inner = inner[(inner.IndexOf("<S>", StringComparison.Ordinal) + 3)..inner.LastIndexOf("</S>", StringComparison.Ordinal)];
        if (Encoding.UTF8.GetByteCount(inner) > maxMessageBytes)
        {
            // Cut on a whole escape or character: the longest prefix of the message whose escaped form fits.
            var lo = 0; var hi = message.Length;
            while (lo < hi)
            {
                var mid = (lo + hi + 1) / 2;
                if (Escaped(message[..mid] + "…") <= maxMessageBytes) lo = mid; else hi = mid - 1;
            }
            var cut = lo > 0 && char.IsHighSurrogate(message[lo - 1]) ? lo - 1 : lo;
            inner = maxMessageBytes >= Escaped("…") ? CliXmlBody(message[..cut] + "…") : "";
        }
        return CompactErrorHead + inner + CompactErrorTail;

        static int Escaped(string m) => Encoding.UTF8.GetByteCount(CliXmlBody(m));
    }

    private static string CliXmlBody(string text)
    {
        var x = CliXmlString(text);
        return x[(x.IndexOf("<S>", StringComparison.Ordinal) + 3)..x.LastIndexOf("</S>", StringComparison.Ordinal)];
    }

    /// <summary>The line a worker reads for one job (see <see cref="JobLine"/>) for <paramref name="script"/> and its
    /// payload (args[1], JSON as <see cref="Request"/> writes it; null or empty: no arguments); null with the problem when
    /// the payload is not that JSON.</summary>
    /// <remarks>The agent reads the payload's JSON (System.Text.Json, in process) and hands the worker space-separated
    /// base64 fields, which it splits without a JSON parser: <c>&lt;nonce&gt; &lt;script&gt; &lt;I|-&gt;</c> then
    /// <c>a&lt;arg&gt;</c>, <c>u&lt;name&gt;.&lt;value&gt;</c> and <c>i&lt;input&gt;</c> tokens (CliXml, UTF-8).</remarks>
    public static string? JobLine(string nonce, string script, string? payload, out string problem)
    {
        problem = "";
        var line = new StringBuilder(nonce).Append(' ').Append(B64(script));
        var tokens = new StringBuilder();
        var hasInput = false;
        if (!string.IsNullOrEmpty(payload))
        {
            try
            {
                using var doc = JsonDocument.Parse(payload);
                if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new FormatException("not a JSON object");
                foreach (var p in doc.RootElement.EnumerateObject())
                {
                    switch (p.Name)
                    {
                        case "args":
                            foreach (var a in Array(p.Value))
                                if (a.ValueKind != JsonValueKind.Null) tokens.Append(" a").Append(B64(Text(a)));
                            break;
                        case "using":
                            if (p.Value.ValueKind == JsonValueKind.Null) break;
                            if (p.Value.ValueKind != JsonValueKind.Object) throw new FormatException("'using' is not an object");
                            foreach (var u in p.Value.EnumerateObject())
                                tokens.Append(" u").Append(B64(u.Name)).Append('.').Append(B64(Text(u.Value)));
                            break;
                        case "input":
                            foreach (var i in Array(p.Value)) tokens.Append(" i").Append(B64(Text(i)));
                            break;
                        case "hasInput":
                            hasInput = p.Value.ValueKind switch
                            {
                                JsonValueKind.True => true, JsonValueKind.False or JsonValueKind.Null => false,
                                _ => throw new FormatException("'hasInput' is not true or false"),
                            };
                            break;
                    }
                }
            }
            catch (Exception e) when (e is JsonException or FormatException)
            {
                problem = $"PwshScript's methodArgs[1] is not its payload (JSON: {{ \"args\": [CliXml...], \"using\": {{ name: CliXml }}, \"input\": [CliXml...], \"hasInput\": bool }}): {e.Message}";
                return null;
            }
        }
        return line.Append(hasInput ? " I" : " -").Append(tokens).ToString();

        static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
        static JsonElement.ArrayEnumerator Array(JsonElement e) => e.ValueKind == JsonValueKind.Array ? e.EnumerateArray()
            : e.ValueKind == JsonValueKind.Null ? default : throw new FormatException("'args' and 'input' are arrays of CliXml strings");
        static string Text(JsonElement e) => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new FormatException($"a {e.ValueKind} where CliXml (a string) was expected");
    }

    /// <summary>The throwaway jobs a new worker runs before it says it is ready (sent on its stdin ahead of the real job,
    /// read by the same code): every branch the job path takes (arguments, $using:, $input, each stream, a terminating
    /// error, the plain <c>{ 1 }</c>), so that PowerShell has parsed, compiled and bound it all for the types a job meets.
    /// Their output is written before the ready line and never read.</summary>
    public static IReadOnlyList<string> WarmJobs { get; } = BuildWarmJobs();

    private static string[] BuildWarmJobs()
    {
        const string one = "<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\"><I32>1</I32></Objs>";
        var full = JsonSerializer.Serialize(new { args = new[] { one }, @using = new Dictionary<string, string> { ["w"] = one }, input = System.Array.Empty<string>(), hasInput = false });
        var piped = JsonSerializer.Serialize(new { args = System.Array.Empty<string>(), @using = new Dictionary<string, string>(), input = new[] { one, one }, hasInput = true });
        var none = JsonSerializer.Serialize(new { args = System.Array.Empty<string>(), @using = new Dictionary<string, string>(), input = System.Array.Empty<string>(), hasInput = false });
        return
        [
            JobLine("warm", "param($a) $a; $" + UsingPrefix + "w; [pscustomobject]@{ A = $a; T = [datetime]::UtcNow }; 'text'; Write-Warning w; Write-Verbose v -Verbose; Write-Debug d -Debug; Write-Information i; Write-Error e; Get-Date", full, out _)!,
            JobLine("warm", "$input; [Console]::WriteLine('stray')", piped, out _)!,
            JobLine("warm", "throw 'x'", none, out _)!,
            JobLine("warm", "1", none, out _)!,
            JobLine("warm", "1", none, out _)!,
        ];
    }

    /// <summary>The worker's script (<c>$__stewardWarm</c>, the number of warm jobs, is set ahead of it): runs the warm
    /// jobs, says it is ready, reads one job line (<see cref="JobLine"/>), defines the $using: values, runs the script
    /// with its arguments (and $input when piped), and writes each record as it comes, one line each:
    /// &lt;nonce&gt;&lt;tag&gt;:&lt;base64 of UTF-8 CliXml&gt;. M carries the terminating error's message; Z the end.
    /// Warm and real jobs go through the same code with objects of the same types: PowerShell binds each call site to
    /// the types it first meets there, and every new binding is a compile the real job would wait for. After its end
    /// line the worker only waits to be killed (the agent kills it once the answer is out), so no teardown competes
    /// with the answer.</summary>
    public const string Bootstrap = """
        $__stewardOut = [Console]::Out
        $__stewardError = {
            param($r)
            $m = if ($r.ErrorDetails -and $r.ErrorDetails.Message) { $r.ErrorDetails.Message } else { [string] $r.Exception.Message }
            [pscustomobject] @{
                Message = $m; FullyQualifiedErrorId = [string] $r.FullyQualifiedErrorId; Category = [string] $r.CategoryInfo.Category
                TargetObject = [string] $r.TargetObject; ExceptionType = [string] $r.Exception.GetType().FullName
                ScriptStackTrace = [string] $r.ScriptStackTrace; PositionMessage = [string] $r.InvocationInfo.PositionMessage
            }
        }
        $__stewardSink = {
            process {
                $__stewardTag = 'O'
                $__stewardValue = $_
                if ($_ -is [System.Management.Automation.ErrorRecord]) { $__stewardTag = 'E'; $__stewardValue = & $__stewardError $_ }
                elseif ($_ -is [System.Management.Automation.WarningRecord]) { $__stewardTag = 'W'; $__stewardValue = $_.Message }
                elseif ($_ -is [System.Management.Automation.VerboseRecord]) { $__stewardTag = 'V'; $__stewardValue = $_.Message }
                elseif ($_ -is [System.Management.Automation.DebugRecord]) { $__stewardTag = 'D'; $__stewardValue = $_.Message }
                elseif ($_ -is [System.Management.Automation.InformationRecord]) {
                    $__stewardTag = 'I'; $__stewardValue = [pscustomobject] @{ MessageData = [string] $_.MessageData; Tags = [string[]] @($_.Tags); Source = [string] $_.Source }
                }
                $__stewardOut.WriteLine($__stewardNonce + $__stewardTag + ':' + [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes([System.Management.Automation.PSSerializer]::Serialize($__stewardValue))))
                $__stewardOut.Flush()
            }
        }
        $__stewardServe = {
            param([IO.TextReader] $Reader)
            $__stewardLine = $Reader.ReadLine()
            # The agent is gone (its end of the pipe closed): nothing to run.
            if ($null -eq $__stewardLine) { return -1 }
            $__stewardFields = $__stewardLine.Split(' ')
            $__stewardNonce = $__stewardFields[0]
            $__stewardCode = 0
            try {
                $__stewardArgXml = [System.Collections.Generic.List[string]]::new()
                $__stewardInputXml = [System.Collections.Generic.List[string]]::new()
                # Fields 0-2 are the nonce, the script and the input flag; the tagged ones follow.
                for ($__stewardAt = 3; $__stewardAt -lt $__stewardFields.Length; $__stewardAt++) {
                    $__stewardField = $__stewardFields[$__stewardAt]
                    if ($__stewardField.StartsWith('a')) { $__stewardArgXml.Add([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($__stewardField.Substring(1)))) }
                    elseif ($__stewardField.StartsWith('i')) { $__stewardInputXml.Add([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($__stewardField.Substring(1)))) }
                    elseif ($__stewardField.StartsWith('u')) {
                        $__stewardPair = $__stewardField.Substring(1).Split('.')
                        Set-Variable -Name ('__steward_using_' + [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($__stewardPair[0]))) -Value ([System.Management.Automation.PSSerializer]::Deserialize([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($__stewardPair[1]))))
                    }
                }
                $__stewardArgs = @(foreach ($__stewardItem in $__stewardArgXml) { [System.Management.Automation.PSSerializer]::Deserialize($__stewardItem) })
                $__stewardScript = [scriptblock]::Create([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($__stewardFields[1])))
                if ($__stewardFields[2] -eq 'I') {
                    $__stewardInput = @(foreach ($__stewardItem in $__stewardInputXml) { [System.Management.Automation.PSSerializer]::Deserialize($__stewardItem) })
                    $__stewardInput | & $__stewardScript @__stewardArgs 2>&1 3>&1 4>&1 5>&1 6>&1 | & $__stewardSink
                }
                else {
                    & $__stewardScript @__stewardArgs 2>&1 3>&1 4>&1 5>&1 6>&1 | & $__stewardSink
                }
            }
            catch {
                $__stewardOut.WriteLine($__stewardNonce + 'M:' + [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes([string] $_.Exception.Message)))
                $__stewardOut.WriteLine($__stewardNonce + 'T:' + [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes([System.Management.Automation.PSSerializer]::Serialize((& $__stewardError $_)))))
                $__stewardCode = 1
            }
            $__stewardOut.WriteLine($__stewardNonce + 'Z:')
            $__stewardOut.Flush()
            $__stewardCode
        }
        # The jobs come on stdin, read as UTF-8 whatever the console's encoding: the warm ones first, then the real one.
        $__stewardReader = [IO.StreamReader]::new([Console]::OpenStandardInput(), [Text.UTF8Encoding]::new($false), $false, 65536)
        for ($__stewardWarmed = 0; $__stewardWarmed -lt $__stewardWarm; $__stewardWarmed++) {
            if ((& $__stewardServe $__stewardReader) -eq -1) { exit 0 }
        }
        $Error.Clear()
        $__stewardOut.WriteLine('remoteops-steward-worker-ready')
        $__stewardOut.Flush()
        # The job is the only input: a script that reads the console sees its end, not a wait until methodTimeout.
        [Console]::SetIn([IO.TextReader]::Null)
        $__stewardCode = & $__stewardServe $__stewardReader
        if ($__stewardCode -eq -1) { exit 0 }
        # Answered: the agent kills this worker (and what its script left running) now; a worker whose agent is gone
        # ends by itself.
        [Threading.Thread]::Sleep(60000)
        exit $__stewardCode
        """;
}
