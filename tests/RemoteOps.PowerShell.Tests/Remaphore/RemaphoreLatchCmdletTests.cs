using System.Collections;
using System.Management.Automation;
using System.Text;
using RemoteOps.TestSupport;

namespace RemoteOps.PowerShell.Tests;

/// <summary>Get-RemaphoreLatch and Clear-RemaphoreLatch against a real nats-server with JetStream.</summary>
public class RemaphoreLatchCmdletTests(RemaphoreServerFixture nats) : IClassFixture<RemaphoreServerFixture>
{
    private static T Prop<T>(PSObject o, string name) => (T)o.Properties[name].Value;

    [Fact]
    public void Get_lists_verified_latches_with_the_senders_name_and_Clear_removes_them()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (a, b) = fleet.Pair();
        using var pwsh = new Pwsh();
        var sent = pwsh.Run("param($c) Send-Remaphore first -Verb deploy -Uuid one -Latch -LatchTtl 10m -ConfigPath $c; Send-Remaphore second -Uuid two -Subject builds -Latch -ConfigPath $c",
            new Hashtable { ["c"] = a.ConfigPath });
        Assert.False(sent.HadErrors, sent.ErrorText);

        // Read from b's side: a is its peer com.test.a.
        var all = pwsh.Run("param($c) Get-RemaphoreLatch -ConfigPath $c", new Hashtable { ["c"] = b.ConfigPath });
        Assert.False(all.HadErrors, all.ErrorText);
        Assert.Equal(2, all.Output.Count);
        var one = Assert.Single(all.Output, o => Prop<string>(o, "Uuid") == "one");
        Assert.Equal("RemoteOps.Remaphore.RemaphoreLatch", one.BaseObject.GetType().FullName);
        Assert.Equal(a.Public, Prop<string>(one, "Sender"));
        Assert.Equal("com.test.a", Prop<string>(one, "SenderName"));
        Assert.Equal("deploy", Prop<string>(one, "Verb"));
        Assert.Equal("first", Prop<string>(one, "Payload"));
        Assert.Equal(fleet.Subject + ".all", Prop<string>(one, "Subject"));
        Assert.InRange(Prop<DateTimeOffset>(one, "Expires"), DateTimeOffset.UtcNow.AddMinutes(9), DateTimeOffset.UtcNow.AddMinutes(11));

        var filtered = pwsh.Run("param($c) Get-RemaphoreLatch -Subject builds -ConfigPath $c", new Hashtable { ["c"] = b.ConfigPath });
        Assert.Equal("two", Prop<string>(Assert.Single(filtered.Output), "Uuid"));
        Assert.Equal("one", Prop<string>(Assert.Single(pwsh.Run("param($c) Get-RemaphoreLatch -Uuid one -ConfigPath $c", new Hashtable { ["c"] = b.ConfigPath }).Output), "Uuid"));

        // -WhatIf names what would go and deletes nothing.
        var whatIf = pwsh.Run("param($c) Get-RemaphoreLatch -Uuid one -ConfigPath $c | Clear-RemaphoreLatch -ConfigPath $c -WhatIf; (Get-RemaphoreLatch -ConfigPath $c).Count",
            new Hashtable { ["c"] = b.ConfigPath });
        Assert.False(whatIf.HadErrors, whatIf.ErrorText);
        Assert.Equal(2, (int)Assert.Single(whatIf.Output).BaseObject);

        // By pipeline (Key by property name), then by -Uuid.
        var cleared = pwsh.Run("param($c) Get-RemaphoreLatch -Uuid one -ConfigPath $c | Clear-RemaphoreLatch -ConfigPath $c -PassThru -Confirm:$false",
            new Hashtable { ["c"] = b.ConfigPath });
        Assert.False(cleared.HadErrors, cleared.ErrorText);
        Assert.Equal("one", Prop<string>(Assert.Single(cleared.Output), "Uuid"));
        var left = pwsh.Run("param($c) Get-RemaphoreLatch -ConfigPath $c", new Hashtable { ["c"] = b.ConfigPath });
        Assert.Equal("two", Prop<string>(Assert.Single(left.Output), "Uuid"));
        var byUuid = pwsh.Run("param($c) Clear-RemaphoreLatch -Uuid two -Subject builds -ConfigPath $c; @(Get-RemaphoreLatch -ConfigPath $c).Count", new Hashtable { ["c"] = b.ConfigPath });
        Assert.False(byUuid.HadErrors, byUuid.ErrorText);
        Assert.Equal(0, (int)Assert.Single(byUuid.Output).BaseObject);

