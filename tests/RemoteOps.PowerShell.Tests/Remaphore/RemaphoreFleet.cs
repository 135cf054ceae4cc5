using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Text;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>One nats-server for a test class.</summary>
public sealed class RemaphoreServerFixture : IAsyncLifetime
{
    public NatsServer Server { get; private set; } = null!;
    public async Task InitializeAsync() => Server = await NatsServer.StartAsync();
    public Task DisposeAsync() { Server.Dispose(); return Task.CompletedTask; }
}

/// <summary>A node of a test fleet: a destination, a key pair, and its config file.</summary>
public sealed class RemaphoreNode(string destination, TestKeyPair key, string configPath)
{
    public string Destination { get; } = destination;
    public TestKeyPair Key { get; } = key;
    public string ConfigPath { get; } = configPath;
    public string Public => Key.Public;
}

/// <summary>Config files for a set of nodes that all know each other (unless told otherwise), on a subject of their own
/// so tests sharing a server never see each other's messages.</summary>
public sealed class RemaphoreFleet : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly List<TestKeyPair> _keys = new();

    public RemaphoreFleet(NatsServer server)
    {
        Server = server;
        Subject = "rt" + Guid.NewGuid().ToString("N")[..10];
    }

    public NatsServer Server { get; }
    public string Subject { get; }
    public string Directory => _dir.Path;
    public string LatchBucket => "latch_" + Subject;

    public TestKeyPair NewKey()
    {
        var k = new TestKeyPair();
        _keys.Add(k);
        return k;
    }

    /// <summary>Writes a node's config. <paramref name="peers"/>: (destination, public key, verbs).</summary>
    public RemaphoreNode Node(string name, string destination, IEnumerable<(string Destination, string Public, string Verbs)> peers,
        string identityVerbs = "\"*\"", TestKeyPair? key = null, string extra = "", bool goPrivate = false, string allowSkew = "5s")
    {
        key ??= NewKey();
        var yaml = new StringBuilder();
        yaml.AppendLine($"servers: [{Server.Url}]");
        yaml.AppendLine($"subject: {Subject}");
        yaml.AppendLine($"destination: {destination}");
        yaml.AppendLine($"allow_skew: {allowSkew}");
        yaml.AppendLine($"latch_bucket: {LatchBucket}");
        yaml.AppendLine($"default_identity: {key.Public}");
        yaml.Append(extra);
        yaml.AppendLine("identities:");
        yaml.AppendLine($"  - public: {key.Public}");
        yaml.AppendLine($"    private: {(goPrivate ? key.GoPrivate : key.Private)}");
        yaml.AppendLine($"    verbs: [{identityVerbs}]");
        yaml.AppendLine("peers:");
        foreach (var (d, p, v) in peers)
        {
            yaml.AppendLine($"  - destination: {d}");
            yaml.AppendLine($"    public: {p}");
            yaml.AppendLine($"    verbs: [{v}]");
        }
        var path = _dir.File(name + ".yaml");
        File.WriteAllText(path, yaml.ToString());
        return new RemaphoreNode(destination, key, path);
    }

    /// <summary>A sender "a" (com.test.a) and a receiver "b" (com.test.b) that accept each other for the given verbs.</summary>
    public (RemaphoreNode A, RemaphoreNode B) Pair(string verbs = "\"*\"")
    {
        var ka = NewKey();
        var kb = NewKey();
        var a = Node("a", "com.test.a", [("com.test.b", kb.Public, verbs)], key: ka);
        var b = Node("b", "com.test.b", [("com.test.a", ka.Public, verbs)], key: kb);
        return (a, b);
    }

    public Task PublishRawAsync(params byte[][] payloads) => RawNats.PublishAsync(Server.Url, Subject + ".all", payloads);

    public void Dispose()
    {
        foreach (var k in _keys) k.Dispose();
        _dir.Dispose();
    }
}

/// <summary>A script running in its own runspace in the background (a waiter or responder), with a task that
/// completes when it is listening (its verbose "Waiting on subject" line).</summary>
public sealed class BackgroundPwsh : IDisposable
{
    private readonly Pwsh _pwsh = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly PSDataCollection<PSObject> _output = new();
    private readonly System.Management.Automation.PowerShell _shell;
    private readonly IAsyncResult _handle;

    public BackgroundPwsh(string script, IDictionary? parameters = null)
    {
        // A session variable rather than a second statement: a batch of statements runs on a work item that
        // outlives Stop() and touches the runspace after it is closed.
        _pwsh.Runspace.SessionStateProxy.SetVariable("VerbosePreference", ActionPreference.Continue);
        _shell = System.Management.Automation.PowerShell.Create(_pwsh.Runspace);
        _shell.AddScript(script);
        if (parameters is not null) _shell.AddParameters(parameters);
        _shell.Streams.Verbose.DataAdded += (_, e) =>
        {
            if (_shell.Streams.Verbose[e.Index].Message.StartsWith("Waiting on subject", StringComparison.Ordinal)) _ready.TrySetResult();
        };
        _handle = _shell.BeginInvoke<PSObject, PSObject>(null, _output);
    }

    public System.Management.Automation.PowerShell Shell => _shell;
    public Runspace Runspace => _pwsh.Runspace;

    /// <summary>Completes once the script's waiter is subscribed; fails if the script ends first.</summary>
    public Task Ready => Task.WhenAny(_ready.Task, Task.Factory.FromAsync(_handle, _ => { })).Unwrap()
        .ContinueWith(t => { if (!_ready.Task.IsCompleted) throw new InvalidOperationException("The background script ended before it was ready: " + ErrorText); })
        .WaitAsync(TimeSpan.FromSeconds(60));

    public IReadOnlyList<string> Verbose => _shell.Streams.Verbose.Select(v => v.Message).ToList();
    public IReadOnlyList<ErrorRecord> Errors => _shell.Streams.Error.ToList();
    public string ErrorText => string.Join(Environment.NewLine, Errors.Select(e => $"[{e.FullyQualifiedErrorId}] {e}"));

    /// <summary>Waits (bounded) for the script to end and returns its output.</summary>
    public async Task<IReadOnlyList<PSObject>> CompletedAsync()
    {
        await Task.Factory.FromAsync(_handle, _ => { }).WaitAsync(TimeSpan.FromSeconds(60));
        return _output.ToList();
    }

    public void Dispose()
    {
        if (!_handle.IsCompleted) _shell.Stop();
        _shell.Dispose();
        _pwsh.Dispose();
    }
}
