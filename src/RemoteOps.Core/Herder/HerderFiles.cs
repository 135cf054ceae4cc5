namespace RemoteOps.Herder;

/// <summary>The files a minion is given (the seed's form variables): plain names inside its own directory, bounded in
/// size so one request cannot fill a node's disk or memory.</summary>
public static class HerderFiles
{
    /// <summary>The most bytes of files one minion takes, together: far above source code and LaTeX inputs, far below
    /// what would hurt a node.</summary>
    public const long MaxTotalBytes = 32L * 1024 * 1024;
    public const int MaxFiles = 1000;

    /// <summary>Checks every name and the total size; the message names the first problem.</summary>
    /// <exception cref="HerderException">InvalidFile.</exception>
    public static void Validate(IReadOnlyDictionary<string, byte[]> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        if (files.Count > MaxFiles)
            throw new HerderException(HerderFailure.InvalidFile, $"{files.Count} files: a minion takes at most {MaxFiles}.");
        long total = 0;
        foreach (var (name, content) in files)
        {
            if (!TryValidateName(name, out var problem)) throw new HerderException(HerderFailure.InvalidFile, problem);
            total += content?.LongLength ?? 0;
            if (total > MaxTotalBytes)
                throw new HerderException(HerderFailure.InvalidFile,
                    $"The files come to more than {MaxTotalBytes / (1024 * 1024)} MiB (at '{HerderEnvironments.Clean(name)}'): a minion takes at most that; pass large data by URL or from a daemon.");
        }
    }

    /// <summary>A file's content as callers give it: text (written as UTF-8), bytes, a byte sequence, or an existing
    /// file (its bytes, when it is at most <see cref="MaxTotalBytes"/>). Null for anything else.</summary>
    public static byte[]? Content(object? value) => value switch
    {
        string s => System.Text.Encoding.UTF8.GetBytes(s),
        byte[] b => b,
        FileInfo f when f.Exists && f.Length <= MaxTotalBytes => File.ReadAllBytes(f.FullName),
        IEnumerable<object> items when items.All(x => x is byte) => items.Select(x => (byte)x).ToArray(),
        _ => null,
    };

    /// <summary>A plain file name: no directory part, not '.' or '..', no control character, at most 255 characters.</summary>
    public static bool TryValidateName(string? name, out string problem)
    {
        problem = "";
        if (string.IsNullOrEmpty(name)) problem = "A file name is empty.";
        else if (name.Length > 255) problem = $"The file name '{HerderEnvironments.Clean(name)}…' is longer than 255 characters.";
        else if (name.IndexOfAny(['/', '\\']) >= 0 || name is "." or ".." || name.Contains(".."))
            problem = $"The file name '{HerderEnvironments.Clean(name)}' has '/', '\\' or '..': minion files are plain names in the minion's own directory.";
        else if (name.Any(char.IsControl) || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
            problem = $"The file name '{HerderEnvironments.Clean(name)}' has a control or invalid character.";
        return problem.Length == 0;
    }
}
