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
    public readonly int ExtraBytes => CursorMember.Length + 2 + StreamCursor.MaxTextBytes(_count);

    private static ReadOnlySpan<byte> CursorMember => ",\"cursor\":\""u8;

    /// <summary>Writes <paramref name="frame"/> (a JSON object) with <c>"cursor":"…"</c> added at its
    /// end into <paramref name="into"/>; returns the length.</summary>
    public readonly int WriteFrame(ReadOnlySpan<byte> frame, Span<byte> into)
    {
        frame[..^1].CopyTo(into);
        var at = frame.Length - 1;
        CursorMember.CopyTo(into[at..]);
        at += CursorMember.Length;
        at += StreamCursor.WriteText(_floor, _ahead.AsSpan(0, _count), into[at..]);
        into[at++] = (byte)'"';
        into[at++] = (byte)'}';
        return at;
    }

    public override readonly string ToString()
    {
        var text = new byte[StreamCursor.MaxTextBytes(_count)];
        return System.Text.Encoding.ASCII.GetString(text, 0, StreamCursor.WriteText(_floor, _ahead.AsSpan(0, _count), text));
    }
}
