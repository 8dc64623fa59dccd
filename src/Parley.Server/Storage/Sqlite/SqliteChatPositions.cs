using Microsoft.Data.Sqlite;

namespace Parley.Server.Storage.Sqlite;

/// <summary>
/// Where each chat's messages are, (chat, position), written to <c>chat_positions</c> a chunk at a
/// time in chat order behind a watermark, instead of into an index on the messages in every send's
/// transaction. Every chat's newest entries sat in a leaf of that index of their own, so a batch of
/// sends to different chats wrote a page to the log for nearly every send (BENCHMARKS.md, "the chat
/// index's page a send"). Written a chunk at a time, a chat's entries of the whole chunk share its
/// leaf, and the page is written once a chunk instead of once a send.
/// <para>
/// <c>chat_positions_indexed.indexed_pos</c> is the watermark: every message at or below it has its
/// entry in the table. The entries above it are held here, in memory, per chat and in position
/// order: the writer adds each message's entry before its transaction commits, and they are read
/// back from the messages when the store opens (after a crash too). A read of a chat therefore
/// takes the table's entries at or below the watermark its snapshot sees, and this store's entries
/// above it; see <see cref="SqliteChatReads"/>.
/// </para>
/// <para>
/// An entry here may name a position whose message the reader cannot see (not committed yet, or
/// expired): every read joins the entry to the message and checks its chat, so such an entry is
/// passed over. The writer forgets the entries of a rolled-back transaction before it hands their
/// positions out again. Entries at or below a watermark leave memory only when the next watermark
/// commits, so a reader whose snapshot is a chunk old still finds them; one older than that reads
/// again (<see cref="SnapshotTooOldException"/>).
/// </para>
/// </summary>
internal sealed class SqliteChatPositions
{
    /// <summary>Positions past the watermark before the writer writes their entries to the table. A
    /// chunk rewrites about a leaf for each chat it holds, however many entries each has, so a
    /// larger one costs fewer pages a send (BENCHMARKS.md, "the sends' keys as hashes").</summary>
    public const int Chunk = 32_768;

    private readonly object _gate = new();
    private readonly Dictionary<string, List<long>> _recent = new(StringComparer.Ordinal);

    /// <summary>The watermark as last committed (changed by the writer, under the gate).</summary>
    private long _indexedPos;

    /// <summary>Every entry above it is in <see cref="_recent"/> (a watermark that committed earlier).</summary>
    private long _floor;

    /// <summary>The chunk under way, a slice a write transaction. Each entry is read from its
    /// message, so it names the chat the message is in.</summary>
    private readonly ChunkSlices _slices = new(Chunk, """
        INSERT INTO chat_positions (chat_id, pos)
        SELECT m.chat_id, m.pos FROM json_each($1) j JOIN messages m ON m.pos = j.value
        WHERE true
        ON CONFLICT DO NOTHING
        """, "UPDATE chat_positions_indexed SET indexed_pos = $1");

    /// <summary>Reads the watermark and the entries above it (once, when the database opens).</summary>
    public void Load(SqliteConnection connection)
    {
        lock (_gate)
        {
            _indexedPos = connection.Scalar("SELECT indexed_pos FROM chat_positions_indexed");
            _floor = _indexedPos;
            _recent.Clear();
            foreach (var (chat, pos) in connection.Query(r => (r.GetString(0), r.GetInt64(1)),
                "SELECT chat_id, pos FROM messages WHERE pos > $1 ORDER BY pos", _indexedPos))
            {
                Append(chat, pos);
            }
        }
    }

    /// <summary>A message of <paramref name="chatId"/> was written at <paramref name="pos"/> in the
    /// writer's open transaction (positions only rise until a rollback, see <see cref="ForgetAbove"/>).</summary>
    public void Added(string chatId, long pos)
    {
        lock (_gate) Append(chatId, pos);
    }

    private void Append(string chatId, long pos)
    {
        if (!_recent.TryGetValue(chatId, out var positions))
        {
            positions = [];
            _recent[chatId] = positions;
        }
        positions.Add(pos);
    }

    /// <summary>The writer rolled back everything above <paramref name="pos"/> and will hand those
    /// positions out again.</summary>
    public void ForgetAbove(long pos)
    {
        lock (_gate)
        {
            foreach (var positions in _recent.Values)
            {
                var keep = CountAtOrBelow(positions, pos);
                if (keep < positions.Count) positions.RemoveRange(keep, positions.Count - keep);
            }
        }
    }

