using RemoteOps.Config;
using RemoteOps.Steward;

namespace RemoteOps.Core.Tests.Steward;

/// <summary>The audit and metrics keys of steward: (audit_log, audit_max_size, audit_keep, metrics): defaults, every
/// form each takes, and a located error for each bad value.</summary>
public class StewardObservabilityConfigTests
{
    private static StewardConfig Parse(string yaml) => ConfigLoader.Parse(yaml, "/cfg/config.yaml").Steward;

    [Fact]
    public void Defaults_keep_the_agent_audit_on_and_the_client_audit_and_metrics_off()
    {
        var s = Parse("servers: [nats://127.0.0.1:4222]");
        Assert.Null(s.AuditLog);
        Assert.Null(s.Metrics);
        Assert.Equal((10L * 1024 * 1024, 5), (s.AuditMaxSize, s.AuditKeep));
        Assert.Equal("/data/n1/audit.jsonl", StewardAuditLog.ForAgent(s with { DataDirectory = "/data" }, "/data/n1")!.Path);
        Assert.Null(StewardAuditLog.ForClient(s));
    }

    [Fact]
    public void Audit_log_is_true_false_or_a_path_relative_to_the_config()
    {
        var on = Parse("steward:\n  audit_log: true\n  data_directory: /data\n");
        Assert.Equal((true, null), (on.AuditLog, on.AuditPath));
        Assert.Equal("/data/audit.jsonl", StewardAuditLog.ForClient(on)!.Path);
        Assert.Equal(["/data/audit.jsonl", "/data/com.acme.web1/audit.jsonl"], StewardAuditLog.DefaultPaths(on, "com.acme.web1"));
        var off = Parse("steward:\n  audit_log: false\n");
        Assert.False(off.AuditLog);
        Assert.Null(StewardAuditLog.ForAgent(off, "/data/n1"));
        var file = Parse("steward:\n  audit_log: logs/audit.log\n  audit_max_size: 2048\n  audit_keep: 0\n");
        Assert.Equal((true, "/cfg/logs/audit.log", 2048L, 0), (file.AuditLog, file.AuditPath, file.AuditMaxSize, file.AuditKeep));
        Assert.Equal("/cfg/logs/audit.log", StewardAuditLog.ForAgent(file, "/data/n1")!.Path);
        Assert.Equal(["/cfg/logs/audit.log"], StewardAuditLog.DefaultPaths(file, "com.acme.web1"));
        // A quoted 'true' is a file named true, as YAML says.
        Assert.Equal("/cfg/true", Parse("steward:\n  audit_log: 'true'\n").AuditPath);
        Assert.Equal("/cfg/x.1.jsonl", StewardAuditLog.Rotated("/cfg/x.jsonl", 1));
        Assert.Equal("/cfg/x.3", StewardAuditLog.Rotated("/cfg/x", 3));
    }

    [Theory]
    [InlineData("audit_max_size: 12", "steward.audit_max_size")]
    [InlineData("audit_keep: -1", "steward.audit_keep")]
    [InlineData("audit_keep: 1001", "steward.audit_keep")]
    [InlineData("audit_log: [a, b]", "steward.audit_log")]
    [InlineData("metrics: 9464", "steward.metrics")]
    [InlineData("metrics: 'localhost:0'", "steward.metrics")]
    [InlineData("metrics: '::1:9464'", "steward.metrics")]
    [InlineData("metrics: [a]", "steward.metrics")]
    public void A_bad_value_is_a_located_error_naming_the_key(string line, string key)
    {
        var e = Assert.Throws<ConfigException>(() => Parse($"servers: [nats://127.0.0.1:4222]\nsteward:\n  {line}\n"));
        Assert.Equal(key, e.Key);
        Assert.Equal(3, e.Line);
    }

    [Fact]
    public void Metrics_takes_host_port_and_keeps_it_normalized()
    {
        Assert.Equal("127.0.0.1:9464", Parse("steward:\n  metrics: 127.0.0.1:9464\n").Metrics);
        Assert.Equal("[::1]:9464", Parse("steward:\n  metrics: '[::1]:9464'\n").Metrics);
        Assert.Equal("0.0.0.0:9100", Parse("steward:\n  metrics: 0.0.0.0:9100\n").Metrics);
        Assert.Null(Parse("steward:\n  metrics:\n").Metrics);
    }
}
