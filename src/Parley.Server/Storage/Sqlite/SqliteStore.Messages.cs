using Microsoft.Data.Sqlite;
using Parley.Server.Storage.Rules;

namespace Parley.Server.Storage.Sqlite;

internal sealed partial class SqliteStore
{
    private const string MessageColumns = StoredRows.MessageColumns;

    private static MessageRecord ReadMessage(SqliteDataReader r) => StoredRows.Message(r);

    private static MessageRecord ReadMessage(SqliteRow r) => StoredRows.Message(r);

    public Task<SendResult> SendMessageAsync(NewMessage m, string? originConnectionId) => WriteAndPublish((m, originConnectionId), static (w, send) =>
    {
        var (m, originConnectionId) = send;
        var c = w.Connection;
        var isMember = w.MemberIds(m.ChatId).Contains(m.SenderId);
        var original = !isMember || m.ClientMessageId is null ? null : FindOriginal(w, m.ChatId, m.SenderId, m.ClientMessageId);
        var replied = !isMember || m.ReplyTo is null ? default : c.QueryRow(r => (Content: r.TextOrNull(0), Deleted: r.Bool(1), Found: true),
            "SELECT content, deleted FROM messages WHERE id = $1 AND chat_id = $2", m.ReplyTo, m.ChatId);
        if (MessageRules.CheckSend(isMember, original is not null, m.ReplyTo is null || replied.Found) is { } refused)
        {
            return (Value: new SendResult(refused, original), Events: Array.Empty<StoredEvent>());
        }
        var quote = m.ReplyTo is null ? null : MessageRules.Quote(replied.Content, replied.Deleted);
        var sender = w.UserCard(m.SenderId);
        var message = InsertMessage(w, m.ChatId, m.SenderId, sender.Name, sender.Avatar, m.Type, m.Content, m.Timestamp,
            m.ClientMessageId, m.ReplyTo, quote, null, null, m.MediaJson);
        if (m.MediaId is not null)
        {
            c.Run("INSERT INTO media_chats (media_id, chat_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", m.MediaId, m.ChatId);
        }
        var e = MessageEvent(message, w.MemberIds(m.ChatId)) with { OriginConnectionId = originConnectionId };
        return (Value: new SendResult(SendOutcome.Stored, message), Events: new[] { e });
    });

    /// <summary>The message stored by an earlier send with the same key, if any (see <see cref="SqliteClientIds"/>).</summary>
    private static MessageRecord? FindOriginal(WriteContext w, string chatId, string senderId, string clientMessageId) =>
        w.ClientIds.Find(w.Connection, chatId, senderId, clientMessageId, (w.Connection, chatId, senderId, clientMessageId),
            static (pos, key) => key.Connection.QueryRow(ReadMessage,
                $"SELECT {MessageColumns} FROM messages WHERE pos = $1 AND chat_id = $2 AND sender_id = $3 AND client_message_id = $4",
                pos, key.chatId, key.senderId, key.clientMessageId));

    /// <summary>A system message by <paramref name="actorId"/>, naming <paramref name="affectedUserId"/>
    /// (the member added, removed or left) by its name now and by its id.</summary>
    private static MessageRecord InsertSystemMessage(WriteContext w, string chatId, string actorId, string action, string? content, string? affectedUserId, long now)
    {
        var actor = w.UserCard(actorId);
        var affectedName = affectedUserId is null ? null : w.UserCard(affectedUserId).Name;
        return InsertMessage(w, chatId, actorId, actor.Name, actor.Avatar, MessageTypes.System, content, now,
            null, null, null, action, affectedName, null, affectedUserId);
    }

