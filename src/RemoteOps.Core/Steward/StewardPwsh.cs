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

    /// <summary>Runs the script in a new worker and streams its records through <paramref name="publishChunk"/>, at most
    /// <paramref name="cap"/> bytes of them (later records are dropped and counted in one last warning); the whole worker
    /// tree is killed at <paramref name="timeout"/> (TimedOut) or when <paramref name="ct"/> is cancelled.</summary>
    public static async Task<MethodOutcome> RunAsync(IReadOnlyList<string>? pwshCommand, IReadOnlyList<string> args, int cap, TimeSpan timeout,
        Func<long, string, CancellationToken, Task> publishChunk, CancellationToken ct)
    {
        if (args.Count is 0 or > 2 || string.IsNullOrWhiteSpace(args[0]))
            return new MethodOutcome(StewardStatus.Failed, Error: "PwshScript needs the script text (methodArgs[0]) and optionally its serialized arguments (methodArgs[1]).");
        if (!TryLocateWorker(pwshCommand, out var program, out var workerArgs, out var problem))
            return new MethodOutcome(StewardStatus.Failed, Error: problem, ExitCode: 127);

        var nonce = Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
        var job = JsonSerializer.Serialize(new Dictionary<string, string?> { ["nonce"] = nonce, ["script"] = args[0], ["payload"] = args.Count > 1 ? args[1] : null });
        var lines = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
        var stderr = new StringBuilder();
        var psi = ProcessTree.StartInfo(program,
            [.. workerArgs, "-NoLogo", "-NoProfile", "-NonInteractive", "-EncodedCommand", Convert.ToBase64String(Encoding.Unicode.GetBytes(Bootstrap))],
            null, new Dictionary<string, string>());
        psi.StandardInputEncoding = new UTF8Encoding(false);
        psi.StandardOutputEncoding = Encoding.UTF8;
        psi.StandardErrorEncoding = Encoding.UTF8;
        ProcessTree tree;
        try
        {
            tree = ProcessTree.Start(psi, p =>
            {
                p.OutputDataReceived += (_, e) => { if (e.Data is not null) lines.Writer.TryWrite(e.Data); };
                p.ErrorDataReceived += (_, e) => { lock (stderr) if (e.Data is not null && stderr.Length < 4096) stderr.AppendLine(e.Data); };
            });
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return new MethodOutcome(StewardStatus.Failed, Error: $"Cannot start the pwsh worker '{program}': {e.Message}", ExitCode: 127);
        }
        using (tree)
        {
            tree.Process.BeginOutputReadLine();
            tree.Process.BeginErrorReadLine();
            try
            {
                // Base64, so the worker reads it the same whatever its console's input encoding (Windows code pages).
                await tree.Process.StandardInput.WriteAsync(Convert.ToBase64String(Encoding.UTF8.GetBytes(job))).ConfigureAwait(false);
                tree.Process.StandardInput.Close();
            }
            catch (IOException) { /* the worker died at once; its exit code says so below */ }
            var records = new Records(nonce, cap, publishChunk);
            var pump = Task.Run(async () =>
            {
                await foreach (var line in lines.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
                    await records.AddAsync(line, ct).ConfigureAwait(false);
            });
            var ended = await tree.WaitOrKillAsync(timeout, ct).ConfigureAwait(false);
            lines.Writer.TryComplete();
            await pump.ConfigureAwait(false);
            await records.FinishAsync(ct).ConfigureAwait(false);
            var summary = $"{records.Objects} object(s)";
            if (!ended)
                return ct.IsCancellationRequested
                    ? new MethodOutcome(StewardStatus.Failed, summary, "stopped: the agent is shutting down", null, records.Dropped, records.Sequence)
                    : new MethodOutcome(StewardStatus.TimedOut, summary, $"PwshScript ran past methodTimeout {Config.Duration.Format(timeout)}; its worker and everything it started were killed.", null, records.Dropped, records.Sequence);
            var code = tree.ExitCode;
            if (records.Terminating is { } message)
                return new MethodOutcome(StewardStatus.Failed, summary, message, code, records.Dropped, records.Sequence);
            if (code != 0)
            {
                string err;
                lock (stderr) err = stderr.ToString().Trim();
                return new MethodOutcome(StewardStatus.Failed, summary, $"the script exited with code {code}{(err.Length > 0 ? ": " + err : ".")}", code, records.Dropped, records.Sequence);
            }
            return new MethodOutcome(StewardStatus.Succeeded, summary, "", 0, records.Dropped, records.Sequence);
        }
    }

    /// <summary>The worker's lines turned into numbered chunks, capped.</summary>
    internal sealed class Records(string nonce, int cap, Func<long, string, CancellationToken, Task> publish)
    {
        private long _bytes;
        private long _droppedRecords;
        public long Sequence { get; private set; }
        public long Objects { get; private set; }
        public long Dropped { get; private set; }
        public string? Terminating { get; private set; }

        public async Task AddAsync(string line, CancellationToken ct)
        {
            string tag, xml;
            if (line.Length > nonce.Length + 1 && line.StartsWith(nonce, StringComparison.Ordinal) && line[nonce.Length + 1] == ':')
            {
                tag = line[nonce.Length].ToString();
                try { xml = Encoding.UTF8.GetString(Convert.FromBase64String(line[(nonce.Length + 2)..])); }
                catch (FormatException) { return; }
                if (tag == "M") { Terminating ??= xml; return; }
                if (tag == "Z" || !Tags.Contains(tag, StringComparison.Ordinal)) return;
            }
            else
            {
                // Written to the console directly ([Console]::WriteLine, a native program not piped): a string object.
                tag = "O";
                xml = CliXmlString(line);
            }
            var chunk = tag + ":" + xml;
            var size = Encoding.UTF8.GetByteCount(chunk);
            // The terminating error always travels: it is what the sender reports for this node.
            if (tag != "T" && _bytes + size > cap) { _droppedRecords++; Dropped += size; return; }
            _bytes += size;
            if (tag == "O") Objects++;
            await publish(++Sequence, chunk, ct).ConfigureAwait(false);
        }

        public async Task FinishAsync(CancellationToken ct)
        {
            if (_droppedRecords == 0) return;
            await publish(++Sequence, "W:" + CliXmlString($"{_droppedRecords} object(s) or stream record(s) ({Dropped} bytes) dropped beyond max_output."), ct).ConfigureAwait(false);
        }
    }

    /// <summary>The worker's script: reads the job (base64 JSON on stdin), defines the $using: values, runs the script
    /// with its arguments (and $input when piped), and writes each record as it comes, one line each:
    /// &lt;nonce&gt;&lt;tag&gt;:&lt;base64 of UTF-8 CliXml&gt;. M carries the terminating error's message; Z the end.</summary>
    public const string Bootstrap = """
        $__stewardJob = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String([Console]::In.ReadToEnd().Trim())) | ConvertFrom-Json -AsHashtable
        $__stewardOut = [Console]::Out
        $__stewardEmit = {
            param([string] $Tag, $Value, [switch] $Raw)
            $xml = if ($Raw) { [string] $Value } else { [System.Management.Automation.PSSerializer]::Serialize($Value) }
            $__stewardOut.WriteLine($__stewardJob.nonce + $Tag + ':' + [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($xml)))
            $__stewardOut.Flush()
        }
        $__stewardError = {
            param($r)
            $m = if ($r.ErrorDetails -and $r.ErrorDetails.Message) { $r.ErrorDetails.Message } else { [string] $r.Exception.Message }
            [pscustomobject] @{
                Message = $m; FullyQualifiedErrorId = [string] $r.FullyQualifiedErrorId; Category = [string] $r.CategoryInfo.Category
                TargetObject = [string] $r.TargetObject; ExceptionType = [string] $r.Exception.GetType().FullName
                ScriptStackTrace = [string] $r.ScriptStackTrace; PositionMessage = [string] $r.InvocationInfo.PositionMessage
            }
        }
        $__stewardRecord = {
            param($r)
            if ($r -is [System.Management.Automation.ErrorRecord]) { & $__stewardEmit 'E' (& $__stewardError $r) }
            elseif ($r -is [System.Management.Automation.WarningRecord]) { & $__stewardEmit 'W' $r.Message }
            elseif ($r -is [System.Management.Automation.VerboseRecord]) { & $__stewardEmit 'V' $r.Message }
            elseif ($r -is [System.Management.Automation.DebugRecord]) { & $__stewardEmit 'D' $r.Message }
            elseif ($r -is [System.Management.Automation.InformationRecord]) {
                & $__stewardEmit 'I' ([pscustomobject] @{ MessageData = [string] $r.MessageData; Tags = [string[]] @($r.Tags); Source = [string] $r.Source })
            }
            else { & $__stewardEmit 'O' $r }
        }
        try {
            $__stewardPayload = if ($__stewardJob.payload) { $__stewardJob.payload | ConvertFrom-Json -AsHashtable } else { @{} }
            if ($__stewardPayload.using) {
                foreach ($__stewardName in @($__stewardPayload.using.Keys)) {
                    Set-Variable -Name ('__steward_using_' + $__stewardName) -Value ([System.Management.Automation.PSSerializer]::Deserialize($__stewardPayload.using[$__stewardName]))
                }
            }
            $__stewardArgs = @(foreach ($__stewardItem in @($__stewardPayload.args)) { if ($null -ne $__stewardItem) { [System.Management.Automation.PSSerializer]::Deserialize($__stewardItem) } })
            $__stewardScript = [scriptblock]::Create($__stewardJob.script)
            if ($__stewardPayload.hasInput) {
                $__stewardInput = @(foreach ($__stewardItem in @($__stewardPayload.input)) { [System.Management.Automation.PSSerializer]::Deserialize($__stewardItem) })
                $__stewardInput | & $__stewardScript @__stewardArgs 2>&1 3>&1 4>&1 5>&1 6>&1 | ForEach-Object { & $__stewardRecord $_ }
            }
            else {
                & $__stewardScript @__stewardArgs 2>&1 3>&1 4>&1 5>&1 6>&1 | ForEach-Object { & $__stewardRecord $_ }
            }
        }
        catch {
            & $__stewardEmit 'T' (& $__stewardError $_)
            & $__stewardEmit 'M' $_.Exception.Message -Raw
            exit 1
        }
        & $__stewardEmit 'Z' '' -Raw
        exit 0
        """;
}
