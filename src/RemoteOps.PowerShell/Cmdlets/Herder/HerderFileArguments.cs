using System.Collections;
using System.Management.Automation;
using RemoteOps.Herder;

namespace RemoteOps.PowerShell.Cmdlets;

/// <summary>-File of Invoke-HerderMinion and Start-HerderDaemon: the hashtable's values as bytes
/// (<see cref="HerderFiles.Content"/>), PowerShell's wrappers taken off.</summary>
internal static class HerderFileArguments
{
    /// <summary>False (with one error written) when a value is neither text, bytes nor an existing file.</summary>
    public static bool TryRead(Cmdlet cmdlet, Hashtable table, out Dictionary<string, byte[]> files)
    {
        files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in table)
        {
            var name = (entry.Key is PSObject k ? k.BaseObject : entry.Key)?.ToString() ?? "";
            // PowerShell wraps values (and each element of an array it built); the core takes them as they are.
            var value = entry.Value is PSObject v ? v.BaseObject : entry.Value;
            if (value is object[] array) value = array.Select(x => x is PSObject p ? p.BaseObject : x).ToArray();
            var bytes = HerderFiles.Content(value);
            if (bytes is null)
            {
                cmdlet.WriteError(new ErrorRecord(new ArgumentException(
                    $"-File '{name}': give its content as a string, a byte array, or a FileInfo (Get-Item) of an existing file of at most {HerderFiles.MaxTotalBytes / (1024 * 1024)} MiB."),
                    "RemoteOps.HerderInvalidFile", ErrorCategory.InvalidArgument, name));
                return false;
            }
            files[name] = bytes;
        }
        return true;
    }
}