    /// <summary>The one place a message row is written: next seq from the chat row, next stream
    /// position, the sender's own-message counter (which keeps everyone's unread count exact
    /// without touching other members' rows).</summary>
    private static MessageRecord InsertMessage(WriteContext w, string chatId, string senderId, string senderName, string? senderAvatar,
        string type, string? content, long timestamp, string? clientMessageId, string? replyTo, string? replyQuote,
        string? systemAction, string? affectedUserName, string? media, string? affectedUserId = null)
    {
        var c = w.Connection;
        var pos = w.NextPosition();
        // Not UPDATE ... RETURNING: SQLite gathers returned rows in a temporary b-tree, opened and
        // closed for each send; the row read back is in the writer's page cache already.
        c.Run("UPDATE chats SET last_seq = last_seq + 1, last_message_pos = $2, last_activity = max(last_activity, $3) WHERE id = $1",
            chatId, pos, timestamp);
        var chat = c.QueryRow(r => (Seq: r.Int64(0), DisappearAfter: r.Int64(1)),
            "SELECT last_seq, disappear_after_seconds FROM chats WHERE id = $1", chatId);
        var seq = chat.Seq;
        var id = MessageIds.New();
        c.Run(
            $"""
            INSERT INTO messages (pos, {MessageColumns}, expires_at)
            VALUES ($1, $2, $3, $4, $1, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, NULL, 0, $18, $17)
            """,
            pos, id, chatId, seq, senderId, senderName, senderAvatar, type, content, timestamp, clientMessageId,
            replyTo, replyQuote, systemAction, affectedUserName, media, MessageRules.ExpiresAt(type, timestamp, chat.DisappearAfter), affectedUserId);
        c.Run("UPDATE members SET own_after_read = own_after_read + 1 WHERE chat_id = $1 AND user_id = $2", chatId, senderId);
        if (clientMessageId is not null) w.ClientIds.Added(chatId, senderId, clientMessageId, pos);
        w.ChatPositions.Added(chatId, pos);
        return new MessageRecord(id, chatId, seq, pos, senderId, senderName, senderAvatar, type, content, timestamp, clientMessageId,
            replyTo, replyQuote, systemAction, affectedUserName, media, null, false) { AffectedUserId = affectedUserId };
    }

    public Task<MessageRecord?> GetMessageAsync(string messageId) =>
        db.ReadAsync(c => c.QueryFirst(ReadMessage, $"SELECT {MessageColumns} FROM messages WHERE id = $1", messageId));

    public Task<IReadOnlyList<MessageRecord>> GetMessagesAsync(string chatId, string viewerId, long afterPos, long beforePos, int limit) =>
        db.ReadTogetherAsync(c => ReadHistory(c, chatId, viewerId, afterPos, beforePos, limit));

    /// <summary>The members and the page in one read transaction (a history request needs both).</summary>
    public Task<(IReadOnlyList<MemberRecord> Members, IReadOnlyList<MessageRecord>? Messages)> GetHistoryPageAsync(
        string chatId, string viewerId, long beforePos, int limit) =>
        db.ReadTogetherAsync<(IReadOnlyList<MemberRecord>, IReadOnlyList<MessageRecord>?)>(c =>
        {
            var members = FindMembers(c, chatId);
            var viewer = members.FirstOrDefault(m => m.UserId == viewerId);
            return (members, viewer is null ? null : ReadHistory(c, chatId, viewerId, viewer.JoinedPos, beforePos, limit));
        });

    private IReadOnlyList<MessageRecord> ReadHistory(SqliteConnection c, string chatId, string viewerId, long afterPos, long beforePos, int limit) =>
        SqliteChatQueries.History.Run(c, db.ChatPositions, chatId, afterPos, beforePos, limit, viewerId);

    public Task<MessageChange> EditMessageAsync(string messageId, string userId, string content, long now) =>
        ChangeMessage(messageId, userId, now, (c, m) =>
        {
            c.Execute("UPDATE messages SET content = $2, edited_at = $3 WHERE id = $1", messageId, content, now);
            return MessageRules.Edited(m, content, now);
        }, (w, original, recipients) => Requote(w, original, MessageRules.Quote(content, false), recipients));

