using Parley.Server.Storage.Rules;

namespace Parley.Server.Storage.Sqlite;

internal sealed partial class SqliteStore
{
    /// <summary>Fan-out on read: the user's missed events are the messages and chat-wide events of
    /// the chats they belong to (from when they joined), plus events addressed to them, each found
    /// through an index on (chat, position). Nothing is written per recipient.</summary>
    public Task<SyncPage> SyncAsync(string userId, StreamCursor since, int limit) => db.ReadTogetherAsync(c =>
    {
        // One writer commits positions in order: the floor is the whole cursor.
        var sincePos = since.Floor;
        // Read the committed position first: anything committed later is above it and comes next time.
        var upTo = db.CommittedPosition;
        var events = new List<StoredEvent>();
        events.AddRange(c.QueryRows(ReadMessageEvent,
            $"""
            SELECT {MessageColumnsOfM} FROM members mb
            JOIN messages m ON m.chat_id = mb.chat_id AND m.pos > max($2, mb.joined_pos) AND m.pos <= $3
            WHERE mb.user_id = $1 ORDER BY m.pos LIMIT $4
            """, userId, sincePos, upTo, limit + 1));
        events.AddRange(c.QueryRows(ReadEvent,
            """
            SELECT e.pos, e.kind, e.chat_id, e.data FROM members mb
            JOIN events e ON e.chat_id = mb.chat_id AND e.target_user_id IS NULL AND e.pos > max($2, mb.joined_pos) AND e.pos <= $3
            WHERE mb.user_id = $1 ORDER BY e.pos LIMIT $4
            """, userId, sincePos, upTo, limit + 1));
        events.AddRange(c.QueryRows(ReadEvent,
            """
            SELECT pos, kind, chat_id, data FROM events
            WHERE target_user_id = $1 AND pos > $2 AND pos <= $3 ORDER BY pos LIMIT $4
            """, userId, sincePos, upTo, limit + 1));
        // Chats the user has left since the cursor: what came before they left.
        events.AddRange(c.QueryRows(ReadMessageEvent,
            $"""
            SELECT {MessageColumnsOfM} FROM past_members pm
            JOIN messages m ON m.chat_id = pm.chat_id AND m.pos > max($2, pm.joined_pos) AND m.pos <= min(pm.left_pos, $3)
            WHERE pm.user_id = $1 AND pm.left_pos > $2 ORDER BY m.pos LIMIT $4
            """, userId, sincePos, upTo, limit + 1));
        events.AddRange(c.QueryRows(ReadEvent,
            """
            SELECT e.pos, e.kind, e.chat_id, e.data FROM past_members pm
            JOIN events e ON e.chat_id = pm.chat_id AND e.target_user_id IS NULL AND e.pos > max($2, pm.joined_pos) AND e.pos <= min(pm.left_pos, $3)
            WHERE pm.user_id = $1 AND pm.left_pos > $2 ORDER BY e.pos LIMIT $4
            """, userId, sincePos, upTo, limit + 1));
        var (page, hasMore, cursor) = SyncPages.Cut(events, since, StreamCursor.AtFloor(upTo), limit);
        var current = new Dictionary<string, MessageRecord>();
        foreach (var id in SyncPages.UpdatedMessageIds(page))
        {
            if (c.QueryRows(ReadMessage, $"SELECT {MessageColumns} FROM messages WHERE id = $1", id) is [var message]) current[id] = message;
        }
        return SyncPages.Complete(page, hasMore, cursor, current);
    });

    private static StoredEvent ReadMessageEvent(SqliteRow r) => new(r.Int64(3), EventKind.Message, r.Text(1), [], ReadMessage(r));

    private static StoredEvent ReadEvent(SqliteRow r) => StoredRows.Event(r, []);

    private static readonly string MessageColumnsOfM = StoredRows.Prefixed("m.", MessageColumns);
}
