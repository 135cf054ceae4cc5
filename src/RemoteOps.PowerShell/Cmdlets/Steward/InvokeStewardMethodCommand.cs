using System.Management.Automation;
using RemoteOps.Config;
using RemoteOps.PowerShell.Internal;
using RemoteOps.Steward;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Sends a steward method to nodes (names or patterns) through the durable queue and writes each node's reply
/// as it finishes, like Invoke-Command; -NoWait returns the queued messages at once. Every parameter binds by property
/// name, so the seed's JSON message files work as they are: <c>Get-Content msgs.json | ConvertFrom-Json | Invoke-StewardMethod</c>.</summary>
[Cmdlet(VerbsLifecycle.Invoke, "StewardMethod", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(StewardReply), typeof(StewardOutput), typeof(StewardMessage))]
public sealed class InvokeStewardMethodCommand : ConfiguredCmdlet
{
    /// <summary>Node names (sent as they are, online or not) and destination patterns (com.acme.*, com.acme.**: the live
    /// nodes of the registry that match). The seed's toNode and toNodes.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("ToNodes")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.StewardNodeCompleter))]
    public string[] ToNode { get; set; } = [];

    /// <summary>The method, with or without the seed's REQ prefix (REQCliCommand, CliCommand); REQOpCommand with -Operation.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Completers.StewardMethodCompleter))]
    public string Method { get; set; } = "";

    [Parameter(Position = 2, ValueFromPipelineByPropertyName = true)]
    [AllowEmptyCollection]
    [AllowEmptyString]
    public string[]? MethodArgs { get; set; }

    /// <summary>Where the reply goes: ToConsole (the default: pipeline objects), ToFile, ToFileAppend, or CliCommand.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(Completers.StewardReplyMethodCompleter))]
    public string? ReplyMethod { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowEmptyCollection]
    [AllowEmptyString]
    public string[]? ReplyMethodArgs { get; set; }

    /// <summary>ToFile/ToFileAppend/CliCommand: the directory, relative to the steward data directory unless absolute.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Directory { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? FileName { get; set; }

    /// <summary>How long one delivery attempt may wait for the node's ack (the seed's ACKTimeout; default steward.ack_timeout).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [DurationTransformation]
    public TimeSpan? AckTimeout { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(0, StewardConfigReader.MaxRetries)]
    public int? Retries { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [DurationTransformation]
    public TimeSpan? MethodTimeout { get; set; }

    /// <summary>The seed's replyACKTimeout: accepted so its files bind; replies are stored in the results bucket, not sent back.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [DurationTransformation]
    public TimeSpan? ReplyAckTimeout { get; set; }

    /// <summary>The seed's replyRetries: accepted so its files bind (see -ReplyAckTimeout).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(0, StewardConfigReader.MaxRetries)]
    public int? ReplyRetries { get; set; }

    /// <summary>How long a CliCommand reply method may run (the seed's replyMethodTimeout, also spelled replyMethodTimeOut).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [DurationTransformation]
    public TimeSpan? ReplyMethodTimeout { get; set; }

    /// <summary>The seed's operation object for REQOpCommand: { opCmd: ps | startProc | stopProc, opArg: {...} }.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public object? Operation { get; set; }

    /// <summary>How many messages are stored and published at once.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = 32;

    /// <summary>A fleet governor (New-StewardGovernor, or steward.governors): each node waits for one of its slots before
    /// running the method, so at most its capacity run at once across every node and sender.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(Completers.StewardGovernorCompleter))]
    public string? Governor { get; set; }

    /// <summary>Return one StewardMessage per node at once (Status Queued); the work goes on without this session.</summary>
    [Parameter]
    public SwitchParameter NoWait { get; set; }

    private RemoteOpsConfig? _config;
    private StewardClient? _client;
    private readonly List<StewardRecord> _sent = [];

    protected override void BeginProcessing() => _config = LoadConfig();

    protected override void ProcessRecord()
    {
        StewardRequest request;
        try
        {
            request = new StewardRequestFields
            {
                ToNodes = ToNode, Method = Method, MethodArgs = MethodArgs, ReplyMethod = ReplyMethod, ReplyMethodArgs = ReplyMethodArgs,
                AckTimeout = AckTimeout, Retries = Retries, MethodTimeout = MethodTimeout, ReplyAckTimeout = ReplyAckTimeout,
                ReplyRetries = ReplyRetries, ReplyMethodTimeout = ReplyMethodTimeout, Directory = Directory, FileName = FileName,
                OperationJson = StewardSenderSupport.OperationJson(Operation), Governor = Governor,
            }.ToRequest() with { ReplyByAgent = NoWait.IsPresent };
            // Everything that can be checked without the server, so that -WhatIf reports bad input too.
            StewardClient.Check(request, _config!.Steward);
        }
        catch (Exception e) when (StewardSenderSupport.ToErrorRecord(e, string.Join(", ", ToNode)) is { } record)
        {
            WriteError(record);
            return;
        }
        var targets = request.Targets;
        if (!ShouldProcess(string.Join(", ", targets), $"Send steward method {request.Method}{(request.MethodArgs.Count > 0 ? " " + string.Join(' ', request.MethodArgs) : "")}{(request.Governor is { } g ? $" under governor {g}" : "")}")) return;
        var config = _config!;
        RunAsync(async (writer, ct) =>
        {
            _client ??= await StewardSenderSupport.Try(writer, targets[0], () => StewardClient.OpenAsync(config, writer.WriteVerbose, ct)).ConfigureAwait(false);
            if (_client is null) return;
            var sent = await StewardSenderSupport.SendAsync(writer, _client, request, ThrottleLimit, r => Queued(r, request), ct).ConfigureAwait(false);
            if (sent is null) return;
            if (NoWait)
                foreach (var r in sent) writer.WriteObject(_client.ToMessage(r, DateTimeOffset.UtcNow));
            lock (_sent) _sent.AddRange(sent);
        });
    }

    private static string Describe(StewardMethod method, IReadOnlyList<string> args) =>
        args.Count == 0 ? method.ToString() : $"{method} {string.Join(' ', args)}";

    private static string Queued(StewardRecord r, StewardRequest request) =>
        $"Queued {Describe(r.Method, request.MethodArgs)} for {r.Node}: message {r.MessageId}, window until {r.Expires:u}"
        + (r.ReplyMethod is { } reply ? $", reply {Describe(reply, r.ReplyArgs)}{(r.Directory is null && r.FileName is null ? "" : $" in {r.Directory}/{r.FileName}")}." : ".");

    protected override void EndProcessing()
    {
        if (NoWait || _sent.Count == 0 || _client is null) return;
        var client = _client;
        StewardSummary? summary = null;
        RunAsync(async (writer, ct) =>
        {
            var output = new StewardSenderSupport.ReplyWriter(client, writer, runReplyMethods: true);
            summary = output.Summary;
            await foreach (var e in client.WaitAsync(_sent, null, streamOutput: true, timeout: null, ct).ConfigureAwait(false))
                await output.WriteAsync(e, ct).ConfigureAwait(false);
            StewardSenderSupport.WarnRefused(writer, client);
        });
        if (summary is not null)
            WriteInformation(summary.ToString(), ["Steward", "Summary"]);
    }
}