    public Task<MessageChange> DeleteMessageForEveryoneAsync(string messageId, string userId, long now) =>
        ChangeMessage(messageId, userId, now, (c, m) =>
        {
            c.Execute("UPDATE messages SET content = NULL, media = NULL, deleted = 1 WHERE id = $1", messageId);
            return MessageRules.DeletedForEveryone(m);
        }, DeleteCopies);

    /// <summary>After a delete for everyone, the content's copies go too: every reply's quote of it
    /// now says it was deleted (see <see cref="Requote"/>), and its attachment is no longer served to
    /// the chat (the uploader keeps it).</summary>
    private static IEnumerable<StoredEvent> DeleteCopies(WriteContext w, MessageRecord original, IReadOnlyList<string> recipients)
    {
        var c = w.Connection;
        if (DeletedContent.MediaIdOf(original.MediaJson) is { } mediaId
            && SqliteChatQueries.Showing.Run(c, w.ChatPositions, original.ChatId, 0, long.MaxValue, 1, mediaId).Count == 0)
        {
            c.Execute("DELETE FROM media_chats WHERE media_id = $1 AND chat_id = $2", mediaId, original.ChatId);
        }
        return Requote(w, original, null, recipients);
    }

    /// <summary>The replies to a message keep quoting it as it is now: its new text after an edit, no
    /// text (null: deleted) after a delete for everyone. A <c>messageUpdated</c> event each, so live
    /// clients and /sync see the reply change; replies whose quote already reads so are left alone.</summary>
    private static IEnumerable<StoredEvent> Requote(WriteContext w, MessageRecord quoted, string? quote, IReadOnlyList<string> recipients)
    {
        var replies = w.Connection.Query(ReadMessage,
            $"""
            UPDATE messages SET reply_quote = $3
            WHERE reply_to = $1 AND chat_id = $2 AND reply_quote IS NOT NULL AND reply_quote IS NOT $3
            RETURNING {MessageColumns}
            """,
            quoted.Id, quoted.ChatId, quote);
        return replies.OrderBy(r => r.Pos)
            .Select(reply => AddEvent(w, EventKind.MessageUpdated, reply.ChatId, null, reply.Id, recipients) with { Message = reply })
            .ToList();
    }

    /// <summary>Edit and delete-for-everyone, under <see cref="MessageRules.CheckChange"/>.</summary>
    private Task<MessageChange> ChangeMessage(string messageId, string userId, long now, Func<SqliteConnection, MessageRecord, MessageRecord> change,
        Func<WriteContext, MessageRecord, IReadOnlyList<string>, IEnumerable<StoredEvent>>? afterwards = null) =>
        WriteAndPublish(w =>
        {
            var c = w.Connection;
            var message = c.QueryFirst(ReadMessage, $"SELECT {MessageColumns} FROM messages WHERE id = $1", messageId);
            var member = message is null ? null : FindMember(c, message.ChatId, userId);
            var outcome = MessageRules.CheckChange(message, member, userId);
            if (outcome != ChangeOutcome.Done) return (Value: new MessageChange(outcome, null), Events: Array.Empty<StoredEvent>());
            var updated = change(c, message!);
            w.ContentRemoved(); // the text as it was: an edit or a delete for everyone
            var recipients = w.MemberIds(message!.ChatId);
            var e = AddEvent(w, EventKind.MessageUpdated, message.ChatId, null, messageId, recipients) with { Message = updated };
            StoredEvent[] events = afterwards is null ? [e] : [e, .. afterwards(w, message, recipients)];
            return (Value: new MessageChange(ChangeOutcome.Done, updated), Events: events);
        });

    public Task<ChangeOutcome> HideMessageAsync(string messageId, string userId) => db.WriteAsync(w =>
    {
        var c = w.Connection;
        var message = c.QueryFirst(ReadMessage, $"SELECT {MessageColumns} FROM messages WHERE id = $1", messageId);
        var member = message is null ? null : FindMember(c, message.ChatId, userId);
        if (!MessageRules.CanHide(message, member)) return ChangeOutcome.NotFound;
        c.Execute("INSERT INTO hidden_messages (user_id, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", userId, messageId);
        return ChangeOutcome.Done;
    });

