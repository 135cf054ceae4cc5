namespace RemoteOps;

/// <summary>The config file New-RemoteOpsConfig wrote, with the identity it made. FullName, Name and DirectoryName are
/// kept from the FileInfo it used to return, so scripts that read them still work.</summary>
public sealed class RemoteOpsConfigFile
{
    /// <summary>The config file, full path (binds -Path / -ConfigPath by property name).</summary>
    public string Path { get; set; } = "";
    /// <summary>The new identity's public key: give it to the peers, under their peers:.</summary>
    public string PublicKey { get; set; } = "";
    /// <summary>The file holding the new identity's private key (mode 600).</summary>
    public string PrivateKeyFile { get; set; } = "";
    public DateTimeOffset Created { get; set; }

    /// <summary>As FileInfo.FullName: the full path.</summary>
    public string FullName => Path;
    /// <summary>As FileInfo.Name: the file name.</summary>
    public string Name => System.IO.Path.GetFileName(Path);
    /// <summary>As FileInfo.DirectoryName.</summary>
    public string? DirectoryName => System.IO.Path.GetDirectoryName(Path);

    public override string ToString() => Path;
}