    /// <summary>Whether the writer, with every position up to <paramref name="committedPos"/>
    /// committed, should write a slice of entries in this transaction: a chunk is under way, or one
    /// is due (writer thread only).</summary>
    public bool Due(long committedPos) => _slices.UnderWay || committedPos - Volatile.Read(ref _indexedPos) >= Chunk;

    /// <summary>Writes the next slice of the chunk (<see cref="ChunkSlices"/>) in the writer's open
    /// transaction; returns the watermark as it leaves it, for <see cref="Committed"/>.</summary>
    public long WriteSlice(SqliteConnection connection, long committedPos, int batchOperations) =>
        _slices.WriteSlice(connection, _indexedPos, committedPos, batchOperations, TakeChunk);

    /// <summary>Adds the chunk to <paramref name="chunk"/>: the positions above the watermark up to
    /// <paramref name="upTo"/>, in the table's order (chat, ordinal as SQLite compares the ids
    /// Parley makes; then position).</summary>
    private void TakeChunk(long upTo, List<long> chunk)
    {
        lock (_gate)
        {
            _chunkChats.Clear();
            foreach (var (chat, positions) in _recent)
            {
                var from = CountAtOrBelow(positions, _indexedPos);
                var to = CountAtOrBelow(positions, upTo);
                if (to > from) _chunkChats.Add((chat, from, to, positions));
            }
            _chunkChats.Sort((x, y) => string.CompareOrdinal(x.Chat, y.Chat));
            foreach (var (_, from, to, positions) in _chunkChats)
            {
                for (var i = from; i < to; i++) chunk.Add(positions[i]);
            }
            _chunkChats.Clear();
        }
    }

    /// <summary>The chats of a chunk being taken (kept for the next).</summary>
    private readonly List<(string Chat, int From, int To, List<long> Positions)> _chunkChats = [];

    /// <summary>The transaction of a slice committed, leaving the watermark at
    /// <paramref name="indexedPos"/>. If that moved it, the entries at or below the previous
    /// watermark leave memory (see the class's remarks).</summary>
    public void Committed(long indexedPos)
    {
        _slices.Committed();
        if (indexedPos <= _indexedPos) return;
        lock (_gate)
        {
            _floor = _indexedPos;
            Volatile.Write(ref _indexedPos, indexedPos);
            List<string>? emptied = null;
            foreach (var (chat, positions) in _recent)
            {
                positions.RemoveRange(0, CountAtOrBelow(positions, _floor));
                if (positions.Count == 0) (emptied ??= []).Add(chat);
            }
            if (emptied is not null) foreach (var chat in emptied) _recent.Remove(chat);
        }
    }

    /// <summary>The chat's entries above <paramref name="watermark"/> (the one the reader's snapshot
    /// sees) in (<paramref name="after"/>, <paramref name="before"/>), at most <paramref name="max"/>
    /// of them: the newest when <paramref name="newestFirst"/>, else the oldest; in that order.</summary>
    public long[] Take(string chatId, long watermark, long after, long before, int max, bool newestFirst)
    {
        // A range wholly at or below the watermark (an older history page) is the table's alone:
        // no lock for it.
        if (before - 1 <= Math.Max(after, watermark)) return [];
        lock (_gate)
        {
            if (_floor > watermark) throw new SnapshotTooOldException();
            if (!_recent.TryGetValue(chatId, out var positions)) return [];
            var from = CountAtOrBelow(positions, Math.Max(after, watermark));
            var to = CountAtOrBelow(positions, before - 1);
            var count = Math.Min(max, to - from);
            if (count <= 0) return [];
            var taken = new long[count];
            if (newestFirst)
            {
                for (var i = 0; i < count; i++) taken[i] = positions[to - 1 - i];
            }
            else
            {
                positions.CopyTo(from, taken, 0, count);
            }
            return taken;
        }
    }

    /// <summary>How many of the (ascending) positions are at or below <paramref name="pos"/>.</summary>
    private static int CountAtOrBelow(List<long> positions, long pos)
    {
        var index = positions.BinarySearch(pos);
        return index >= 0 ? index + 1 : ~index;
    }
}

/// <summary>A reader's snapshot is older than the chat entries still held in memory: it reads again
/// in a new one.</summary>
internal sealed class SnapshotTooOldException() : Exception("The read's snapshot is older than the chat positions held in memory.");
