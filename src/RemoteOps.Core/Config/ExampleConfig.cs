using System.Text;
using RemoteOps.Identity;

namespace RemoteOps.Config;

/// <summary>The commented example config that New-RemoteOpsConfig writes (the seed's <c>remaphore -C</c>): every key
/// documented, with a fresh identity that may send every verb and that this node accepts as a peer, so
/// Send-Remaphore and Wait-Remaphore work on one machine straight away.</summary>
public static class ExampleConfig
{
    /// <summary>What <see cref="Write"/> produced.</summary>
    public sealed record Result(string ConfigPath, string PublicKey, string PrivateKeyFile);

    /// <summary>The example text for a given identity and private key file (relative to the config's directory).</summary>
    public static string Text(IReadOnlyList<string> servers, string destination, string publicKey, string privateKeyFile)
    {
        var s = YamlText.Scalar;
        var sb = new StringBuilder();
        sb.Append($$"""
# RemoteOps configuration (YAML), written by New-RemoteOpsConfig.
# Every RemoteOps cmdlet reads it: -ConfigPath, else $env:REMOTEOPS_CONFIG, else the per-user file
# (~/.config/remoteops/config.yaml; %APPDATA%\RemoteOps\config.yaml on Windows).
# Lines starting with "#key:" are optional settings shown with an example value: remove the "#" to use one.
# Durations: Go style as in remaphore (1h2m3s4ms, 5s, 250ms), plain seconds (30) or hh:mm:ss.
# File paths: relative ones are relative to this file's directory; ~/ is your home directory.
# Check the result with: Test-RemoteOpsConfig -ConfigPath <this file>

# ---- Connection -----------------------------------------------------------------------------
# servers: NATS server URLs, tried in turn for failover (remaphore's repeated "server:" lines).
# Start-RemoteOpsDevServer runs a local one on nats://127.0.0.1:4222.
servers:

""");
        foreach (var server in servers) sb.Append("  - ").Append(s(server)).Append('\n');
        sb.Append($$"""
# credentials: a NATS .creds file (user JWT and NKey seed), as remaphore's "credentials:".
#credentials: ~/.config/remoteops/remoteops.creds
# nkey_seed_file: a file holding a NATS NKey user seed (SU...), for NKey authentication.
#nkey_seed_file: ~/.config/remoteops/user.nk
# user: a NATS user name.
#user: remoteops
# password: that user's password.
#password: change-me
# token: a NATS authentication token.
#token: change-me
# tls: client TLS.
#   ca    the CA certificate that verifies the server
#   cert  a client certificate to present
#   key   the client certificate's private key
#tls:
#  ca: /etc/remoteops/ca.pem
#  cert: /etc/remoteops/client.pem
#  key: /etc/remoteops/client-key.pem
# inbox_prefix: the subject prefix of this client's reply inboxes (default _INBOX). Give each NATS user its own
# (_INBOX_<user>) when the server's permissions keep users to their own replies, as steward's do.
#inbox_prefix: _INBOX_me

# ---- Remaphore (signed remote semaphores) ---------------------------------------------------
# subject: the NATS subject root; messages travel on <subject>.all, or <subject>.<name> with -Subject.
# Leave it unless every node of the fleet changes it too.
subject: remaphore
# destination: this node's name, reverse-dotted (tld.domain.host...); it should be globally unique.
# Senders reach it with patterns such as local.*, local.** or the exact name.
destination: {{s(destination)}}
# allow_skew: the largest difference between the sender's clock and ours; older or newer messages are
# dropped, and a message seen twice within it is dropped as a replay.
allow_skew: 5s
# default_identity: the public key of the identity used when a send names neither -Identity nor a verb
# that selects another one.
default_identity: {{s(publicKey)}}
# identities: the key pairs this node signs with (New-RemoteOpsIdentity makes more).
#   public        base58 Ed25519 public key
#   private       the base58 private key inline, or instead
#   private_file  a file holding it (keep it mode 600: RemoteOps warns when others can read it)
#   verbs         the verbs this identity may send; "*" means all. The verb of a send selects the identity.
identities:
  - public: {{s(publicKey)}}
    private_file: {{s(privateKeyFile)}}
    #private: (the base58 private key itself, instead of private_file)
    verbs: ["*"]
# peers: who may send to this node. A message from a key not listed here, or with a verb the peer may
# not use, is dropped. Invoke-Remaphore expects replies from the peers whose destination matches.
#   destination  the peer's destination
#   public       its public key
#   verbs        what it may send ("*" for all)
# This node is listed so that it can signal itself; add an entry per peer.
peers:
  - destination: {{s(destination)}}
    public: {{s(publicKey)}}
    verbs: ["*"]
# latch_bucket: the JetStream key-value bucket that keeps latched signals (Send-Remaphore -Latch),
# so a Wait-Remaphore -Uuid started later still sees them.
#latch_bucket: remaphore_latch
# max_payload: the largest message payload, in bytes (1 to 8388608), sent or acted upon.
#max_payload: 65536

# ---- Seaport (signed service registry) ------------------------------------------------------
# seaport: the registry settings.
#   bucket      the JetStream key-value bucket of the registry
#   heartbeat   how often a live registration is refreshed
#   timeout     a registration not refreshed for this long has expired (default 3 x heartbeat)
#   range       the ports assigned when none is given, low then high (kept below the OS ephemeral ports)
#   authorized  public keys whose registrations are trusted; empty trusts every signer
#seaport:
#  bucket: seaport
#  heartbeat: 15s
#  timeout: 45s
#  range: [20000, 32767]
#  authorized: [{{s(publicKey)}}]

# ---- Steward (signed command and control of nodes) -----------------------------------------
# replicas: JetStream replicas of every stream and bucket the module creates (1 to 5; 3 on a cluster).
#replicas: 1
# steward: the node agent (Start-StewardNode) and the steward cmdlets.
#   central         the node that receives error reports (a message never acknowledged, a refusal)
#   stream          the JetStream stream of the durable command queue (and of streamed output)
#   results_bucket  the key-value bucket of status and results, by message id
#   nodes_bucket    the key-value bucket of the node registry (each agent writes its own presence)
#   hello_interval  how often an agent rewrites its presence; it is offline after three
#   data_directory  the agent's local store (default: a per-user state directory)
#   ack_timeout     default: how long a message waits to be taken, per attempt (100ms to 1h)
#   retries         default: further attempts (0 to 100); a message expires (NoAck) after
#                   ack_timeout x (retries + 1)
#   method_timeout  default: how long a method may run (100ms to 1d)
#   max_output      the largest stored result, in bytes (1024 to 67108864); more is truncated
#   methods         the methods this node serves, each with the senders allowed: peer destinations,
#                   or '*' for every peer listed above. A method not listed is not served.
#                   Only grant methods that run code (CliCommand, CliCommandCont, OpProcessStart, PwshScript)
#                   to the peers you would give a shell.
#   pwsh_command    the pwsh worker PwshScript (Invoke-StewardCommand) runs scripts in, as a command
#                   line; unset: the pwsh running the agent, else pwsh from PATH
#   governors       fleet governors, name: capacity (Invoke-StewardMethod -Governor: at most that many
#                   methods at once across the fleet); written to governors_bucket when first needed
#   governors_bucket  the key-value bucket of governor definitions and held slots
#   governor_timeout  how long a held slot outlives its holder's last renewal (a dead agent's slot)
#   audit_log       the audit log (one JSON line per message received or sent): unset, on for the
#                   agent (audit.jsonl in its data folder) and off for clients; true: on for both;
#                   false: off; a path: on for both, in that file
#   audit_max_size  bytes an audit file grows to before it is rotated (1024 or more)
#   audit_keep      rotated audit files kept (0 to 1000)
#   metrics         host:port the agent serves Prometheus metrics on, at /metrics (unset: off;
#                   a warning when not loopback)
#   socket          the seed's input API on a unix socket: true puts steward.sock (mode 600) in the
#                   node's data directory, a path puts it there; off unless set
#   tcp_listener    the seed's input API on TCP, host:port (off unless set; keep it on 127.0.0.1)
#   http_listener   the seed's input API over HTTP POST, host:port (off unless set)
#   pwsh_workers    warm pwsh workers kept waiting for PwshScript (0 to 64; 0: a new pwsh per script);
#                   each runs one script and is replaced, so nothing leaks between callers
#steward:
#  central: {{s(destination)}}
#  stream: steward
#  results_bucket: steward_results
#  nodes_bucket: steward_nodes
#  hello_interval: 30s
#  data_directory: ~/.local/state/remoteops/steward
#  ack_timeout: 5s
#  retries: 3
#  method_timeout: 10s
#  max_output: 1048576
#  pwsh_command: [pwsh]
#  governors: { deploy: 4 }
#  governors_bucket: steward_governors
#  governor_timeout: 30s
#  audit_log: true
#  audit_max_size: 10485760
#  audit_keep: 5
#  metrics: 127.0.0.1:9464
#  socket: true
#  tcp_listener: 127.0.0.1:8091
#  http_listener: 127.0.0.1:8092
#  pwsh_workers: 2
#  methods: { Ping: { allowed: ['*'] }, OpProcessList: { allowed: ['*'] } }

# ---- Herder (minions, daemons, golems, tokens, on the steward node agent) -----------------------
# herder: served on a node under steward.methods (HerderMinion, HerderDaemon, HerderGolem), and for this session.
#   environments        name -> command run in the minion's or daemon's directory (built-ins: bash,
#                       python, node, ruby, pwsh, latex)
#   sandbox             bubblewrap, or none to allow unsandboxed runs explicitly
#   max_timeout         the longest a minion may run, and its default timeout
#   memory_limit        bytes a minion or daemon may have
#   token_issuers       public keys whose herder tokens (New-HerderToken) are believed (and who may issue them)
#   require_token       every run needs a token whose owner has credits
#   credits_per_second  what a running minion or daemon costs its owner per second
#   ledger_bucket       the JetStream key-value bucket of owners' credit balances
#   log_retention       how long a daemon's rotated logs (and an ended daemon's folder) are kept
#   proxy_port          the node agent serves http://<node>:<port>/daemon/<name>/... to a daemon's
#                       first port, for requests with a valid token (0 = off; needs the ASP.NET Core
#                       runtime 9 or later on the node)
#   browser             the Chromium golems run: a program name in PATH, or a path
#herder:
#  environments: { python: [python3, main.py] }
#  sandbox: bubblewrap
#  max_timeout: 30s
#  memory_limit: 268435456
#  token_issuers: [{{s(publicKey)}}]
#  require_token: false
#  credits_per_second: 1
#  ledger_bucket: herder_ledger
#  log_retention: 7d
#  proxy_port: 8080
#  browser: chromium

""");
        return sb.ToString();
    }

