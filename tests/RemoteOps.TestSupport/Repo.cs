namespace RemoteOps.TestSupport;

/// <summary>Locations in the repository, found from the test binaries upward.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    /// <summary>The built, importable module: out/RemoteOps/RemoteOps.psd1.</summary>
    public static string ModuleManifest => Path.Combine(Root, "out", "RemoteOps", "RemoteOps.psd1");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "RemoteOps.sln"))) return dir.FullName;
        throw new InvalidOperationException("RemoteOps.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>A temp directory removed on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("remoteops-test-").FullName;
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
