using Npgsql;
using Parley.Server.Storage.Rules;

namespace Parley.Server.Storage.Postgres;

internal sealed partial class PostgresStore
{
    private const string MessageColumns = StoredRows.MessageColumns;

    private static MessageRecord ReadMessage(NpgsqlDataReader r) => StoredRows.Message(r);

    private static MessageRecord ReadMessage(NpgsqlDataReader r, int o) => StoredRows.Message(r, o);

    /// <summary>One statement for a new message: it looks at membership, the idempotency key and the
    /// replied message, and only if all is well takes the seq, stores the row and bumps the sender's
    /// own-message counter; it answers with the outcome, the recipients, and the original message
    /// for a retry. Being one statement, a run of sends is pipelined by the writer in one round
    /// trip. The position is taken in the statement that locks the chat row (see
    /// <see cref="PgWrite.TakeChatPosition"/>), so a chat's messages are in position order whichever
    /// node stored them.</summary>
    public Task<SendResult> SendMessageAsync(NewMessage m, string? originConnectionId) => db.WriteAsync(true,
        async w =>
        {
            var (sql, args, state) = SendStatement(w, m, originConnectionId);
            var result = await w.QueryFirstAsync(r => ReadSend(r, state), sql, args).ConfigureAwait(false);
            return result;
        },
        new PipelineStep<SendResult>(
            w =>
            {
                var (sql, args, state) = SendStatement(w, m, originConnectionId);
                return (PgCommands.BatchCommand(sql, args), state);
            },
            (reader, state) => reader.Read()
                ? ReadSend(reader, (SendState)state!)
                : throw new InvalidOperationException("The send statement returned no row."),
            m.ChatId));

    private sealed record SendState(NewMessage Message, string Id, string? OriginConnectionId, PgWrite Write);

    private static (string Sql, object?[] Args, SendState State) SendStatement(PgWrite w, NewMessage m, string? originConnectionId)
    {
        var state = new SendState(m, MessageIds.New(), originConnectionId, w);
        return (SendSql, [w.Writer, state.Id, m.ChatId, m.SenderId, m.Type, m.Timestamp, m.Content, m.ClientMessageId, m.ReplyTo, m.MediaJson, m.MediaId], state);
    }

    private static readonly string SendSql =
        $"""
        WITH look AS (
            SELECT EXISTS (SELECT 1 FROM members WHERE chat_id = $3 AND user_id = $4) AS member,
                   (SELECT pos FROM messages WHERE chat_id = $3 AND sender_id = $4 AND client_message_id = $8::text) AS original,
                   ($9::text IS NULL OR EXISTS (SELECT 1 FROM messages WHERE id = $9::text AND chat_id = $3)) AS reply_ok,
                   (SELECT CASE WHEN deleted THEN NULL WHEN content IS NULL THEN '' ELSE left(content, {MessageRules.QuoteLength}) END
                    FROM messages WHERE id = $9::text AND chat_id = $3) AS quote
        ), chat AS (
            UPDATE chats SET last_seq = last_seq + 1, last_activity = greatest(last_activity, $6), {PgWrite.NextEventPosition("$1")}
            WHERE id = $3 AND (SELECT member AND original IS NULL AND reply_ok FROM look)
            RETURNING last_seq, disappear_after_seconds, {ChatPosition.Returned}
        ), own AS (
            UPDATE members SET own_after_read = own_after_read + 1
            WHERE chat_id = $3 AND user_id = $4 AND EXISTS (SELECT 1 FROM chat)
        ), sender AS ({SenderRow}
        ), stored AS (
            INSERT INTO messages (pos, writer, prev_pos, prev_writer, id, chat_id, seq, sender_id, sender_name, sender_avatar, type, content,
                                  timestamp, client_message_id, reply_to, reply_quote, system_action, affected_user_name, media, expires_at)
            SELECT chat.last_event_pos, $1, chat.prev_event_pos, chat.prev_event_writer, $2, $3, chat.last_seq, $4,
                   coalesce(u.name, '{AccountNames.Deleted}'), u.avatar, $5, $7::text, $6,
                   $8::text, $9::text, (SELECT quote FROM look), NULL, NULL, $10::text,
                   CASE WHEN chat.disappear_after_seconds > 0 THEN $6 + chat.disappear_after_seconds * 1000::bigint END
            FROM chat LEFT JOIN sender u ON true
            RETURNING seq, sender_name, sender_avatar, pos, prev_pos, prev_writer
        ), media AS (
            INSERT INTO media_chats (media_id, chat_id) SELECT $11::text, $3 WHERE $11::text IS NOT NULL AND EXISTS (SELECT 1 FROM stored)
            ON CONFLICT DO NOTHING
        )
        SELECT look.member, look.reply_ok, stored.seq, stored.sender_name, stored.sender_avatar, look.quote,
               ARRAY(SELECT user_id FROM members WHERE chat_id = $3), {Prefixed("o.", MessageColumns)},
               stored.pos, stored.prev_pos, stored.prev_writer
        FROM look LEFT JOIN stored ON true LEFT JOIN messages o ON o.pos = look.original
        """;

