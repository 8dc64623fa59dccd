using System.Text.Json;

namespace Parley.Server.Storage.Sqlite;

internal sealed partial class SqliteStore
{
    /// <summary>Fan-out on read: the user's missed events are the messages and chat-wide events of
    /// the chats they belong to (from when they joined), plus events addressed to them, each found
    /// through an index on (chat, position). Nothing is written per recipient.</summary>
    public Task<SyncPage> SyncAsync(string userId, long sincePos, int limit) => db.ReadAsync(c =>
    {
        // Read the committed position first: anything committed later is above it and comes next time.
        var upTo = db.CommittedPosition;
        var events = new List<StoredEvent>();
        events.AddRange(c.Query(r => new StoredEvent(r.GetInt64(3), EventKind.Message, r.GetString(1), [], ReadMessage(r)),
            $"""
            SELECT {MessageColumnsOfM} FROM members mb
            JOIN messages m ON m.chat_id = mb.chat_id AND m.pos > max($2, mb.joined_pos) AND m.pos <= $3
            WHERE mb.user_id = $1 ORDER BY m.pos LIMIT $4
            """, userId, sincePos, upTo, limit + 1));
        events.AddRange(c.Query(ReadEvent,
            """
            SELECT e.pos, e.kind, e.chat_id, e.data FROM members mb
            JOIN events e ON e.chat_id = mb.chat_id AND e.target_user_id IS NULL AND e.pos > max($2, mb.joined_pos) AND e.pos <= $3
            WHERE mb.user_id = $1 ORDER BY e.pos LIMIT $4
            """, userId, sincePos, upTo, limit + 1));
        events.AddRange(c.Query(ReadEvent,
            """
            SELECT pos, kind, chat_id, data FROM events
            WHERE target_user_id = $1 AND pos > $2 AND pos <= $3 ORDER BY pos LIMIT $4
            """, userId, sincePos, upTo, limit + 1));
        // Chats the user has left since the cursor: what came before they left.
        events.AddRange(c.Query(r => new StoredEvent(r.GetInt64(3), EventKind.Message, r.GetString(1), [], ReadMessage(r)),
            $"""
            SELECT {MessageColumnsOfM} FROM past_members pm
            JOIN messages m ON m.chat_id = pm.chat_id AND m.pos > max($2, pm.joined_pos) AND m.pos <= min(pm.left_pos, $3)
            WHERE pm.user_id = $1 AND pm.left_pos > $2 ORDER BY m.pos LIMIT $4
            """, userId, sincePos, upTo, limit + 1));
        events.AddRange(c.Query(ReadEvent,
            """
            SELECT e.pos, e.kind, e.chat_id, e.data FROM past_members pm
            JOIN events e ON e.chat_id = pm.chat_id AND e.target_user_id IS NULL AND e.pos > max($2, pm.joined_pos) AND e.pos <= min(pm.left_pos, $3)
            WHERE pm.user_id = $1 AND pm.left_pos > $2 ORDER BY e.pos LIMIT $4
            """, userId, sincePos, upTo, limit + 1));
        events.Sort((a, b) => a.Pos.CompareTo(b.Pos));
        var hasMore = events.Count > limit;
        if (hasMore) events.RemoveRange(limit, events.Count - limit);
        // An edit or delete reads back as the message as it is now; one deleted for good (expired) as its tombstone.
        for (var i = 0; i < events.Count; i++)
        {
            if (events[i] is { Kind: EventKind.MessageUpdated, Message: { } stub })
            {
                var current = c.QueryFirst(ReadMessage, $"SELECT {MessageColumns} FROM messages WHERE id = $1", stub.Id);
                events[i] = events[i] with { Message = current ?? MessageRecord.Tombstone(stub.Id, stub.ChatId) };
            }
        }
        var cursor = hasMore ? events[^1].Pos : upTo;
        return new SyncPage(events, Math.Max(cursor, sincePos), hasMore);
    });

    private static StoredEvent ReadEvent(Microsoft.Data.Sqlite.SqliteDataReader r)
    {
        var kind = (EventKind)r.GetInt64(1);
        var data = r.StringOrNull(3);
        var status = kind == EventKind.Status && data is not null
            ? JsonSerializer.Deserialize(data, StorageJsonContext.Default.StatusData)
            : null;
        // A messageUpdated event stores the message id; the caller loads the message itself.
        var stub = kind == EventKind.MessageUpdated && data is not null ? UpdatedStub(data, r.GetString(2)) : null;
        return new StoredEvent(r.GetInt64(0), kind, r.GetString(2), [], Message: stub, Status: status);
    }

    private static MessageRecord UpdatedStub(string messageId, string chatId) =>
        new(messageId, chatId, 0, 0, "", "", null, MessageTypes.Text, null, 0, null, null, null, null, null, null, null, false);

    private static readonly string MessageColumnsOfM = string.Join(", ", MessageColumns.Split(", ").Select(column => "m." + column));
}
