using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Text.Json;
using PuppeteerSharp;
using RemoteOps.Herder;
using RemoteOps.TestSupport;

namespace RemoteOps.Benchmarks;

/// <summary>The golem evaluate round trip: `1+1` through herder (the core, and Invoke-HerderGolem in a hosted
/// runspace) against PuppeteerSharp's own EvaluateExpressionAsync on the same page, in one run.</summary>
public static class HerderGolemBenchmarks
{
    private const int Runs = 300, WarmUps = 30;

    public static async Task RunAsync(Report report)
    {
        if (HerderGolemBrowser.Locate(HerderConfig.DefaultBrowser) is null) { Console.WriteLine("  chromium: not installed, skipped"); return; }
        await using var pages = new TestPages(new Dictionary<string, string> { ["/bench.html"] = TestPages.GolemPage });
        var config = new HerderConfig { MaxTimeout = TimeSpan.FromMinutes(2) };
        var herd = HerderGolemHerd.Session;
        var start = Stopwatch.StartNew();
        await herd.StartAsync(config, pages.Url("/bench.html"), "bench", "benchmark", CancellationToken.None);
        report.Add("golem start (Chromium up, page loaded, bootstrap run)", Samples.Micros(start.Elapsed.TotalMicroseconds));
        try
        {
            var page = herd.PageOf("bench");
            using var runspace = CmdletRunspace(pages.Url("/bench.html"));
            // Interleaved, so all three see the same machine load.
            var raw = new Samples();
            var core = new Samples();
            var cmdlet = new Samples();
            for (var i = 0; i < Runs + WarmUps; i++)
            {
                var t0 = Stopwatch.GetTimestamp();
                await page.EvaluateExpressionAsync<JsonElement>("1+1");
                var t1 = Stopwatch.GetTimestamp();
                await herd.EvaluateAsync("bench", "1+1", TimeSpan.FromMinutes(1), CancellationToken.None);
                var t2 = Stopwatch.GetTimestamp();
                InvokeCmdlet(runspace);
                var t3 = Stopwatch.GetTimestamp();
                if (i >= WarmUps) { raw.AddTicks(t1 - t0); core.AddTicks(t2 - t1); cmdlet.AddTicks(t3 - t2); }
            }
            report.Add("raw PuppeteerSharp EvaluateExpressionAsync(\"1+1\"), p50", Samples.Micros(raw.Percentile(50)));
            report.Add("golem evaluate \"1+1\" (core: HerderGolemHerd.EvaluateAsync), p50", Samples.Micros(core.Percentile(50)),
                Samples.Micros(raw.Percentile(50)), core.Percentile(50) / raw.Percentile(50));
            report.Add("golem evaluate \"1+1\" (core), p99", Samples.Micros(core.Percentile(99)),
                Samples.Micros(raw.Percentile(99)), core.Percentile(99) / raw.Percentile(99));
            report.Add("Invoke-HerderGolem -Script \"1+1\" in a hosted runspace (its own golem on the same page), p50", Samples.Micros(cmdlet.Percentile(50)),
                Samples.Micros(raw.Percentile(50)), cmdlet.Percentile(50) / raw.Percentile(50));
            report.Add("Invoke-HerderGolem (cmdlet), p99", Samples.Micros(cmdlet.Percentile(99)),
                Samples.Micros(raw.Percentile(99)), cmdlet.Percentile(99) / raw.Percentile(99));
            using (var stop = PowerShell.Create(runspace)) stop.AddCommand("Stop-HerderGolem").AddParameter("Name", "bench-cmdlet").Invoke();
        }
        finally
        {
            await herd.StopAsync("bench");
        }
    }

    /// <summary>The cmdlet as a user calls it: the module imported as users do (its core in the module's own load
    /// context, so it starts its own golem), one PowerShell invocation per call.</summary>
    private static Runspace CmdletRunspace(string url)
    {
        var state = InitialSessionState.CreateDefault2();
        state.ImportPSModule(Repo.ModuleManifest);
        var runspace = RunspaceFactory.CreateRunspace(state);
        runspace.Open();
        using var start = PowerShell.Create(runspace);
        start.AddCommand("Start-HerderGolem").AddParameter("Url", url).AddParameter("Name", "bench-cmdlet").Invoke();
        if (start.HadErrors) throw new InvalidOperationException(string.Join("; ", start.Streams.Error));
        return runspace;
    }

    private static void InvokeCmdlet(Runspace runspace)
    {
        using var ps = PowerShell.Create(runspace);
        var result = ps.AddCommand("Invoke-HerderGolem").AddParameter("Name", "bench-cmdlet").AddParameter("Script", "1+1").Invoke();
        if (result.Count != 1 || result[0].BaseObject is not 2L) throw new InvalidOperationException("Invoke-HerderGolem did not return 2.");
    }
}