    public Task<IReadOnlyList<HiddenMessage>> GetHiddenMessagesAsync(string userId, string chatId) =>
        db.ReadAsync<IReadOnlyList<HiddenMessage>>(c => c.Query(r => new HiddenMessage(r.GetInt64(0), r.GetInt64(1), r.GetString(2)),
            """
            SELECT m.pos, m.seq, m.sender_id FROM hidden_messages h JOIN messages m ON m.id = h.message_id
            WHERE h.user_id = $1 AND m.chat_id = $2
            """, userId, chatId));

    public Task<IReadOnlySet<string>> ChatsWithHiddenMessagesAsync(string userId) =>
        db.ReadAsync<IReadOnlySet<string>>(c => c.Query(r => r.GetString(0),
            "SELECT DISTINCT m.chat_id FROM hidden_messages h JOIN messages m ON m.id = h.message_id WHERE h.user_id = $1",
            userId).ToHashSet(StringComparer.Ordinal));

    public async Task<bool> AdvanceWatermarkAsync(string chatId, string userId, long upToSeq, bool read, long now)
    {
        return await WriteAndPublish(w =>
        {
            var c = w.Connection;
            var me = FindMember(c, chatId, userId);
            var chat = FindChat(c, chatId);
            if (me is null || chat is null) return (Value: false, Events: Array.Empty<StoredEvent>());
            var from = read ? me.ReadSeq : me.DeliveredSeq;
            if (StatusRules.Target(upToSeq, chat.LastSeq, from) is not { } target) return (Value: false, Events: Array.Empty<StoredEvent>());

            // The messages in (from, target] are the newest (target - from) rows at or below target's position.
            // (Disappearing messages leave holes: the newest message at or below target stands for it.)
            var positions = w.ChatPositions;
            var targetPos = SqliteChatQueries.PositionsUpToSeq.Run(c, positions, chatId, 0, LastPosOf(c, chatId) + 1, 1, target)
                is [var newest] ? newest : 0;
            var covered = SqliteChatQueries.ReachedAboveSeq.Run(c, positions, chatId, 0, targetPos + 1, (int)Math.Min(target - from, int.MaxValue), from);

            if (read)
            {
                // Above the mark, what is not unread: own messages and the holes expired messages left.
                var othersAfter = SqliteChatQueries.SentByOthers.Run(c, positions, chatId, targetPos, long.MaxValue, int.MaxValue, userId).Count;
                var ownAfter = Math.Max(0, chat.LastSeq - target - othersAfter);
                c.Execute(
                    """
                    UPDATE members SET read_seq = $3, read_at = $4, own_after_read = $5,
                        delivered_at = CASE WHEN delivered_seq < $3 THEN $4 ELSE delivered_at END,
                        delivered_seq = max(delivered_seq, $3)
                    WHERE chat_id = $1 AND user_id = $2
                    """, chatId, userId, target, now, ownAfter);
            }
            else
            {
                c.Execute("UPDATE members SET delivered_seq = $3, delivered_at = $4 WHERE chat_id = $1 AND user_id = $2",
                    chatId, userId, target, now);
            }

            var events = new List<StoredEvent>();
            foreach (var (sender, status) in StatusRules.PerSender(covered, chatId, userId, read, now))
            {
                events.Add(AddEvent(w, EventKind.Status, chatId, sender, StoredRows.StatusJson(status), [sender]) with { Status = status });
            }
            return (Value: true, Events: events.ToArray());
        }).ConfigureAwait(false);
    }

    private static long LastPosOf(SqliteConnection c, string chatId) =>
        c.Scalar("SELECT coalesce(last_message_pos, 0) FROM chats WHERE id = $1", chatId);
}