    private static (SendResult Value, StoredEvent[] Events) ReadSend(NpgsqlDataReader r, SendState state)
    {
        var m = state.Message;
        // The statement stored the message only where these rules allow it (its WHERE mirrors them).
        var isRetry = !r.IsDBNull(7);
        if (MessageRules.CheckSend(r.GetBoolean(0), isRetry, r.GetBoolean(1)) is { } refused)
        {
            return (new SendResult(refused, refused == SendOutcome.Duplicate ? ReadMessage(r, 7) : null), NoEvents);
        }
        if (r.IsDBNull(2)) throw new InvalidOperationException($"Chat {m.ChatId} has no row.");
        // After the 7 columns of the outcome come the original's message columns, then the position.
        var at = ChatPosition.Read(r, 7 + StoredRows.MessageColumnCount);
        state.Write.Took(at.Pos);
        var message = new MessageRecord(state.Id, m.ChatId, r.GetInt64(2), at.Pos, m.SenderId, r.GetString(3), r.StringOrNull(4), m.Type, m.Content,
            m.Timestamp, m.ClientMessageId, m.ReplyTo, r.StringOrNull(5), null, null, m.MediaJson, null, false);
        var e = state.Write.Event(at, EventKind.Message, m.ChatId, r.GetFieldValue<string[]>(6)) with
        {
            Message = message,
            OriginConnectionId = state.OriginConnectionId,
        };
        return (new SendResult(SendOutcome.Stored, message), new[] { e });
    }

    /// <summary>A system message by <paramref name="actorId"/>, naming <paramref name="affectedUserId"/>
    /// (the member added, removed or left) by its name now and by its id.</summary>
    private static async Task<StoredMessage> InsertSystemMessage(PgWrite w, string chatId, string actorId, string action, string? content,
        string? affectedUserId, long now)
    {
        var affectedName = affectedUserId is null ? null : await UserName(w, affectedUserId).ConfigureAwait(false);
        return await InsertMessage(w, chatId, actorId, MessageTypes.System, content, now, null, null, null, action, affectedName, null, affectedUserId)
            .ConfigureAwait(false);
    }

    /// <summary>The one place a message row is written, in one statement: next seq from the chat
    /// row (its row lock orders a chat's messages), the chat's next event position (taken under that
    /// lock), the sender's name as it is now, and the sender's own-message counter (which keeps
    /// everyone's unread count exact without touching other members' rows).</summary>
    private static async Task<StoredMessage> InsertMessage(PgWrite w, string chatId, string senderId,
        string type, string? content, long timestamp, string? clientMessageId, string? replyTo, string? replyQuote,
        string? systemAction, string? affectedUserName, string? media, string? affectedUserId = null)
    {
        var id = MessageIds.New();
        var stored = await w.QueryFirstAsync(
            r => (Seq: r.GetInt64(0), Name: r.GetString(1), Avatar: r.StringOrNull(2),
                  At: ChatPosition.Read(r, 3)),
            InsertMessageSql,
            w.Writer, id, chatId, senderId, type, timestamp, content, clientMessageId, replyTo, replyQuote, systemAction, affectedUserName, media,
            AccountNames.Deleted, affectedUserId)
            .ConfigureAwait(false);
        if (stored.Name is null) throw new InvalidOperationException($"Chat {chatId} does not exist.");
        w.Took(stored.At.Pos);
        return new StoredMessage(new MessageRecord(id, chatId, stored.Seq, stored.At.Pos, senderId, stored.Name, stored.Avatar, type, content, timestamp,
            clientMessageId, replyTo, replyQuote, systemAction, affectedUserName, media, null, false) { AffectedUserId = affectedUserId }, stored.At);
    }

