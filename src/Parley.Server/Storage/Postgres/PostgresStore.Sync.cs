using Npgsql;
using Parley.Server.Storage.Rules;

namespace Parley.Server.Storage.Postgres;

internal sealed partial class PostgresStore
{
    /// <summary>Fan-out on read, as in the SQLite backend. One round trip in one REPEATABLE READ
    /// snapshot: the writers' rows (<see cref="StreamBounds"/>) and, for each writer, its events
    /// above the cursor's bound and up to its row. A writer commits its positions in order, so the
    /// snapshot holds every event at or below its row, and the cursor never passes one still in
    /// flight. A chat's events are in position order, so reading in position order keeps each chat
    /// in order whichever writers stored them.</summary>
    public Task<SyncPage> SyncAsync(string userId, StreamCursor since, int limit) => db.ReadConnectionAsync(async c =>
    {
        object[] args = [userId, since.Floor, limit + 1, since.Entries.Select(e => e.Writer).ToArray(), since.Entries.Select(e => e.Pos).ToArray()];
        await using var batch = new NpgsqlBatch(c);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
        batch.BatchCommands.Add(new NpgsqlBatchCommand(StreamBounds.Rows));
        batch.BatchCommands.Add(PgCommands.BatchCommand(Unseen("m", MessageRow,
            "members mb JOIN messages m ON m.chat_id = mb.chat_id AND m.pos > greatest($2, mb.joined_pos)", "mb.user_id = $1"), args));
        batch.BatchCommands.Add(PgCommands.BatchCommand(Unseen("e", EventRow,
            "members mb JOIN events e ON e.chat_id = mb.chat_id AND e.target_user_id IS NULL AND e.pos > greatest($2, mb.joined_pos)",
            "mb.user_id = $1"), args));
        batch.BatchCommands.Add(PgCommands.BatchCommand(Unseen("e", EventRow, "events e", "e.target_user_id = $1 AND e.pos > $2"), args));
        // Chats the user has left since the cursor: what came before they left.
        batch.BatchCommands.Add(PgCommands.BatchCommand(Unseen("m", MessageRow,
            "past_members pm JOIN messages m ON m.chat_id = pm.chat_id AND m.pos > greatest($2, pm.joined_pos) AND m.pos <= pm.left_pos",
            "pm.user_id = $1 AND pm.left_pos > $2"), args));
        batch.BatchCommands.Add(PgCommands.BatchCommand(Unseen("e", EventRow,
            "past_members pm JOIN events e ON e.chat_id = pm.chat_id AND e.target_user_id IS NULL AND e.pos > greatest($2, pm.joined_pos) AND e.pos <= pm.left_pos",
            "pm.user_id = $1 AND pm.left_pos > $2"), args));
        batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));

