using System.Buffers.Text;
using Parley.Server.Storage;

namespace Parley.Server.Realtime;

/// <summary>
/// What one connection has sent of the event stream: the <see cref="StreamCursor"/> its next frame
/// carries, kept as mutable fields so that moving it costs no allocation per frame (a group message
/// is one frame per member). Events of a store with one writer move only the floor; with several
/// writers, each writer's position ahead of the floor is kept, ascending by writer.
/// </summary>
internal struct SentCursor
{
    private long _floor;
    private (int Writer, long Pos)[]? _ahead;
    private int _count;

    public void Reset(StreamCursor cursor)
    {
        _floor = cursor.Floor;
        _count = 0;
        foreach (var (writer, pos) in cursor.Entries) Advance(writer, pos);
    }

    /// <summary>Moves past an event; false when the cursor already covers it (sent before, or by the backlog).</summary>
    public bool Advance(int? writer, long pos)
    {
        if (writer is not { } w)
        {
            if (pos <= _floor) return false;
            _floor = pos;
            return true;
        }
        var at = 0;
        while (at < _count && _ahead![at].Writer < w) at++;
        var found = at < _count && _ahead![at].Writer == w;
        if (pos <= (found ? _ahead![at].Pos : _floor)) return false;
        if (!found)
        {
            if (_ahead is null || _count == _ahead.Length) Array.Resize(ref _ahead, Math.Max(4, _count * 2));
            Array.Copy(_ahead, at, _ahead, at + 1, _count - at);
            _count++;
        }
        _ahead![at] = (w, pos);
        return true;
    }

    /// <summary>Room enough for <see cref="WriteFrame"/> beyond the frame itself.</summary>
    public readonly int ExtraBytes => 16 + 20 * (1 + 2 * _count);

    /// <summary>Writes <paramref name="frame"/> (a JSON object) with <c>"cursor":"…"</c> added at its
    /// end into <paramref name="into"/>; returns the length. The text is <see cref="StreamCursor"/>'s:
    /// digits, <c>_</c> and <c>-</c>, nothing to escape.</summary>
    public readonly int WriteFrame(ReadOnlySpan<byte> frame, Span<byte> into)
    {
        frame[..^1].CopyTo(into);
        var at = frame.Length - 1;
        at += Copy(",\"cursor\":\""u8, into[at..]);
        at += Number(_floor, into[at..]);
        for (var i = 0; i < _count; i++)
        {
            into[at++] = (byte)'_';
            at += Number(_ahead![i].Writer, into[at..]);
            into[at++] = (byte)'-';
            at += Number(_ahead[i].Pos, into[at..]);
        }
        into[at++] = (byte)'"';
        into[at++] = (byte)'}';
        return at;
    }

    private static int Copy(ReadOnlySpan<byte> text, Span<byte> into)
    {
        text.CopyTo(into);
        return text.Length;
    }

    private static int Number(long value, Span<byte> into) =>
        Utf8Formatter.TryFormat(value, into, out var written) ? written : throw new InvalidOperationException("No room for a cursor.");

    public override readonly string ToString()
    {
        var entries = new (int, long)[_count];
        if (_count > 0) Array.Copy(_ahead!, entries, _count);
        return StreamCursor.Of(_floor, entries).ToString();
    }
}
