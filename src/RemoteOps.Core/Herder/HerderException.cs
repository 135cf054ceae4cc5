namespace RemoteOps.Herder;

/// <summary>Why herder refused or could not do something; each maps to one stable error id.</summary>
public enum HerderFailure
{
    /// <summary>The environment is neither built in nor configured.</summary>
    UnknownEnvironment,
    /// <summary>The environment is known but its program is not installed on the node.</summary>
    EnvironmentUnavailable,
    /// <summary>A file name or size the minion cannot take.</summary>
    InvalidFile,
    /// <summary>A timeout or memory limit outside what the config allows.</summary>
    InvalidLimit,
    /// <summary>The sandbox is required but bubblewrap is missing or cannot start.</summary>
    SandboxUnavailable,
    /// <summary>A token that is malformed, forged, expired, from an issuer not listed, or missing where one is required.</summary>
    InvalidToken,
    /// <summary>The token's owner has no credits left.</summary>
    NoCredits,
    /// <summary>The identity that would issue a token is not in herder.token_issuers.</summary>
    NotIssuer,
    /// <summary>Steward did not deliver or run a remote request (denied, no ack, timed out, or the node failed).</summary>
    RemoteFailed,
    // Golems.
    /// <summary>No golem of that name (on that node).</summary>
    GolemNotFound,
    /// <summary>A golem of that name already runs for the same owner.</summary>
    GolemExists,
    /// <summary>A golem name that is not a plain name.</summary>
    InvalidGolemName,
    /// <summary>A -Url that is not an absolute http, https or file URL.</summary>
    InvalidUrl,
    /// <summary>Chromium is not installed (or herder.browser names nothing executable).</summary>
    BrowserUnavailable,
    /// <summary>The browser started but did not come up, could not load the page, or died.</summary>
    GolemFailed,
    /// <summary>The script a golem evaluated threw (a JavaScript exception).</summary>
    ScriptError,
    /// <summary>A golem's script (or page load) did not finish within its timeout.</summary>
    GolemTimeout,
    /// <summary>A daemon of that name already runs for that owner on that node.</summary>
    DaemonExists,
    /// <summary>No daemon of that name for that owner on that node.</summary>
    DaemonNotFound,
    /// <summary>A daemon request herder cannot take: a bad name or port names, no command, both a command and an environment.</summary>
    InvalidDaemon,
}

/// <summary>A request herder refuses, with a message that says how to fix it.</summary>
public sealed class HerderException(HerderFailure failure, string message) : Exception(message)
{
    public HerderFailure Failure { get; } = failure;

    /// <summary>The stable error id cmdlets give it.</summary>
    public string ErrorId => "RemoteOps.Herder" + Failure;
}