        var rows = new List<(int Writer, long Pos, bool Held)>();
        var events = new List<StoredEvent>();
        await using (var reader = await batch.ExecuteReaderAsync().ConfigureAwait(false))
        {
            while (await reader.ReadAsync().ConfigureAwait(false)) rows.Add(StreamBounds.ReadRow(reader));
            for (var i = 0; i < 5; i++)
            {
                await reader.NextResultAsync().ConfigureAwait(false);
                var messages = i is 0 or 3;
                while (await reader.ReadAsync().ConfigureAwait(false)) events.Add(messages ? ReadMessageEvent(reader, []) : ReadEvent(reader, []));
            }
        }
        var (page, hasMore, cursor) = SyncPages.Cut(events, since, StreamBounds.Cursor(rows), limit);
        return SyncPages.Complete(page, hasMore, cursor, await CurrentMessages(c, page).ConfigureAwait(false));
    });

    private static readonly string MessageRow = $"{Prefixed("m.", MessageColumns)}, m.writer, m.prev_pos, m.prev_writer";
    private const string EventRow = "e.pos, e.kind, e.chat_id, e.data, e.writer, e.prev_pos, e.prev_writer";

    /// <summary>A query for the rows of <paramref name="alias"/> (messages m or events e) that the
    /// cursor ($2 its floor, $4/$5 its writers) does not cover and that their writers have committed,
    /// oldest first, at most $3.</summary>
    private static string Unseen(string alias, string columns, string from, string where) =>
        $"""
        WITH {StreamBounds.UpTo}
        SELECT {columns} FROM {from}
        JOIN upto ON upto.writer = {alias}.writer AND {alias}.pos <= upto.pos
        WHERE {where}
          AND {alias}.pos > coalesce((SELECT s.p FROM unnest($4::int[], $5::bigint[]) AS s(w, p) WHERE s.w = {alias}.writer), $2)
        ORDER BY {alias}.pos LIMIT $3
        """;

    /// <summary>Where the columns after the message's own start in a <see cref="MessageRow"/>.</summary>
    private const int Extra = StoredRows.MessageColumnCount;

    /// <summary>A message row (<see cref="MessageRow"/>) as its event.</summary>
    private static StoredEvent ReadMessageEvent(NpgsqlDataReader r, IReadOnlyList<string> recipients)
    {
        var message = ReadMessage(r);
        return new StoredEvent(message.Pos, EventKind.Message, message.ChatId, recipients, message) { Writer = r.GetInt32(Extra), PrevPos = r.GetInt64(Extra + 1), PrevWriter = IntOrNull(r, Extra + 2) };
    }

    /// <summary>An event row (<see cref="EventRow"/>).</summary>
    private static StoredEvent ReadEvent(NpgsqlDataReader r, IReadOnlyList<string> recipients) =>
        StoredRows.Event(r, recipients) with { Writer = r.GetInt32(4), PrevPos = r.GetInt64(5), PrevWriter = IntOrNull(r, 6) };

    private static int? IntOrNull(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetInt32(i);

    /// <summary>The messages edited or deleted in a page as they are now (one query for the page).</summary>
    private static async Task<Dictionary<string, MessageRecord>> CurrentMessages(NpgsqlConnection c, List<StoredEvent> events)
    {
        var ids = SyncPages.UpdatedMessageIds(events);
        if (ids.Length == 0) return [];
        return (await c.QueryAsync(ReadMessage, $"SELECT {MessageColumns} FROM messages WHERE id = ANY($1)", (object)ids).ConfigureAwait(false))
            .ToDictionary(m => m.Id);
    }

    private static string Prefixed(string prefix, string columns) => StoredRows.Prefixed(prefix, columns);

    /// <summary>Committed events of one writer by position, with their recipients as the store sees
    /// them now (the chat's members, or the one user an event is addressed to), oldest first.
    /// Another node's events are read back this way after it announced their positions.</summary>
    public async Task<IReadOnlyList<StoredEvent>> LoadEventsAsync(int writer, long first, long last, long[]? only) => await db.ReadConnectionAsync(async c =>
    {
        const string Filter = "writer = $4 AND pos BETWEEN $1 AND $2 AND ($3::bigint[] IS NULL OR pos = ANY($3::bigint[]))";
        await using var batch = new NpgsqlBatch(c);
        batch.BatchCommands.Add(PgCommands.BatchCommand(
            $"""
            SELECT {MessageRow}, ARRAY(SELECT user_id FROM members mb WHERE mb.chat_id = m.chat_id AND mb.joined_pos < m.pos)
            FROM messages m WHERE {Filter}
            """, first, last, only, writer));
        batch.BatchCommands.Add(PgCommands.BatchCommand(
            $"""
            SELECT {EventRow},
                   CASE WHEN target_user_id IS NULL THEN ARRAY(SELECT user_id FROM members mb WHERE mb.chat_id = e.chat_id)
                        ELSE ARRAY[target_user_id] END
            FROM events e WHERE {Filter}
            """, first, last, only, writer));
        var events = new List<StoredEvent>();
        await using (var reader = await batch.ExecuteReaderAsync().ConfigureAwait(false))
        {
            while (await reader.ReadAsync().ConfigureAwait(false)) events.Add(ReadMessageEvent(reader, reader.GetFieldValue<string[]>(Extra + 3)));
            await reader.NextResultAsync().ConfigureAwait(false);
            while (await reader.ReadAsync().ConfigureAwait(false)) events.Add(ReadEvent(reader, reader.GetFieldValue<string[]>(7)));
        }
        events.Sort((a, b) => a.Pos.CompareTo(b.Pos));
        return SyncPages.Complete(events, false, StreamCursor.Start, await CurrentMessages(c, events).ConfigureAwait(false)).Events.ToList();
    });

    public (long Pos, bool Fresh) WriterStart(int writer) => db.WriterStart(writer);

    /// <summary>A commit raises its writer's row in the same round trip: nothing to do.</summary>
    public ValueTask SettleAsync(int writer, long last) => ValueTask.CompletedTask;
}
