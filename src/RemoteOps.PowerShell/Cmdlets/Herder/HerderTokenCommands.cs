using System.Management.Automation;
using RemoteOps.Herder;
using RemoteOps.PowerShell.Internal;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>Issues a signed herder token for an owner and adds its credits to the owner's balance (the seed's token
/// generate; the issuer must be in herder.token_issuers instead of knowing a password).</summary>
[Cmdlet(VerbsCommon.New, "HerderToken", SupportsShouldProcess = true)]
[OutputType(typeof(HerderToken))]
public sealed class NewHerderTokenCommand : ConfiguredCmdlet
{
    /// <summary>Who the credits belong to: a name or an e-mail address.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Owner { get; set; } = "";

    /// <summary>Credits added to the owner's balance (default 30000, as in the seed).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(0, long.MaxValue)]
    public long Credits { get; set; } = 30000;

    /// <summary>When the token stops being accepted: a date, or a duration from now ('30d'). Never when omitted.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ExpiryTransformation]
    public DateTimeOffset? Expires { get; set; }

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        try { HerderTokenService.CheckIssuer(config, Owner, Credits); }
        catch (HerderException e) { WriteError(ErrorMap.ToErrorRecord(e, Owner, ToolErrorIds.Herder)!); return; }
        if (!ShouldProcess($"owner {Owner}", $"Issue a token and add {Credits} credits")) return;
        RunAsync(async (writer, ct) =>
        {
            try
            {
                writer.WriteObject(await HerderTokenService.IssueAsync(config, Owner, Credits, Expires, ct).ConfigureAwait(false));
            }
            catch (Exception e) when (e is not OperationCanceledException && ErrorMap.ToErrorRecord(e, Owner, ToolErrorIds.Herder) is { } record)
            {
                writer.WriteError(record);
            }
        });
    }
}

/// <summary>Checks a herder token and shows its owner's remaining credits (the seed's token inspect).</summary>
[Cmdlet(VerbsCommon.Get, "HerderToken")]
[OutputType(typeof(HerderToken))]
public sealed class GetHerderTokenCommand : ConfiguredCmdlet
{
    /// <summary>The token string (New-HerderToken's Token).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Token { get; set; } = "";

    protected override void ProcessRecord()
    {
        var config = LoadConfigCached();
        var token = Token;
        RunAsync(async (writer, ct) =>
        {
            try
            {
                writer.WriteObject(await HerderTokenService.InspectAsync(config, token, ct).ConfigureAwait(false));
            }
            catch (Exception e) when (e is not OperationCanceledException && ErrorMap.ToErrorRecord(e, null, ToolErrorIds.Herder) is { } record)
            {
                writer.WriteError(record);
            }
        });
    }
}
