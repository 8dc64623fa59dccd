using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Parley.Server.Storage;

/// <summary>
/// Where a reader stands in the event stream: the resume cursor, an opaque string to clients.
/// <para>
/// Every event has a position from one growing sequence, taken while its chat's row is locked, so a
/// chat's events are in position order. A store with one writer (SQLite) commits positions in order
/// and its events carry no writer: the cursor is then a single position, the <see cref="Floor"/>.
/// A store with several writers (PostgreSQL nodes) commits each writer's positions in order, but
/// the writers interleave: the cursor then also holds a position per writer that is ahead of the
/// floor. It promises that every event of writer <c>w</c> at or below <see cref="Bound"/>(w) has
/// been seen; nothing is said of positions above it.
/// </para>
/// Text: <c>F</c>, or <c>F_w-p_w-p</c> with writers ascending and every <c>p</c> above <c>F</c>;
/// a plain number (every cursor handed out before there were writers) reads as a floor.
/// </summary>
public sealed class StreamCursor : IEquatable<StreamCursor>
{
    /// <summary>More writers than this in one cursor is not a cursor this server made.</summary>
    public const int MaxWriters = 256;

    public static readonly StreamCursor Start = new(0, []);

    private readonly (int Writer, long Pos)[] _entries;

    private StreamCursor(long floor, (int Writer, long Pos)[] entries)
    {
        Floor = floor;
        _entries = entries;
    }

    /// <summary>Every event at or below this position has been seen, whichever writer stored it.</summary>
    public long Floor { get; }

    /// <summary>Writers seen past the floor, ascending.</summary>
    public IReadOnlyList<(int Writer, long Pos)> Entries => _entries;

    public static StreamCursor AtFloor(long floor) => floor == 0 ? Start : new(floor, []);

    /// <summary>A cursor from a floor and writer positions; positions at or below the floor are dropped.</summary>
    public static StreamCursor Of(long floor, IEnumerable<(int Writer, long Pos)> entries) =>
        new(floor, entries.Where(e => e.Pos > floor).GroupBy(e => e.Writer)
            .Select(g => (g.Key, g.Max(e => e.Pos))).OrderBy(e => e.Key).ToArray());

    /// <summary>The position up to which <paramref name="writer"/>'s events have been seen
    /// (null: the events of a single-writer store).</summary>
    public long Bound(int? writer)
    {
        if (writer is not { } w) return Floor;
        foreach (var (entryWriter, pos) in _entries)
        {
            if (entryWriter == w) return pos;
        }
        return Floor;
    }

    public bool Covers(int? writer, long pos) => pos <= Bound(writer);

    /// <summary>The cursor once the event at <paramref name="pos"/> of <paramref name="writer"/>
    /// has been seen as well (the events before it of the same writer having been seen).</summary>
    public StreamCursor Advance(int? writer, long pos)
    {
        if (Covers(writer, pos)) return this;
        if (writer is not { } w) return _entries.Length == 0 ? new(pos, _entries) : Of(pos, _entries);
        // The writer's entry replaced or inserted in place: this runs once per delivered event.
        var at = 0;
        while (at < _entries.Length && _entries[at].Writer < w) at++;
        var replaces = at < _entries.Length && _entries[at].Writer == w;
        var entries = new (int Writer, long Pos)[_entries.Length + (replaces ? 0 : 1)];
        _entries.AsSpan(0, at).CopyTo(entries);
        entries[at] = (w, pos);
        _entries.AsSpan(replaces ? at + 1 : at).CopyTo(entries.AsSpan(at + 1));
        return new(Floor, entries);
    }

    /// <summary>True when every bound lies at or below <paramref name="current"/>'s: a cursor this
    /// store could have handed out by now.</summary>
    public bool IsWithin(StreamCursor current) =>
        Floor <= current.Floor && _entries.All(e => e.Pos <= current.Bound(e.Writer));

    /// <summary>The cursor after a page read from this cursor up to <paramref name="upTo"/> (what was
    /// committed when the page was read) that holds every event up to <paramref name="last"/>
    /// (null: every event of the range). Each writer's bound becomes the lower of the two, never
    /// falling behind this cursor's.</summary>
    public StreamCursor PageEnd(StreamCursor upTo, long? last)
    {
        var limit = last ?? long.MaxValue;
        var floor = Math.Max(Floor, Math.Min(limit, upTo.Floor));
        var writers = _entries.Select(e => e.Writer).Concat(upTo._entries.Select(e => e.Writer)).Distinct();
        return Of(floor, writers.Select(w => (w, Math.Max(Bound(w), Math.Min(limit, upTo.Bound(w))))));
    }

    public override string ToString()
    {
        if (_entries.Length == 0) return Floor.ToString(CultureInfo.InvariantCulture);
        var text = new byte[MaxTextBytes(_entries.Length)];
        return Encoding.ASCII.GetString(text, 0, WriteText(Floor, _entries, text));
    }

    /// <summary>Writes this cursor's text as UTF-8 into <paramref name="into"/> (room for
    /// <see cref="MaxTextBytes"/> of its writers) and returns its length.</summary>
    public int WriteText(Span<byte> into) => WriteText(Floor, _entries, into);

    /// <summary>Room enough for the text of a cursor with <paramref name="writers"/> writers ahead of its floor.</summary>
    public static int MaxTextBytes(int writers) => 20 + 32 * writers;

    /// <summary>Writes a cursor's text (its floor, then its writers ahead of it, ascending) as UTF-8
    /// into <paramref name="into"/> and returns its length: the one place the format is written
    /// (<see cref="TryParse"/> reads it). Digits, <c>_</c> and <c>-</c> only, nothing to escape in JSON.</summary>
    public static int WriteText(long floor, ReadOnlySpan<(int Writer, long Pos)> entries, Span<byte> into)
    {
        var at = Number(floor, into);
        foreach (var (writer, pos) in entries)
        {
            into[at++] = (byte)'_';
            at += Number(writer, into[at..]);
            into[at++] = (byte)'-';
            at += Number(pos, into[at..]);
        }
        return at;
    }

    private static int Number(long value, Span<byte> into) =>
        Utf8Formatter.TryFormat(value, into, out var written) ? written : throw new ArgumentException("No room for a cursor's text.", nameof(into));

    /// <summary>Reads a cursor's text; false for anything this server would not have written.</summary>
    public static bool TryParse(string? text, out StreamCursor cursor)
    {
        cursor = Start;
        if (string.IsNullOrEmpty(text) || text.Length > MaxWriters * 32) return false;
        var parts = text.Split('_');
        if (parts.Length - 1 > MaxWriters || !TryNumber(parts[0], out var floor)) return false;
        var entries = new (int Writer, long Pos)[parts.Length - 1];
        for (var i = 1; i < parts.Length; i++)
        {
            var dash = parts[i].IndexOf('-', StringComparison.Ordinal);
            if (dash <= 0 || !TryNumber(parts[i][..dash], out var writer) || writer > int.MaxValue
                || !TryNumber(parts[i][(dash + 1)..], out var pos) || pos <= floor
                || (i > 1 && writer <= entries[i - 2].Writer)) return false;
            entries[i - 1] = ((int)writer, pos);
        }
        cursor = new StreamCursor(floor, entries);
        return true;
    }

    private static bool TryNumber(string text, out long value) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    public bool Equals(StreamCursor? other) =>
        other is not null && Floor == other.Floor && _entries.AsSpan().SequenceEqual(other._entries);

    public override bool Equals(object? obj) => Equals(obj as StreamCursor);

    public override int GetHashCode() => HashCode.Combine(Floor, _entries.Length);
}
