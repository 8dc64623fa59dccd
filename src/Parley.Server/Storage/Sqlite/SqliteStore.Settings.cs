using Microsoft.Data.Sqlite;

namespace Parley.Server.Storage.Sqlite;

internal sealed partial class SqliteStore
{
    private const string SettingsQuery =
        """
        SELECT m.chat_id, coalesce(s.muted_until, 0), coalesce(s.previews, 1), coalesce(s.pinned, 0), coalesce(s.archived, 0),
               c.disappear_after_seconds
        FROM members m JOIN chats c ON c.id = m.chat_id
        LEFT JOIN chat_settings s ON s.user_id = m.user_id AND s.chat_id = m.chat_id
        WHERE m.user_id = $1 AND ($2 IS NULL OR m.chat_id = $2)
        """;

    private static ChatSettings ReadSettings(SqliteDataReader r) => new(
        r.GetString(0), r.GetInt64(1), r.GetInt64(2) != 0, r.GetInt64(3) != 0, r.GetInt64(4) != 0, (int)r.GetInt64(5));

    public Task<IReadOnlyDictionary<string, ChatSettings>> GetChatSettingsAsync(string userId, string? onlyChatId) =>
        db.ReadAsync<IReadOnlyDictionary<string, ChatSettings>>(c =>
            c.Query(ReadSettings, SettingsQuery, userId, onlyChatId).ToDictionary(s => s.ChatId));

    public Task<SettingsResult> UpdateChatSettingsAsync(string chatId, string userId, ChatSettingsChange change, long now) => WriteAndPublish(w =>
    {
        var c = w.Connection;
        var current = c.QueryFirst(ReadSettings, SettingsQuery, userId, chatId);
        var chat = current is null ? null : FindChat(c, chatId);
        if (current is null || chat is null) return (Value: new SettingsResult(SettingsOutcome.NotFound, null), Events: Array.Empty<StoredEvent>());
        var timerChanges = change.DisappearAfterSeconds is int timer && timer != current.DisappearAfterSeconds;
        if (timerChanges && chat.IsGroup && FindMember(c, chatId, userId) is not { IsAdmin: true })
        {
            return (Value: new SettingsResult(SettingsOutcome.NotAllowed, null), Events: Array.Empty<StoredEvent>());
        }

        var events = new List<StoredEvent>();
        var updated = change.ApplyTo(current);
        if (change.ChangesOwnSettings)
        {
            c.Execute(
                """
                INSERT INTO chat_settings (user_id, chat_id, muted_until, previews, pinned, archived) VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (user_id, chat_id) DO UPDATE SET muted_until = $3, previews = $4, pinned = $5, archived = $6
                """, userId, chatId, updated.MutedUntil, updated.Previews ? 1 : 0, updated.Pinned ? 1 : 0, updated.Archived ? 1 : 0);
            // The member's other devices learn it through a chat event addressed to them alone.
            if (!timerChanges) events.Add(AddEvent(w, EventKind.Chat, chatId, userId, null, [userId]));
        }
        if (timerChanges)
        {
            var seconds = change.DisappearAfterSeconds!.Value;
            c.Execute("UPDATE chats SET disappear_after_seconds = $2 WHERE id = $1", chatId, seconds);
            updated = updated with { DisappearAfterSeconds = seconds };
            var recipients = w.MemberIds(chatId);
            events.Add(AddEvent(w, EventKind.Chat, chatId, null, null, recipients));
            var message = InsertSystemMessage(w, chatId, userId, SystemActions.DisappearingMessages,
                DisappearTimers.Describe(seconds), null, now);
            events.Add(MessageEvent(message, recipients));
        }
        return (Value: new SettingsResult(SettingsOutcome.Done, updated), Events: events.ToArray());
    });

    public Task<ExpiredMessages> ExpireMessagesAsync(long now, int max)
    {
        // Most sweeps find nothing: look first, so they queue no write.
        var due = db.Read(c => c.Scalar("SELECT count(*) FROM (SELECT 1 FROM messages WHERE expires_at <= $1 LIMIT 1)", now));
        return due == 0 ? Task.FromResult(ExpiredMessages.None) : DeleteExpiredAsync(now, max);
    }