    private static readonly string InsertMessageSql =
        $"""
        WITH chat AS (
            UPDATE chats SET last_seq = last_seq + 1, last_activity = greatest(last_activity, $6), {PgWrite.NextEventPosition("$1")}
            WHERE id = $3 RETURNING last_seq, {ChatPosition.Returned}
        ), own AS (
            UPDATE members SET own_after_read = own_after_read + 1 WHERE chat_id = $3 AND user_id = $4
        ), sender AS ({SenderRow}
        )
        INSERT INTO messages (pos, writer, prev_pos, prev_writer, id, chat_id, seq, sender_id, sender_name, sender_avatar, type, content,
                              timestamp, client_message_id, reply_to, reply_quote, system_action, affected_user_name, media, affected_user_id)
        SELECT chat.last_event_pos, $1, chat.prev_event_pos, chat.prev_event_writer, $2, $3, chat.last_seq, $4, coalesce(u.name, $14),
               u.avatar, $5, $7, $6, $8, $9, $10, $11, $12, $13, $15
        FROM chat LEFT JOIN sender u ON true
        RETURNING seq, sender_name, sender_avatar, pos, prev_pos, prev_writer
        """;

    /// <summary>The name and photo a message of account $4 is stored with, its row locked (KEY SHARE,
    /// the lock a foreign key check takes) until the message commits. The account's deletion locks
    /// the row first (see <see cref="LockAccountForDeletion"/>), so a message and a deletion on two
    /// writers (two lanes, or two nodes) are ordered: a message that read the name commits before
    /// the deletion records its scrub, whose range and scan then include it, and one that comes to
    /// the row after the deletion waits for it and reads "Deleted account". Reading the name from
    /// the statement's snapshot instead, a message could store the old name after the scrub had
    /// passed its position.</summary>
    internal const string SenderRow = "SELECT name, avatar FROM users WHERE id = $4 FOR KEY SHARE";

    /// <summary>A message just stored, and where it went in its chat's events.</summary>
    private sealed record StoredMessage(MessageRecord Message, ChatPosition At);

    private static StoredEvent MessageEvent(PgWrite w, StoredMessage m, IReadOnlyList<string> recipients) =>
        w.Event(m.At, EventKind.Message, m.Message.ChatId, recipients) with { Message = m.Message };

    public Task<MessageRecord?> GetMessageAsync(string messageId) =>
        db.ReadAsync(c => c.QueryFirstAsync(ReadMessage, $"SELECT {MessageColumns} FROM messages WHERE id = $1", messageId));

    public async Task<IReadOnlyList<MessageRecord>> GetMessagesAsync(string chatId, string viewerId, long afterPos, long beforePos, int limit) =>
        await db.ReadAsync(c => c.QueryAsync(ReadMessage,
            $"""
            SELECT {MessageColumns} FROM messages m
            WHERE chat_id = $1 AND pos > $2 AND pos < $3
              AND NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = $5 AND h.message_id = m.id)
            ORDER BY pos DESC LIMIT $4
            """,
            chatId, afterPos, beforePos, limit, viewerId)).ConfigureAwait(false);

    public Task<MessageChange> EditMessageAsync(string messageId, string userId, string content, long now) =>
        ChangeMessage(messageId, userId, async (w, m) =>
        {
            await w.ExecuteAsync("UPDATE messages SET content = $2, edited_at = $3 WHERE id = $1", messageId, content, now).ConfigureAwait(false);
            return MessageRules.Edited(m, content, now);
        }, (w, original, recipients) => Requote(w, original, MessageRules.Quote(content, false), recipients));

