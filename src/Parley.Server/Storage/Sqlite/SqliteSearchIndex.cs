using Microsoft.Data.Sqlite;

namespace Parley.Server.Storage.Sqlite;

/// <summary>
/// Keeps the full-text index (<c>message_search</c>) in step with new messages in batches, behind a
/// watermark, instead of inside every send's transaction. FTS5 writes a new index segment for each
/// transaction that touches it, and merging those small segments cost the one writer more than the
/// rest of a send did; indexing a few hundred messages at once costs a fraction of that.
/// <para>
/// <c>search_index.indexed_pos</c> is the watermark: every message at or below it was indexed (or
/// skipped: system lines, deleted messages, media without a caption). The writer indexes the rest
/// once <see cref="Chunk"/> positions have passed it, in the transaction it runs after a batch; a search first
/// catches the index up (<see cref="CatchUpAsync"/>), so a search always finds what was sent before
/// it. Edits and deletes of indexed messages change the index through triggers (migration 15);
/// a message edited or deleted before it is indexed is indexed as it then stands, or not at all.
/// </para>
/// <para>
/// FTS5 keeps each batch as a segment of its own and merges segments once four share a level. Left
/// to itself (its <c>automerge</c>) it does that work in whichever transaction crosses a threshold,
/// a few hundred pages at once: 13–32 ms of the one writer's time, the longest transactions at a
/// steady 5,000 sends a second. <c>automerge</c> is off (migration 21); instead, once a batch is
/// indexed, the writer merges a bounded number of pages after each batch
/// (<see cref="MergeStep"/>) until FTS5 says there is nothing left to merge.
/// </para>
/// </summary>
internal sealed class SqliteSearchIndex
{
    /// <summary>Positions past the watermark before the writer indexes them.</summary>
    public const int Chunk = 512;

    /// <summary>Pages of segment merging a transaction may do; one of more operations than that may
    /// merge a page for each, so that the large batches of saturation, nearly all of which index,
    /// merge as fast as they add segments.</summary>
    public const int MergePages = 16;

    private long _indexedPos;

    /// <summary>Whether segments may be waiting to be merged: set when a batch is indexed or the
    /// database opens, cleared once a merge step finds nothing to do.</summary>
    private volatile bool _mergeMayBeDue = true;

    /// <summary>Whether the writer should run a <see cref="MergeStep"/> in this transaction.</summary>
    public bool MergeDue => _mergeMayBeDue;

    /// <summary>Reads the watermark as stored (once, when the database opens).</summary>
    public void Load(SqliteConnection connection) =>
        Volatile.Write(ref _indexedPos, connection.Scalar("SELECT indexed_pos FROM search_index"));

    /// <summary>Whether the writer, having handed out positions up to <paramref name="lastPos"/>,
    /// should index in this transaction.</summary>
    public bool Due(long lastPos) => lastPos - Volatile.Read(ref _indexedPos) >= Chunk;

    /// <summary>Whether messages up to <paramref name="committedPos"/> may be missing from the index.</summary>
    public bool Behind(long committedPos) => Volatile.Read(ref _indexedPos) < committedPos;

    /// <summary>Indexes the messages after the stored watermark up to <paramref name="upToPos"/>,
    /// in the writer's open transaction, and moves the watermark. Returns the new watermark, to be
    /// passed to <see cref="Committed"/> once the transaction has committed.</summary>
    public static long IndexUpTo(SqliteConnection connection, long upToPos)
    {
        var from = connection.Scalar("SELECT indexed_pos FROM search_index");
        if (upToPos <= from) return from;
        connection.Execute("""
            INSERT INTO message_search (rowid, content)
            SELECT pos, content FROM messages
            WHERE pos > $1 AND pos <= $2 AND type <> 'system' AND content IS NOT NULL AND deleted = 0
            """, from, upToPos);
        connection.Execute("UPDATE search_index SET indexed_pos = $1", upToPos);
        return upToPos;
    }

    /// <summary>The transaction that moved the watermark to <paramref name="indexedPos"/> committed.</summary>
    public void Committed(long indexedPos)
    {
        long seen;
        do
        {
            seen = Volatile.Read(ref _indexedPos);
            if (indexedPos <= seen) return;
        }
        while (Interlocked.CompareExchange(ref _indexedPos, indexedPos, seen) != seen);
        _mergeMayBeDue = true;
    }

    /// <summary>Merges at most <see cref="MergePages"/> pages of the index's segments, or a page for
    /// each of the transaction's <paramref name="operations"/> if more, in the writer's open
    /// transaction. Returns whether there was anything to merge.</summary>
    public static bool MergeStep(SqliteConnection connection, int operations)
    {
        // FTS5 reports work done as two or more changes; fewer means no level was ready to merge.
        var before = SQLitePCL.raw.sqlite3_total_changes(connection.Handle);
        connection.Execute("INSERT INTO message_search (message_search, rank) VALUES ('merge', $1)", Math.Max(MergePages, operations));
        return SQLitePCL.raw.sqlite3_total_changes(connection.Handle) - before >= 2;
    }

    /// <summary>A merge step committed (<paramref name="merged"/>: whether it found work).</summary>
    public void MergeCommitted(bool merged)
    {
        if (!merged) _mergeMayBeDue = false;
    }

    /// <summary>Indexes every committed message not yet indexed (a search is about to run).</summary>
    public async Task CatchUpAsync(SqliteDatabase database)
    {
        if (!Behind(database.CommittedPosition)) return;
        await database.WriteAsync(w => IndexUpTo(w.Connection, w.LastPosition), Committed).ConfigureAwait(false);
    }
}
