using Microsoft.Data.Sqlite;

namespace Parley.Server.Storage.Sqlite;

/// <summary>
/// The idempotency keys of sends (chat, sender, <c>clientMessageId</c> → position), written to their
/// table in sorted batches behind a watermark instead of one by one in every send's transaction.
/// The key a client picks is random, so each send used to dirty a leaf of its own in a unique index
/// on the messages (a page in the log for every send of a batch). Written a chunk at a time, in key
/// order, many keys share a leaf.
/// <para>
/// <c>client_ids_indexed.indexed_pos</c> is the watermark: the key of every message at or below it
/// is in <c>client_ids</c>. The keys above it are held in memory by the one writer, which is the only
/// one to look keys up; they are read back from the messages when the store opens (after a crash
/// too), so a retry finds its original however late it comes. A key in memory may name a send whose
/// transaction was rolled back: a key is only taken as found when the message at its position
/// carries it.
/// </para>
/// </summary>
internal sealed class SqliteClientIds
{
    /// <summary>Positions past the watermark before the writer writes their keys to the table.</summary>
    public const int Chunk = 16_384;

    /// <summary>The watermark as last committed (writer thread only, like everything here).</summary>
    private long _indexedPos;

    /// <summary>The keys of messages above the watermark.</summary>
    private readonly Dictionary<(string Chat, string Sender, string ClientId), long> _recent = new();

    /// <summary>Reads the watermark and the keys above it (once, when the database opens).</summary>
    public void Load(SqliteConnection connection)
    {
        _indexedPos = connection.Scalar("SELECT indexed_pos FROM client_ids_indexed");
        _recent.Clear();
        foreach (var (chat, sender, clientId, pos) in connection.Query(
            r => (r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt64(3)),
            "SELECT chat_id, sender_id, client_message_id, pos FROM messages WHERE pos > $1 AND client_message_id IS NOT NULL",
            _indexedPos))
        {
            _recent[(chat, sender, clientId)] = pos;
        }
    }

    /// <summary>Where the key may be: its position in memory, then its position in the table (looked
    /// up only if the caller asks for more). The caller checks that the message there carries the key.</summary>
    public IEnumerable<long> Candidates(SqliteConnection connection, string chatId, string senderId, string clientMessageId)
    {
        if (_recent.TryGetValue((chatId, senderId, clientMessageId), out var recent)) yield return recent;
        var stored = connection.QueryRow(r => (long?)r.Int64(0),
            "SELECT pos FROM client_ids WHERE chat_id = $1 AND sender_id = $2 AND client_message_id = $3",
            chatId, senderId, clientMessageId);
        if (stored is long pos) yield return pos;
    }

    /// <summary>A message with this key was written at <paramref name="pos"/> in the open transaction.</summary>
    public void Added(string chatId, string senderId, string clientMessageId, long pos) =>
        _recent[(chatId, senderId, clientMessageId)] = pos;

    /// <summary>Whether the writer, having handed out positions up to <paramref name="lastPos"/>,
    /// should write the keys in this transaction.</summary>
    public bool Due(long lastPos) => lastPos - _indexedPos >= Chunk;

    /// <summary>Writes the keys of the messages after the stored watermark up to
    /// <paramref name="upToPos"/>, in key order, in the writer's open transaction, and moves the
    /// watermark. Returns the new watermark, for <see cref="Committed"/> once the transaction has
    /// committed. A key already in the table (its message expired, and a retry was stored anew) is
    /// moved to the new message.</summary>
    public static long IndexUpTo(SqliteConnection connection, long upToPos)
    {
        var from = connection.Scalar("SELECT indexed_pos FROM client_ids_indexed");
        if (upToPos <= from) return from;
        connection.Execute("""
            INSERT INTO client_ids (chat_id, sender_id, client_message_id, pos)
            SELECT chat_id, sender_id, client_message_id, pos FROM messages
            WHERE pos > $1 AND pos <= $2 AND client_message_id IS NOT NULL
            ORDER BY chat_id, sender_id, client_message_id
            ON CONFLICT DO UPDATE SET pos = excluded.pos
            """, from, upToPos);
        connection.Execute("UPDATE client_ids_indexed SET indexed_pos = $1", upToPos);
        return upToPos;
    }

    /// <summary>The transaction that moved the watermark to <paramref name="indexedPos"/> committed:
    /// the keys at or below it are in the table, and leave memory.</summary>
    public void Committed(long indexedPos)
    {
        if (indexedPos <= _indexedPos) return;
        _indexedPos = indexedPos;
        foreach (var (key, pos) in _recent)
        {
            if (pos <= indexedPos) _recent.Remove(key);
        }
    }
}
