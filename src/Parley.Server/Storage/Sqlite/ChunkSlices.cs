using Microsoft.Data.Sqlite;

namespace Parley.Server.Storage.Sqlite;

/// <summary>
/// How a chunk of the entries kept behind a watermark (the chats' positions, the sends' keys)
/// reaches its table: a slice of it in each write transaction, in the table's order, until the
/// chunk is whole and the last slice moves the watermark. Written at once, a chunk of 32,768 held
/// the writer for 100–270 ms, and every send queued behind it waited as long (BENCHMARKS.md, "a
/// chunk in slices"). A slice is a thirty-second of it, a few milliseconds.
/// <para>
/// The pages are the same either way: the chunk is in the table's order, so each slice rewrites
/// its own run of leaves. Until the watermark moves, the slices already written are above it, where
/// the reads that take the table's entries only at or below it pass over them, and memory still
/// holds them. A chunk is the positions of its messages in the table's order, taken from memory;
/// each slice reads its entries from the messages at those positions, so an entry is written only
/// for a message still there (not expired since), and one already written (the same slice again
/// after a rollback, or after a stop that left the watermark where it was) is left as it is.
/// </para>
/// <para>Writer thread only.</para>
/// </summary>
/// <param name="chunk">Positions past the watermark before a chunk is due.</param>
/// <param name="insert">Writes the entries of the messages at the positions in <c>$1</c>, a JSON
/// array.</param>
/// <param name="moveWatermark">Sets the watermark to <c>$1</c>.</param>
internal sealed class ChunkSlices(int chunk, string insert, string moveWatermark)
{
    /// <summary>Entries a write transaction takes from a chunk under way.</summary>
    public const int Entries = 1_024;

    /// <summary>The chunk under way (positions in the table's order) and the watermark it ends at.</summary>
    private long[]? _positions;
    private long _upTo;

    /// <summary>How many of the chunk's positions the committed slices wrote; how many the open
    /// transaction's slice reaches.</summary>
    private int _written, _writing;

    public bool UnderWay => _positions is not null;

    /// <summary>Writes the next slice in the writer's open transaction, taking the chunk first if
    /// none is under way: <paramref name="take"/> gives the positions above <paramref name="watermark"/>
    /// up to <paramref name="committedPos"/> in the table's order. The slice that ends the chunk
    /// moves the watermark. Returns the watermark as this transaction leaves it; <see cref="Committed"/>
    /// follows once it has committed, and if it rolls back, the same slice is written again.</summary>
    public long WriteSlice(SqliteConnection connection, long watermark, long committedPos, Func<long, long[]> take)
    {
        if (_positions is null) (_positions, _upTo, _written) = (take(committedPos), committedPos, 0);
        var rest = _positions.Length - _written;
        // Behind by a whole chunk more (a load the slices do not keep up with): the rest at once.
        var count = committedPos - watermark >= 2L * chunk ? rest : Math.Min(Entries, rest);
        if (count > 0)
        {
            // The slice is a run of the table's order, so it rewrites its own leaves whatever order
            // it is written in. In position order its messages are read one after the other, where
            // the table's order would seek each one.
            var slice = _positions[_written..(_written + count)];
            Array.Sort(slice);
            connection.Execute(insert, SqliteChatReads.Json(slice));
        }
        _writing = _written + count;
        if (_writing < _positions.Length) return watermark;
        connection.Execute(moveWatermark, _upTo);
        return _upTo;
    }

    /// <summary>The transaction of the last <see cref="WriteSlice"/> committed; after the chunk's last
    /// slice, none is under way.</summary>
    public void Committed()
    {
        _written = _writing;
        if (_positions is not null && _written == _positions.Length) _positions = null;
    }
}
