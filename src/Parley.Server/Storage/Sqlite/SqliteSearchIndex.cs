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
/// once <see cref="Chunk"/> positions have passed it, inside its own transaction; a search first
/// catches the index up (<see cref="CatchUpAsync"/>), so a search always finds what was sent before
/// it. Edits and deletes of indexed messages change the index through triggers (migration 15);
/// a message edited or deleted before it is indexed is indexed as it then stands, or not at all.
/// </para>
/// </summary>
internal sealed class SqliteSearchIndex
{
    /// <summary>Positions past the watermark before the writer indexes them.</summary>
    public const int Chunk = 512;

    private long _indexedPos;

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
    }

    /// <summary>Indexes every committed message not yet indexed (a search is about to run).</summary>
    public async Task CatchUpAsync(SqliteDatabase database)
    {
        if (!Behind(database.CommittedPosition)) return;
        await database.WriteAsync(w => IndexUpTo(w.Connection, w.LastPosition), Committed).ConfigureAwait(false);
    }
}