    public Task<MessageChange> DeleteMessageForEveryoneAsync(string messageId, string userId, long now) =>
        ChangeMessage(messageId, userId, async (w, m) =>
        {
            await w.ExecuteAsync("UPDATE messages SET content = NULL, media = NULL, deleted = true WHERE id = $1", messageId).ConfigureAwait(false);
            return MessageRules.DeletedForEveryone(m);
        }, DeleteCopies);

    /// <summary>After a delete for everyone, the content's copies go too: every reply's quote of it
    /// now says it was deleted (see <see cref="Requote"/>), and its attachment is no longer served to
    /// the chat (the uploader keeps it).</summary>
    private static async Task<IEnumerable<StoredEvent>> DeleteCopies(PgWrite w, MessageRecord original, IReadOnlyList<string> recipients)
    {
        if (DeletedContent.MediaIdOf(original.MediaJson) is { } mediaId)
        {
            await w.ExecuteAsync(
                """
                DELETE FROM media_chats WHERE media_id = $1 AND chat_id = $2
                  AND NOT EXISTS (SELECT 1 FROM messages WHERE chat_id = $2 AND NOT deleted AND media::jsonb ->> 'mediaId' = $1)
                """, mediaId, original.ChatId).ConfigureAwait(false);
        }
        return await Requote(w, original, null, recipients).ConfigureAwait(false);
    }

    /// <summary>The replies to a message keep quoting it as it is now: its new text after an edit, no
    /// text (null: deleted) after a delete for everyone. A <c>messageUpdated</c> event each, so live
    /// clients and /sync see the reply change; replies whose quote already reads so are left alone.</summary>
    private static async Task<IEnumerable<StoredEvent>> Requote(PgWrite w, MessageRecord quoted, string? quote, IReadOnlyList<string> recipients)
    {
        var replies = await w.QueryAsync(ReadMessage,
            $"""
            UPDATE messages SET reply_quote = $3::text
            WHERE reply_to = $1 AND chat_id = $2 AND reply_quote IS NOT NULL AND reply_quote IS DISTINCT FROM $3::text
            RETURNING {MessageColumns}
            """,
            quoted.Id, quoted.ChatId, quote).ConfigureAwait(false);
        var events = new List<StoredEvent>();
        foreach (var reply in replies.OrderBy(r => r.Pos))
        {
            var e = await AddEvent(w, EventKind.MessageUpdated, reply.ChatId, null, reply.Id, recipients).ConfigureAwait(false);
            events.Add(e with { Message = reply });
        }
        return events;
    }

    /// <summary>Edit and delete-for-everyone, under <see cref="MessageRules.CheckChange"/>.</summary>
    private Task<MessageChange> ChangeMessage(string messageId, string userId, Func<PgWrite, MessageRecord, Task<MessageRecord>> change,
        Func<PgWrite, MessageRecord, IReadOnlyList<string>, Task<IEnumerable<StoredEvent>>>? afterwards = null) =>
        WriteAndPublish(async w =>
        {
            var message = await w.QueryFirstAsync(ReadMessage, $"SELECT {MessageColumns} FROM messages WHERE id = $1", messageId).ConfigureAwait(false);
            var member = message is null ? null : await FindMember(w, message.ChatId, userId).ConfigureAwait(false);
            var outcome = MessageRules.CheckChange(message, member, userId);
            if (outcome != ChangeOutcome.Done) return (Value: new MessageChange(outcome, null), Events: NoEvents);
            var updated = await change(w, message!).ConfigureAwait(false);
            var recipients = await MemberIds(w, message!.ChatId).ConfigureAwait(false);
            var e = await AddEvent(w, EventKind.MessageUpdated, message.ChatId, null, messageId, recipients).ConfigureAwait(false);
            StoredEvent[] events = afterwards is null
                ? [e with { Message = updated }]
                : [e with { Message = updated }, .. await afterwards(w, message, recipients).ConfigureAwait(false)];
            return (Value: new MessageChange(ChangeOutcome.Done, updated), Events: events);
        });

