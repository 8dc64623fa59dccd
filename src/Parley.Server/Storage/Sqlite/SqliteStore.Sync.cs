using Microsoft.Data.Sqlite;
using Parley.Server.Storage.Rules;

namespace Parley.Server.Storage.Sqlite;

internal sealed partial class SqliteStore
{
    /// <summary>Fan-out on read: the user's missed events are the messages and chat-wide events of
    /// the chats they belong to (from when they joined), plus events addressed to them, each found
    /// by (chat, position): the messages through <c>chat_positions</c> and the newest positions held
    /// in memory (<see cref="SqliteChatPositions"/>), the events through an index. Nothing is written
    /// per recipient.</summary>
    public Task<SyncPage> SyncAsync(string userId, StreamCursor since, int limit) => db.ReadTogetherAsync(c =>
    {
        // One writer commits positions in order: the floor is the whole cursor.
        var sincePos = since.Floor;
        // Read the committed position first: anything committed later is above it and comes next time.
        var upTo = db.CommittedPosition;
        var watermark = SqliteChatReads.Watermark(c);
        var events = new List<StoredEvent>();
        events.AddRange(MessageEvents(c, watermark, limit + 1,
            $"""
            SELECT {SqliteChatQueries.MessageColumnsOfM} FROM (
                SELECT cp.pos FROM members mb
                JOIN chat_positions cp ON cp.chat_id = mb.chat_id AND cp.pos > max($2, mb.joined_pos) AND cp.pos <= min($3, $5)
                WHERE mb.user_id = $1 ORDER BY cp.pos LIMIT $4
            ) p CROSS JOIN messages m ON m.pos = p.pos ORDER BY p.pos
            """,
            () => c.QueryRows(r => (r.Text(0), Math.Max(sincePos, r.Int64(1)), upTo),
                "SELECT chat_id, joined_pos FROM members WHERE user_id = $1", userId),
            userId, sincePos, upTo));
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
        events.AddRange(MessageEvents(c, watermark, limit + 1,
            $"""
            SELECT {SqliteChatQueries.MessageColumnsOfM} FROM (
                SELECT cp.pos FROM past_members pm
                JOIN chat_positions cp ON cp.chat_id = pm.chat_id AND cp.pos > max($2, pm.joined_pos) AND cp.pos <= min(pm.left_pos, $3, $5)
                WHERE pm.user_id = $1 AND pm.left_pos > $2 ORDER BY cp.pos LIMIT $4
            ) p CROSS JOIN messages m ON m.pos = p.pos ORDER BY p.pos
            """,
            () => c.QueryRows(r => (r.Text(0), Math.Max(sincePos, r.Int64(1)), Math.Min(r.Int64(2), upTo)),
                "SELECT chat_id, joined_pos, left_pos FROM past_members WHERE user_id = $1 AND left_pos > $2", userId, sincePos),
            userId, sincePos, upTo));
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

    /// <summary>The first <paramref name="limit"/> messages, in position order, of some chats' ranges:
    /// those at or below the watermark through <paramref name="indexed"/> ($1 the user, $2 the cursor,
    /// $3 the committed position, $4 the limit, $5 the watermark: the positions chosen first, in a
    /// subquery of <c>chat_positions</c> alone, so that SQLite stops each chat's range once it has
    /// the limit and fetches only the rows it returns), then, while the limit is not met, the newer ones in memory, in the ranges
    /// <paramref name="ranges"/> gives (chat, after, up to and including).</summary>
    private List<StoredEvent> MessageEvents(SqliteConnection c, long watermark, int limit, string indexed,
        Func<List<(string Chat, long After, long UpTo)>> ranges, string userId, long sincePos, long upTo)
    {
        var events = c.QueryRows(ReadMessageEvent, indexed, userId, sincePos, upTo, limit, watermark);
        if (events.Count < limit) events.AddRange(RecentMessageEvents(c, watermark, ranges(), limit - events.Count));
        return events;
    }

    /// <summary>The first <paramref name="limit"/> messages, in position order, that memory holds for
    /// the ranges. Each pass takes a slice of every chat's positions and reads those up to the lowest
    /// end of a slice that may have more after it, so that no chat's message is passed over.</summary>
    private List<StoredEvent> RecentMessageEvents(SqliteConnection c, long watermark, List<(string Chat, long After, long UpTo)> ranges, int limit)
    {
        var events = new List<StoredEvent>();
        var from = ranges.Select(range => range.After).ToArray();
        while (events.Count < limit)
        {
            var slice = SqliteChatReads.SliceFor(limit - events.Count);
            var candidates = new Dictionary<long, string>();
            var bound = long.MaxValue;
            for (var i = 0; i < ranges.Count; i++)
            {
                var taken = db.ChatPositions.Take(ranges[i].Chat, watermark, from[i], ranges[i].UpTo + 1, slice, newestFirst: false);
                foreach (var pos in taken) candidates[pos] = ranges[i].Chat;
                if (taken.Length == slice) bound = Math.Min(bound, taken[^1]);
            }
            var positions = candidates.Keys.Where(pos => pos <= bound).Order().ToArray();
            if (positions.Length == 0) break;
            foreach (var e in c.QueryRows(ReadMessageEvent, SqliteChatQueries.MessagesAt, SqliteChatReads.Json(positions)))
            {
                // A position held in memory names a message of its chat, or one the snapshot cannot see.
                if (events.Count < limit && candidates[e.Pos] == e.ChatId) events.Add(e);
            }
            if (bound == long.MaxValue) break;
            for (var i = 0; i < from.Length; i++) from[i] = Math.Max(from[i], bound);
        }
        return events;
    }

    private static StoredEvent ReadMessageEvent(SqliteRow r) => new(r.Int64(3), EventKind.Message, r.Text(1), [], ReadMessage(r));

    private static StoredEvent ReadEvent(SqliteRow r) => StoredRows.Event(r, []);
}
