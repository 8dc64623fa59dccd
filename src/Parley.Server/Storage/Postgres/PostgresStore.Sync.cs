using Npgsql;
using Parley.Server.Storage.Rules;

namespace Parley.Server.Storage.Postgres;

internal sealed partial class PostgresStore
{
    /// <summary>Fan-out on read, as in the SQLite backend. One round trip in one REPEATABLE READ
    /// snapshot: the committed <c>stream.pos</c> and the events up to it. Every event at or below a
    /// committed <c>stream.pos</c> committed before it (commits happen in position order), so the
    /// snapshot holds all of them and the cursor never passes one still in flight.</summary>
    public async Task<SyncPage> SyncAsync(string userId, long sincePos, int limit)
    {
        return await ReadSyncPage(userId, sincePos, limit).ConfigureAwait(false);
    }

    private Task<SyncPage> ReadSyncPage(string userId, long sincePos, int limit) => db.ReadConnectionAsync(async c =>
    {
        await using var batch = new NpgsqlBatch(c);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT pos FROM stream WHERE id = 1"));
        batch.BatchCommands.Add(PgCommands.BatchCommand(
            $"""
            SELECT {Prefixed("m.", MessageColumns)} FROM members mb
            JOIN messages m ON m.chat_id = mb.chat_id AND m.pos > greatest($2, mb.joined_pos) AND m.pos <= (SELECT pos FROM stream WHERE id = 1)
            WHERE mb.user_id = $1 ORDER BY m.pos LIMIT $3
            """, userId, sincePos, limit + 1));
        batch.BatchCommands.Add(PgCommands.BatchCommand(
            """
            SELECT e.pos, e.kind, e.chat_id, e.data FROM members mb
            JOIN events e ON e.chat_id = mb.chat_id AND e.target_user_id IS NULL
                AND e.pos > greatest($2, mb.joined_pos) AND e.pos <= (SELECT pos FROM stream WHERE id = 1)
            WHERE mb.user_id = $1 ORDER BY e.pos LIMIT $3
            """, userId, sincePos, limit + 1));
        batch.BatchCommands.Add(PgCommands.BatchCommand(
            """
            SELECT pos, kind, chat_id, data FROM events
            WHERE target_user_id = $1 AND pos > $2 AND pos <= (SELECT pos FROM stream WHERE id = 1) ORDER BY pos LIMIT $3
            """, userId, sincePos, limit + 1));
        // Chats the user has left since the cursor: what came before they left.
        batch.BatchCommands.Add(PgCommands.BatchCommand(
            $"""
            SELECT {Prefixed("m.", MessageColumns)} FROM past_members pm
            JOIN messages m ON m.chat_id = pm.chat_id AND m.pos > greatest($2, pm.joined_pos)
                AND m.pos <= least(pm.left_pos, (SELECT pos FROM stream WHERE id = 1))
            WHERE pm.user_id = $1 AND pm.left_pos > $2 ORDER BY m.pos LIMIT $3
            """, userId, sincePos, limit + 1));
        batch.BatchCommands.Add(PgCommands.BatchCommand(
            """
            SELECT e.pos, e.kind, e.chat_id, e.data FROM past_members pm
            JOIN events e ON e.chat_id = pm.chat_id AND e.target_user_id IS NULL AND e.pos > greatest($2, pm.joined_pos)
                AND e.pos <= least(pm.left_pos, (SELECT pos FROM stream WHERE id = 1))
            WHERE pm.user_id = $1 AND pm.left_pos > $2 ORDER BY e.pos LIMIT $3
            """, userId, sincePos, limit + 1));
        batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));

