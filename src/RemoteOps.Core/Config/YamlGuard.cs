using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace RemoteOps.Config;

/// <summary>Stands between YamlDotNet's event parser (a loop with its own stack) and its node builder (which recurses
/// once per nesting level, and hashes keys recursively): it refuses nesting deeper than <see cref="MaxDepth"/> and
/// anchors and aliases before a node is built, since a stack overflow cannot be caught and kills the host (pwsh), and
/// a self-referencing alias used as a key would recurse for ever. It also remembers where each open collection began,
/// so that a syntax error about an unclosed bracket names the line of the bracket.</summary>
internal sealed class YamlGuard(IParser inner) : IParser
{
    /// <summary>The config nests four levels at most (seaport: range: [a, b]); 64 leaves room and is far below what
    /// overflows a thread's stack.</summary>
    public const int MaxDepth = 64;

    private readonly Stack<(Mark Start, bool Flow)> _open = new();

    public ParsingEvent? Current => inner.Current;

    /// <summary>Where the innermost collection still open began, and whether it is a flow ([...] or {...}) one.</summary>
    public (Mark Start, bool Flow)? InnermostOpen => _open.Count > 0 ? _open.Peek() : null;

    /// <summary>Where the last event read began.</summary>
    public Mark? LastStart { get; private set; }

    public bool MoveNext()
    {
        if (!inner.MoveNext()) return false;
        var e = inner.Current!;
        LastStart = e.Start;
        switch (e)
        {
            case AnchorAlias:
                throw new YamlGuardException(e.Start, "aliases (*name) are not supported in the config; write the value out.");
            case NodeEvent { Anchor.IsEmpty: false }:
                throw new YamlGuardException(e.Start, "anchors (&name) are not supported in the config; write the value out.");
            case SequenceStart s:
                Open(e.Start, s.Style == YamlDotNet.Core.Events.SequenceStyle.Flow);
                break;
            case MappingStart m:
                Open(e.Start, m.Style == YamlDotNet.Core.Events.MappingStyle.Flow);
                break;
            case SequenceEnd or MappingEnd:
                _open.TryPop(out _);
                break;
        }
        return true;
    }

    private void Open(Mark start, bool flow)
    {
        _open.Push((start, flow));
        if (_open.Count > MaxDepth)
            throw new YamlGuardException(start, $"the YAML nests deeper than {MaxDepth} levels; the config needs four at most.");
    }
}

/// <summary>Input the guard refuses, located.</summary>
internal sealed class YamlGuardException(Mark start, string problem) : Exception(problem)
{
    public Mark Start { get; } = start;
}