    private Task<ExpiredMessages> DeleteExpiredAsync(long now, int max) => WriteAndPublish(w =>
    {
        var c = w.Connection;
        var expired = c.Query(r => (Pos: r.GetInt64(0), Id: r.GetString(1), ChatId: r.GetString(2), Media: r.StringOrNull(3),
                SenderId: r.GetString(4), ClientMessageId: r.StringOrNull(5), Seq: r.GetInt64(6)),
            "SELECT pos, id, chat_id, media, sender_id, client_message_id, seq FROM messages WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2", now, max);
        var events = new List<StoredEvent>();
        var forgotten = new List<string>();
        if (expired.Count > 0) w.ContentRemoved();
        foreach (var m in expired)
        {
            c.Execute("DELETE FROM messages WHERE pos = $1", m.Pos);
            c.Execute("DELETE FROM chat_positions WHERE chat_id = $1 AND pos = $2", m.ChatId, m.Pos);
            // Its key goes too (a key still in memory names a message no longer there, and is passed over).
            if (m.ClientMessageId is not null) w.ClientIds.Forget(c, m.ChatId, m.SenderId, m.ClientMessageId, m.Pos);
            c.Execute("DELETE FROM hidden_messages WHERE message_id = $1", m.Id);
            // Those who had not read it count it unread no more (unread = last seq - read mark - not unread above it).
            c.Execute("UPDATE members SET own_after_read = own_after_read + 1 WHERE chat_id = $1 AND read_seq < $2 AND user_id <> $3",
                m.ChatId, m.Seq, m.SenderId);
            if (MediaIdOf(m.Media) is { } mediaId && ForgetMedia(c, mediaId, m.ChatId)) forgotten.Add(mediaId);
            var recipients = w.MemberIds(m.ChatId);
            // Replies keep no quote of it; their readers get the reply again without it.
            var replies = c.Query(ReadMessage, $"UPDATE messages SET reply_quote = '' WHERE reply_to = $1 RETURNING {MessageColumns}", m.Id);
            foreach (var reply in replies)
            {
                events.Add(AddEvent(w, EventKind.MessageUpdated, m.ChatId, null, reply.Id, recipients) with { Message = reply });
            }
            // The chat list shows the newest message that is left (looked for only when the chat
            // showed this one: a sweep of a busy chat's old messages reads nothing more).
            if (LastPosOf(c, m.ChatId) == m.Pos)
            {
                var newest = SqliteChatQueries.Newest.Run(c, w.ChatPositions, m.ChatId, 0, long.MaxValue, 1) is [var pos] ? (long?)pos : null;
                c.Execute("UPDATE chats SET last_message_pos = $2 WHERE id = $1", m.ChatId, newest);
            }
            events.Add(AddEvent(w, EventKind.MessageUpdated, m.ChatId, null, m.Id, recipients) with { Message = MessageRecord.Tombstone(m.Id, m.ChatId) });
        }
        return (Value: new ExpiredMessages(expired.Count, forgotten), Events: events.ToArray());
    });

    /// <summary>The attachment of an expired message goes with it: the chat loses access, and the
    /// media row goes once no chat and no profile uses it. True when it went (its bytes are then the
    /// caller's to delete).</summary>
    private static bool ForgetMedia(SqliteConnection c, string mediaId, string chatId)
    {
        c.Execute("DELETE FROM media_chats WHERE media_id = $1 AND chat_id = $2", mediaId, chatId);
        return c.Execute(
            """
            DELETE FROM media WHERE id = $1
              AND NOT EXISTS (SELECT 1 FROM media_chats WHERE media_id = $1)
              AND NOT EXISTS (SELECT 1 FROM users WHERE photo_media_id = $1)
            """, mediaId) > 0;
    }

    internal static string? MediaIdOf(string? mediaJson)
    {
        if (mediaJson is null) return null;
        using var doc = System.Text.Json.JsonDocument.Parse(mediaJson);
        return doc.RootElement.TryGetProperty("mediaId", out var id) ? id.GetString() : null;
    }
}
