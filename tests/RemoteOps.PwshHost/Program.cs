using System.Management.Automation;
using System.Management.Automation.Runspaces;
using RemoteOps.TestSupport;

// Usage: RemoteOps.PwshHost -Command "<script>"  |  RemoteOps.PwshHost -File script.ps1 [args...]
// Output objects go to stdout (one ToString() per line, flushed at once), errors to stderr.
// Exit code: $global:ExitCode if the script sets it, else 1 if any error was written ($? false), else 0.
// SIGINT/SIGTERM stop the pipeline as Ctrl+C does in pwsh.
string script;
var rest = new List<string>();
if (args.Length >= 2 && args[0].Equals("-Command", StringComparison.OrdinalIgnoreCase)) script = args[1];
else if (args.Length >= 2 && args[0].Equals("-File", StringComparison.OrdinalIgnoreCase))
{
    script = File.ReadAllText(args[1]);
    rest.AddRange(args.Skip(2));
}
else
{
    Console.Error.WriteLine("usage: RemoteOps.PwshHost -Command <script> | -File <path> [args...]");
    return 2;
}

var iss = InitialSessionState.CreateDefault2();
iss.ImportPSModule(Environment.GetEnvironmentVariable("REMOTEOPS_MODULE") is { Length: > 0 } m ? m : Repo.ModuleManifest);
using var runspace = RunspaceFactory.CreateRunspace(iss);
runspace.Open();
using var ps = PowerShell.Create(runspace);
ps.AddScript(script);
foreach (var a in rest) ps.AddArgument(a);

Console.CancelKeyPress += (_, e) => { e.Cancel = true; ps.BeginStop(null, null); };
using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; ps.BeginStop(null, null); });

var output = new PSDataCollection<PSObject>();
output.DataAdded += (_, e) => { Console.Out.WriteLine(output[e.Index]?.ToString()); Console.Out.Flush(); };
ps.Streams.Error.DataAdded += (_, e) => Console.Error.WriteLine(ps.Streams.Error[e.Index].ToString());
int code = 0;
try
{
    ps.Invoke(null, output);
    if (ps.HadErrors) code = 1;
    // A hosted runspace ignores `exit N`; a script picks its exit code with $global:ExitCode = N.
    if (runspace.SessionStateProxy.GetVariable("ExitCode") is { } chosen)
        code = LanguagePrimitives.ConvertTo<int>(chosen);
}
catch (ExitException exit)
{
    code = LanguagePrimitives.ConvertTo<int>(exit.Argument ?? 0);
}
catch (PipelineStoppedException) { code = 130; }
catch (RuntimeException e)
{
    Console.Error.WriteLine(e.ErrorRecord.ToString());
    code = 1;
}
return code;