        // A late waiter no longer sees a cleared latch.
        var late = pwsh.Run("param($c) Wait-Remaphore -Uuid one -Timeout 0.3 -ConfigPath $c", new Hashtable { ["c"] = b.ConfigPath });
        Assert.Empty(late.Output);
    }

    [Fact]
    public async Task Forged_and_unknown_latches_are_hidden_with_a_verbose_note_and_Clear_removes_them_too()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (a, b) = fleet.Pair();
        var stranger = fleet.Node("s", "com.test.s", [("com.test.b", b.Public, "\"*\"")]);
        using var pwsh = new Pwsh();
        Assert.False(pwsh.Run("param($c) Send-Remaphore ok -Uuid good -Latch -ConfigPath $c", new Hashtable { ["c"] = a.ConfigPath }).HadErrors);
        Assert.False(pwsh.Run("param($c) Send-Remaphore who -Uuid strange -Latch -ConfigPath $c", new Hashtable { ["c"] = stranger.ConfigPath }).HadErrors);

        // Anyone with write access to the bucket can put garbage under a latch key.
        var forgedKey = fleet.Subject + ".all." + Convert.ToHexStringLower(Encoding.UTF8.GetBytes("forged"));
        await RawNats.PublishAsync(nats.Server.Url, $"$KV.{fleet.LatchBucket}.{forgedKey}", Encoding.ASCII.GetBytes("7fffffffffffffff,abc\nnot a message"));

        PwshResult r;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        do r = pwsh.Run("param($c) Get-RemaphoreLatch -ConfigPath $c", new Hashtable { ["c"] = b.ConfigPath }, verbose: true);
        while (!r.Verbose.Any(v => v.Contains(forgedKey, StringComparison.Ordinal)) && DateTime.UtcNow < deadline); // the stream stores the raw put asynchronously
        Assert.False(r.HadErrors, r.ErrorText);
        Assert.Equal("good", Prop<string>(Assert.Single(r.Output), "Uuid"));
        Assert.Contains(r.Verbose, v => v.Contains(forgedKey, StringComparison.Ordinal) && v.Contains("bad encoding", StringComparison.Ordinal));
        Assert.Contains(r.Verbose, v => v.Contains("not among the peers", StringComparison.Ordinal));

        var cleared = pwsh.Run("param($c) Clear-RemaphoreLatch -ConfigPath $c -PassThru", new Hashtable { ["c"] = b.ConfigPath });
        Assert.False(cleared.HadErrors, cleared.ErrorText);
        Assert.Equal(3, cleared.Output.Count);
        Assert.Equal(2, cleared.Output.Count(o => !Prop<bool>(o, "Verified")));
        Assert.Empty(pwsh.Run("param($c) Get-RemaphoreLatch -ConfigPath $c", new Hashtable { ["c"] = b.ConfigPath }).Output);
    }

    [Fact]
    public void No_bucket_lists_nothing_and_an_unknown_key_is_ObjectNotFound()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (a, _) = fleet.Pair();
        using var pwsh = new Pwsh();
        var r = pwsh.Run("param($c) Get-RemaphoreLatch -ConfigPath $c", new Hashtable { ["c"] = a.ConfigPath });
        Assert.False(r.HadErrors, r.ErrorText);
        Assert.Empty(r.Output);
        Assert.False(pwsh.Run("param($c) Send-Remaphore x -Uuid u -Latch -ConfigPath $c", new Hashtable { ["c"] = a.ConfigPath }).HadErrors);
        var missing = pwsh.Run("param($c) Clear-RemaphoreLatch -Key no.such.key -ConfigPath $c", new Hashtable { ["c"] = a.ConfigPath });
        var e = Assert.Single(missing.Errors);
        Assert.StartsWith("RemoteOps.RemaphoreLatchNotFound", e.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, e.CategoryInfo.Category);
    }

    [Fact]
    public void Latch_cmdlets_are_exported_with_ShouldProcess_on_Clear()
    {
        using var pwsh = new Pwsh();
        var r = pwsh.Run("(Get-Command Clear-RemaphoreLatch).Parameters.ContainsKey('WhatIf'); (Get-Command Get-RemaphoreLatch).Parameters.ContainsKey('WhatIf')");
        Assert.False(r.HadErrors, r.ErrorText);
        Assert.True((bool)r.Output[0].BaseObject);
        Assert.False((bool)r.Output[1].BaseObject);
    }

    [Fact]
    public void A_subject_filter_longer_than_NATS_carries_is_a_clear_error_not_an_empty_answer()
    {
        using var fleet = new RemaphoreFleet(nats.Server);
        var (_, b) = fleet.Pair();
        using var pwsh = new Pwsh();
        foreach (var cmdlet in new[] { "Get-RemaphoreLatch", "Clear-RemaphoreLatch -Confirm:$false" })
        {
            var r = pwsh.Run($"param($c, $s) {cmdlet} -Subject $s -ConfigPath $c", new Hashtable { ["c"] = b.ConfigPath, ["s"] = new string('s', 5000) });
            var error = Assert.Single(r.Errors);
            Assert.StartsWith("RemoteOps.RemaphoreInvalidArgument", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
            Assert.Empty(r.Output);
        }
    }
}
