using System.Collections.Specialized;
using System.Management.Automation;
using System.Text.Json;

namespace RemoteOps.PowerShell.Internal;

/// <summary>A JSON value as the PowerShell object ConvertFrom-Json would make of it: an object is a PSCustomObject
/// (or an ordered hashtable when asked), an array an object[], an integer an Int64 (a Double past its range), any
/// other number a Double, true/false a Boolean, null null.</summary>
internal static class JsonToPowerShell
{
    /// <summary>Deeper than this and the value is refused (JSON that deep is no object anyone pipes on).</summary>
    public const int MaxDepth = 64;

    /// <exception cref="JsonException">Not JSON, or nested deeper than <see cref="MaxDepth"/>.</exception>
    public static object? Convert(string json, bool asHashtable)
    {
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = MaxDepth });
        return Convert(document.RootElement, asHashtable);
    }

    public static object? Convert(JsonElement element, bool asHashtable) => element.ValueKind switch
    {
        JsonValueKind.Object => asHashtable ? ToHashtable(element) : ToCustomObject(element),
        JsonValueKind.Array => element.EnumerateArray().Select(e => Convert(e, asHashtable)).ToArray(),
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.TryGetInt64(out var l) ? (object)l : element.GetDouble(), // (object): else the ternary makes every number a double
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    private static OrderedDictionary ToHashtable(JsonElement element)
    {
        // Case-insensitive, as PowerShell's own hashtables; a later duplicate (differing in case only) wins.
        var table = new OrderedDictionary(StringComparer.OrdinalIgnoreCase);
        foreach (var p in element.EnumerateObject()) table[p.Name] = Convert(p.Value, asHashtable: true);
        return table;
    }

    private static PSObject ToCustomObject(JsonElement element)
    {
        var result = new PSObject();
        foreach (var p in element.EnumerateObject())
        {
            if (p.Name.Length == 0) throw new JsonException("The value has a property whose name is empty, which a PSCustomObject cannot hold; use -AsHashtable.");
            // PSObject's members are case-insensitive: a later duplicate replaces the earlier one, as ConvertFrom-Json would refuse to guess.
            if (result.Properties[p.Name] is { } existing) result.Properties.Remove(existing.Name);
            result.Properties.Add(new PSNoteProperty(p.Name, Convert(p.Value, asHashtable: false)));
        }
        return result;
    }
}