    /// <summary>Writes the example to <paramref name="path"/> (directory created; refused when the file exists unless
    /// <paramref name="force"/>), with a new identity whose private key goes to keys/&lt;public&gt;.key (mode 600).</summary>
    /// <exception cref="IOException">The file exists and <paramref name="force"/> is false.</exception>
    public static Result Write(string path, bool force, IReadOnlyList<string>? servers = null, string? destination = null)
    {
        path = Path.GetFullPath(path);
        if (File.Exists(path) && !force)
            throw new ConfigFileExistsException(path);
        var directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(directory);
        // A trailing separator makes it a directory: the key goes to keys/<public>.key.
        var identity = IdentityFactory.Create(["*"], Path.Combine(directory, "keys") + Path.DirectorySeparatorChar, force: false);
        var relativeKey = Path.GetRelativePath(directory, identity.PrivateKeyFile!).Replace('\\', '/');
        var text = Text(servers is { Count: > 0 } ? servers : ["nats://127.0.0.1:4222"], destination ?? DefaultDestination(), identity.PublicKey, relativeKey);
        SecureFile.WriteAllText(path, text, overwrite: true);
        return new Result(path, identity.PublicKey, identity.PrivateKeyFile!);
    }

    /// <summary>local.&lt;host name&gt;, lower case, as a reverse-dotted destination.</summary>
    public static string DefaultDestination()
    {
        var host = new string(Environment.MachineName.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray());
        return "local." + (host.Length == 0 ? "node" : host);
    }
}

/// <summary>A file that would be overwritten without -Force.</summary>
public sealed class ConfigFileExistsException(string path)
    : IOException($"'{path}' already exists; use -Force to overwrite it.")
{
    public string Path { get; } = path;
}