    public Task<ChangeOutcome> HideMessageAsync(string messageId, string userId) => db.WriteAsync(false, async w =>
    {
        var message = await w.QueryFirstAsync(ReadMessage, $"SELECT {MessageColumns} FROM messages WHERE id = $1", messageId).ConfigureAwait(false);
        var member = message is null ? null : await FindMember(w, message.ChatId, userId).ConfigureAwait(false);
        if (!MessageRules.CanHide(message, member)) return (Value: ChangeOutcome.NotFound, Events: NoEvents);
        await w.ExecuteAsync("INSERT INTO hidden_messages (user_id, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", userId, messageId).ConfigureAwait(false);
        return (Value: ChangeOutcome.Done, Events: NoEvents);
    });

    public async Task<IReadOnlyList<HiddenMessage>> GetHiddenMessagesAsync(string userId, string chatId) =>
        await db.ReadAsync(c => c.QueryAsync(r => new HiddenMessage(r.GetInt64(0), r.GetInt64(1), r.GetString(2)),
            """
            SELECT m.pos, m.seq, m.sender_id FROM hidden_messages h JOIN messages m ON m.id = h.message_id
            WHERE h.user_id = $1 AND m.chat_id = $2
            """, userId, chatId)).ConfigureAwait(false);

    public async Task<IReadOnlySet<string>> ChatsWithHiddenMessagesAsync(string userId) =>
        (await db.ReadAsync(c => c.QueryAsync(r => r.GetString(0),
            "SELECT DISTINCT m.chat_id FROM hidden_messages h JOIN messages m ON m.id = h.message_id WHERE h.user_id = $1",
            userId)).ConfigureAwait(false)).ToHashSet(StringComparer.Ordinal);

    public Task<bool> AdvanceWatermarkAsync(string chatId, string userId, long upToSeq, bool read, long now) => WriteAndPublish(async w =>
    {
        var me = await w.QueryFirstAsync(r => (ReadSeq: r.GetInt64(0), DeliveredSeq: r.GetInt64(1), LastSeq: r.GetInt64(2), Found: true),
            "SELECT m.read_seq, m.delivered_seq, c.last_seq FROM members m JOIN chats c ON c.id = m.chat_id WHERE m.chat_id = $1 AND m.user_id = $2",
            chatId, userId).ConfigureAwait(false);
        if (!me.Found) return (Value: false, Events: NoEvents);
        var from = read ? me.ReadSeq : me.DeliveredSeq;
        if (StatusRules.Target(upToSeq, me.LastSeq, from) is not { } target) return (Value: false, Events: NoEvents);

        // Move the watermark, and in the same statement find, per sender whose messages the reader
        // just reached, that sender's newest such message: one status event per sender per read,
        // never a row per message per member.
        var update = read
            ? """
              UPDATE members SET read_seq = $3, read_at = $4,
                  own_after_read = greatest(0, (SELECT last_seq FROM chats WHERE id = $1) - $3
                      - (SELECT count(*) FROM messages WHERE chat_id = $1 AND seq > $3 AND sender_id <> $2)),
                  delivered_at = CASE WHEN delivered_seq < $3 THEN $4 ELSE delivered_at END,
                  delivered_seq = greatest(delivered_seq, $3)
              WHERE chat_id = $1 AND user_id = $2
              """
            : "UPDATE members SET delivered_seq = $3, delivered_at = $4 WHERE chat_id = $1 AND user_id = $2";
        var reached = await w.QueryAsync(r => new ReachedMessage(r.GetString(1), r.GetString(0), r.GetInt64(2)),
            $"""
            WITH moved AS ({update})
            SELECT DISTINCT ON (sender_id) sender_id, id, seq FROM messages
            WHERE chat_id = $1 AND seq > $5 AND seq <= $3 AND sender_id <> $2
            ORDER BY sender_id, seq DESC
            """, chatId, userId, target, now, from).ConfigureAwait(false);
        if (reached.Count == 0) return (Value: true, Events: NoEvents);

        var statuses = StatusRules.PerSender(reached, chatId, userId, read, now);
        var events = new StoredEvent[statuses.Count];
        for (var i = 0; i < statuses.Count; i++)
        {
            var (sender, status) = statuses[i];
            events[i] = await AddEvent(w, EventKind.Status, chatId, sender, StoredRows.StatusJson(status), [sender]).ConfigureAwait(false) with { Status = status };
        }
        return (Value: true, Events: events);
    });
}
