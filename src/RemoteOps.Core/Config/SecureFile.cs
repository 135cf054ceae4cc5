using System.Text;

namespace RemoteOps.Config;

/// <summary>Writes files that only their owner may read (mode 600 on Unix, set at creation so no other user
/// can open them in between). On Windows the per-user profile's ACLs already restrict them.</summary>
public static class SecureFile
{
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <exception cref="IOException">The file exists and <paramref name="overwrite"/> is false.</exception>
    public static void WriteAllText(string path, string text, bool overwrite)
    {
        var options = new FileStreamOptions
        {
            Mode = overwrite ? FileMode.Create : FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
        };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = OwnerOnly;
        using (var stream = new FileStream(path, options))
        using (var writer = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)))
            writer.Write(text);
        // UnixCreateMode applies only to a new file; an overwritten one keeps its mode, so set it.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, OwnerOnly);
    }
}