        long upTo = 0;
        var events = new List<StoredEvent>();
        await using (var reader = await batch.ExecuteReaderAsync().ConfigureAwait(false))
        {
            if (await reader.ReadAsync().ConfigureAwait(false)) upTo = reader.GetInt64(0);
            await reader.NextResultAsync().ConfigureAwait(false);
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                var message = ReadMessage(reader);
                events.Add(new StoredEvent(message.Pos, EventKind.Message, message.ChatId, [], message));
            }
            for (var i = 0; i < 2; i++)
            {
                await reader.NextResultAsync().ConfigureAwait(false);
                while (await reader.ReadAsync().ConfigureAwait(false)) events.Add(ReadEvent(reader, []));
            }
            await reader.NextResultAsync().ConfigureAwait(false);
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                var message = ReadMessage(reader);
                events.Add(new StoredEvent(message.Pos, EventKind.Message, message.ChatId, [], message));
            }
            await reader.NextResultAsync().ConfigureAwait(false);
            while (await reader.ReadAsync().ConfigureAwait(false)) events.Add(ReadEvent(reader, []));
        }
        var (page, hasMore, cursor) = SyncPages.Cut(events, sincePos, upTo, limit);
        return SyncPages.Complete(page, hasMore, cursor, await CurrentMessages(c, page).ConfigureAwait(false));
    });

    private static StoredEvent ReadEvent(NpgsqlDataReader r, IReadOnlyList<string> recipients) => StoredRows.Event(r, recipients);

    /// <summary>The messages edited or deleted in a page as they are now (one query for the page).</summary>
    private static async Task<Dictionary<string, MessageRecord>> CurrentMessages(NpgsqlConnection c, List<StoredEvent> events)
    {
        var ids = SyncPages.UpdatedMessageIds(events);
        if (ids.Length == 0) return [];
        return (await c.QueryAsync(ReadMessage, $"SELECT {MessageColumns} FROM messages WHERE id = ANY($1)", (object)ids).ConfigureAwait(false))
            .ToDictionary(m => m.Id);
    }

    private static string Prefixed(string prefix, string columns) => StoredRows.Prefixed(prefix, columns);

    /// <summary>Committed events by position, with their recipients as the store sees them now (the
    /// chat's members, or the one user an event is addressed to), oldest first. Another node's
    /// events are read back this way after it announced their positions.</summary>
    public async Task<IReadOnlyList<StoredEvent>> LoadEventsAsync(long first, long last, long[]? only) => await db.ReadConnectionAsync(async c =>
    {
        const string Filter = "pos BETWEEN $1 AND $2 AND ($3::bigint[] IS NULL OR pos = ANY($3::bigint[]))";
        await using var batch = new NpgsqlBatch(c);
        batch.BatchCommands.Add(PgCommands.BatchCommand(
            $"""
            SELECT {MessageColumns}, ARRAY(SELECT user_id FROM members mb WHERE mb.chat_id = m.chat_id AND mb.joined_pos < m.pos)
            FROM messages m WHERE {Filter}
            """, first, last, only));
        batch.BatchCommands.Add(PgCommands.BatchCommand(
            $"""
            SELECT pos, kind, chat_id, data,
                   CASE WHEN target_user_id IS NULL THEN ARRAY(SELECT user_id FROM members mb WHERE mb.chat_id = e.chat_id)
                        ELSE ARRAY[target_user_id] END
            FROM events e WHERE {Filter}
            """, first, last, only));
        var events = new List<StoredEvent>();
        await using (var reader = await batch.ExecuteReaderAsync().ConfigureAwait(false))
        {
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                var message = ReadMessage(reader);
                events.Add(new StoredEvent(message.Pos, EventKind.Message, message.ChatId, reader.GetFieldValue<string[]>(18), message));
            }
            await reader.NextResultAsync().ConfigureAwait(false);
            while (await reader.ReadAsync().ConfigureAwait(false)) events.Add(ReadEvent(reader, reader.GetFieldValue<string[]>(4)));
        }
        events.Sort((a, b) => a.Pos.CompareTo(b.Pos));
        return SyncPages.Complete(events, false, 0, await CurrentMessages(c, events).ConfigureAwait(false)).Events.ToList();
    });
}
