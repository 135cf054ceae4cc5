namespace RemoteOps.Config;

/// <summary>The registry of tool sections. Each tool registers its reader from its own folder (a module initializer),
/// so adding a tool edits neither the loader nor a list of known keys.</summary>
public static class ConfigSections
{
    private static readonly Lock Gate = new();
    private static ConfigSectionReader[] _readers = [];

    /// <summary>The registered readers, ordered by tool name.</summary>
    public static IReadOnlyList<ConfigSectionReader> Readers => Volatile.Read(ref _readers);

    /// <summary>Adds a reader. Registering the same reader type again is a no-op (initializers may run more than once
    /// in tests); a second reader for a section type, or a top-level key someone already owns, is a programming error.</summary>
    public static void Register(ConfigSectionReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        lock (Gate)
        {
            var current = _readers;
            if (current.Any(r => r.GetType() == reader.GetType())) return;
            if (current.FirstOrDefault(r => r.SectionType == reader.SectionType) is { } sameType)
                throw new InvalidOperationException($"The config section {reader.SectionType.Name} already has a reader ({sameType.GetType().Name}).");
            foreach (var key in reader.TopLevelKeys)
            {
                if (ConfigLoader.SharedKeys.Contains(key) || ConfigLoader.SharedAliases.Contains(key))
                    throw new InvalidOperationException($"The config key '{key}' of {reader.Tool} is a shared key.");
                if (current.FirstOrDefault(r => r.TopLevelKeys.Contains(key)) is { } owner)
                    throw new InvalidOperationException($"The config key '{key}' of {reader.Tool} is already read by {owner.Tool}.");
            }
            Volatile.Write(ref _readers, [.. current.Append(reader).OrderBy(r => r.Tool, StringComparer.Ordinal)]);
        }
    }

    /// <summary>The reader that owns a top-level key, if any.</summary>
    internal static ConfigSectionReader? OwnerOf(string topLevelKey)
    {
        foreach (var reader in Readers)
            if (reader.TopLevelKeys.Contains(topLevelKey)) return reader;
        return null;
    }

    /// <summary>Every top-level key, shared first then each tool's, for the unknown-key message.</summary>
    internal static string KnownTopLevelKeys() =>
        string.Join(", ", ConfigLoader.SharedKeys.Concat(Readers.SelectMany(r => r.TopLevelKeys)));
}
