using Microsoft.Data.Sqlite;

namespace Parley.Server.Storage.Sqlite;

/// <summary>
/// How a chunk of the entries kept behind a watermark (the chats' positions, the sends' keys)
/// reaches its table: a slice of it in each write transaction, in the table's order, until the
/// chunk is whole and the last slice moves the watermark. Written at once, a chunk of 32,768 held
/// the writer for 100–270 ms, and every send queued behind it waited as long (BENCHMARKS.md, "a
/// chunk in slices"). A slice is a few hundred entries, a few milliseconds (<see cref="SliceFor"/>).
/// <para>
/// The pages are the same either way: the chunk is in the table's order, so each slice rewrites
/// its own run of leaves. Until the watermark moves, the slices already written are above it, and
/// memory still holds their entries: the reads of a chat's positions take the table's only at or
/// below the watermark, and a key's lookup may name a position from both, which does no harm: the
/// first whose message carries the key is the original. A chunk is the positions of its messages in the table's order, taken from memory;
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
    /// <summary>Entries a write transaction takes from a chunk under way: two for each operation in
    /// its batch, and at least 256. A slice then grows with its batch's own work, where a fixed one
    /// large enough for a batch of 512 sends would cost a batch of a few sends many times its own;
    /// and the chunk is whole after at most half a chunk of sends, long before the next is due.</summary>
    public static int SliceFor(int batchOperations) => Math.Max(MinEntries, 2 * batchOperations);

    public const int MinEntries = 256;

    /// <summary>Entries a statement writes at most.</summary>
    private const int StatementEntries = 1_024;

    /// <summary>The chunk under way (positions in the table's order), if one is, and the watermark
    /// it ends at. The list and the slice's array are kept from chunk to chunk: a chunk's positions
    /// take 256 KiB, which the runtime places in its large object heap, collected only with the
    /// whole heap. Sized at the start for a chunk and the batches that pass it (an eighth more), so
    /// that a list growing leaves no arrays there either.</summary>
    private readonly List<long> _positions = new(ChunkCapacity(chunk));
    private readonly long[] _slice = new long[StatementEntries];
    private bool _underWay;
    private long _upTo;

    /// <summary>How many of the chunk's positions the committed slices wrote; how many the open
    /// transaction's slice reaches.</summary>
    private int _written, _writing;

    public bool UnderWay => _underWay;

    /// <summary>What a list of a chunk's entries is sized for.</summary>
    public static int ChunkCapacity(int chunk) => chunk + chunk / 8;

    /// <summary>Writes the next slice in the writer's open transaction, taking the chunk first if
    /// none is under way: <paramref name="take"/> adds the positions above <paramref name="watermark"/>
    /// up to <paramref name="committedPos"/> to the list it is given, in the table's order. The
    /// slice that ends the chunk moves the watermark. Returns the watermark as this transaction
    /// leaves it; <see cref="Committed"/> follows once it has committed, and if it rolls back, the
    /// same slice is written again. <paramref name="batchOperations"/> sizes the slice
    /// (<see cref="SliceFor"/>).</summary>
    public long WriteSlice(SqliteConnection connection, long watermark, long committedPos, int batchOperations,
        Action<long, List<long>> take)
    {
        if (!_underWay)
        {
            _positions.Clear();
            take(committedPos, _positions);
            (_underWay, _upTo, _written) = (true, committedPos, 0);
        }
        // Behind by a whole chunk more (a load the slices do not keep up with): the rest at once.
        var rest = _positions.Count - _written;
        var count = committedPos - watermark >= 2L * chunk ? rest : Math.Min(SliceFor(batchOperations), rest);
        for (var at = _written; at < _written + count; at += StatementEntries)
        {
            // The slice is a run of the table's order, so it rewrites its own leaves whatever order
            // it is written in. In position order its messages are read one after the other.
            var length = Math.Min(StatementEntries, _written + count - at);
            _positions.CopyTo(at, _slice, 0, length);
            Array.Sort(_slice, 0, length);
            connection.Execute(insert, SqliteChatReads.Json(new ArraySegment<long>(_slice, 0, length)));
        }
        _writing = _written + count;
        if (_writing < _positions.Count) return watermark;
        connection.Execute(moveWatermark, _upTo);
        return _upTo;
    }

    /// <summary>The transaction of the last <see cref="WriteSlice"/> committed; after the chunk's last
    /// slice, none is under way.</summary>
    public void Committed()
    {
        _written = _writing;
        if (_underWay && _written == _positions.Count) _underWay = false;
    }
}
