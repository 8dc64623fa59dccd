using System.Text.Json;
using Npgsql;

namespace Parley.Server.Storage.Postgres;

internal sealed partial class PostgresStore
{
    private const string SettingsQuery =
        """
        SELECT m.chat_id, coalesce(s.muted_until, 0), coalesce(s.previews, true), coalesce(s.pinned, false), coalesce(s.archived, false),
               c.disappear_after_seconds
        FROM members m JOIN chats c ON c.id = m.chat_id
        LEFT JOIN chat_settings s ON s.user_id = m.user_id AND s.chat_id = m.chat_id
        WHERE m.user_id = $1 AND ($2::text IS NULL OR m.chat_id = $2::text)
        """;

    private static ChatSettings ReadSettings(NpgsqlDataReader r) => new(
        r.GetString(0), r.GetInt64(1), r.GetBoolean(2), r.GetBoolean(3), r.GetBoolean(4), r.GetInt32(5));

    public async Task<IReadOnlyDictionary<string, ChatSettings>> GetChatSettingsAsync(string userId, string? onlyChatId) =>
        (await db.ReadAsync(c => c.QueryAsync(ReadSettings, SettingsQuery, userId, onlyChatId)).ConfigureAwait(false)).ToDictionary(s => s.ChatId);

    public Task<SettingsResult> UpdateChatSettingsAsync(string chatId, string userId, ChatSettingsChange change, long now) => WriteAndPublish(async w =>
    {
        // The chat row lock orders timer changes against sends (which take it to assign a seq).
        var chat = await w.QueryFirstAsync(r => (IsGroup: r.GetBoolean(0), Found: true),
            "SELECT is_group FROM chats WHERE id = $1 FOR UPDATE", chatId).ConfigureAwait(false);
        var current = chat.Found ? await w.QueryFirstAsync(ReadSettings, SettingsQuery, userId, chatId).ConfigureAwait(false) : null;
        if (current is null) return (Value: new SettingsResult(SettingsOutcome.NotFound, null), Events: NoEvents);
        var timerChanges = change.DisappearAfterSeconds is int timer && timer != current.DisappearAfterSeconds;
        if (timerChanges && chat.IsGroup && await FindMember(w, chatId, userId).ConfigureAwait(false) is not { IsAdmin: true })
        {
            return (Value: new SettingsResult(SettingsOutcome.NotAllowed, null), Events: NoEvents);
        }

        var events = new List<StoredEvent>();
        var updated = change.ApplyTo(current);
        if (change.ChangesOwnSettings)
        {
            await w.ExecuteAsync(
                """
                INSERT INTO chat_settings (user_id, chat_id, muted_until, previews, pinned, archived) VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (user_id, chat_id) DO UPDATE SET muted_until = $3, previews = $4, pinned = $5, archived = $6
                """, userId, chatId, updated.MutedUntil, updated.Previews, updated.Pinned, updated.Archived).ConfigureAwait(false);
            // The member's other devices learn it through a chat event addressed to them alone.
            if (!timerChanges) events.Add(await AddEvent(w, EventKind.Chat, chatId, userId, null, [userId]).ConfigureAwait(false));
        }
        if (timerChanges)
        {
            var seconds = change.DisappearAfterSeconds!.Value;
            await w.ExecuteAsync("UPDATE chats SET disappear_after_seconds = $2 WHERE id = $1", chatId, seconds).ConfigureAwait(false);
            updated = updated with { DisappearAfterSeconds = seconds };
            var recipients = await MemberIds(w, chatId).ConfigureAwait(false);
            events.Add(await AddEvent(w, EventKind.Chat, chatId, null, null, recipients).ConfigureAwait(false));
            var message = await InsertSystemMessage(w, chatId, userId, SystemActions.DisappearingMessages,
                DisappearTimers.Describe(seconds), null, now).ConfigureAwait(false);
            events.Add(MessageEvent(w, message, recipients));
        }
        return (Value: new SettingsResult(SettingsOutcome.Done, updated), Events: events.ToArray());
    });

    /// <summary>Every node sweeps; <c>SKIP LOCKED</c> gives each expired message to one of them.</summary>
    public async Task<ExpiredMessages> ExpireMessagesAsync(long now, int max)
    {
        // Most sweeps find nothing: look first, so they take no write transaction.
        var due = await db.ReadAsync(c => c.ScalarAsync("SELECT count(*) FROM (SELECT 1 FROM messages WHERE expires_at <= $1 LIMIT 1) d", now))
            .ConfigureAwait(false);
        return due == 0 ? ExpiredMessages.None : await DeleteExpiredAsync(now, max).ConfigureAwait(false);
    }

    private Task<ExpiredMessages> DeleteExpiredAsync(long now, int max) => WriteAndPublish(async w =>
    {
        var expired = await w.QueryAsync(r => (Pos: r.GetInt64(0), Id: r.GetString(1), ChatId: r.GetString(2), Media: r.StringOrNull(3),
                Seq: r.GetInt64(4), SenderId: r.GetString(5)),
            """
            DELETE FROM messages WHERE pos IN (
                SELECT pos FROM messages WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
            RETURNING pos, id, chat_id, media, seq, sender_id
            """, now, max).ConfigureAwait(false);
        if (expired.Count == 0) return (Value: ExpiredMessages.None, Events: NoEvents);
        var ids = expired.Select(m => m.Id).ToArray();
        await w.ExecuteAsync("DELETE FROM hidden_messages WHERE message_id = ANY($1)", (object)ids).ConfigureAwait(false);
        var events = new List<StoredEvent>();
        var members = new Dictionary<string, List<string>>();
        var forgotten = new List<string>();
        foreach (var m in expired.OrderBy(m => m.Pos))
        {
            if (!members.TryGetValue(m.ChatId, out var recipients))
            {
                recipients = await MemberIds(w, m.ChatId).ConfigureAwait(false);
                members[m.ChatId] = recipients;
            }
            // Those who had not read it count it unread no more (unread = last seq - read mark - not unread above it).
            await w.ExecuteAsync("UPDATE members SET own_after_read = own_after_read + 1 WHERE chat_id = $1 AND read_seq < $2 AND user_id <> $3",
                m.ChatId, m.Seq, m.SenderId).ConfigureAwait(false);
            if (MediaIdOf(m.Media) is { } mediaId && await ForgetMedia(w, mediaId, m.ChatId).ConfigureAwait(false)) forgotten.Add(mediaId);
            // Replies keep no quote of it; their readers get the reply again without it.
            var replies = await w.QueryAsync(ReadMessage, $"UPDATE messages SET reply_quote = '' WHERE reply_to = $1 RETURNING {MessageColumns}", m.Id)
                .ConfigureAwait(false);
            foreach (var reply in replies)
            {
                events.Add(await AddEvent(w, EventKind.MessageUpdated, m.ChatId, null, reply.Id, recipients).ConfigureAwait(false) with { Message = reply });
            }
            var e = await AddEvent(w, EventKind.MessageUpdated, m.ChatId, null, m.Id, recipients).ConfigureAwait(false);
            events.Add(e with { Message = MessageRecord.Tombstone(m.Id, m.ChatId) });
        }
        return (Value: new ExpiredMessages(expired.Count, forgotten), Events: events.ToArray());
    });

    /// <summary>The attachment of an expired message goes with it: the chat loses access, and the
    /// media row goes once no chat and no profile uses it. True when it went (its bytes are then the
    /// caller's to delete). The media row is locked first: two nodes expiring the same attachment in
    /// two chats at once then see each other's commit, and one of them deletes it.</summary>
    private static async Task<bool> ForgetMedia(PgWrite w, string mediaId, string chatId)
    {
        await w.ExecuteAsync("SELECT 1 FROM media WHERE id = $1 FOR UPDATE", mediaId).ConfigureAwait(false);
        await w.ExecuteAsync("DELETE FROM media_chats WHERE media_id = $1 AND chat_id = $2", mediaId, chatId).ConfigureAwait(false);
        return await w.ExecuteAsync(
            """
            DELETE FROM media WHERE id = $1
              AND NOT EXISTS (SELECT 1 FROM media_chats WHERE media_id = $1)
              AND NOT EXISTS (SELECT 1 FROM users WHERE photo_media_id = $1)
            """, mediaId).ConfigureAwait(false) > 0;
    }

    private static string? MediaIdOf(string? mediaJson)
    {
        if (mediaJson is null) return null;
        using var doc = JsonDocument.Parse(mediaJson);
        return doc.RootElement.TryGetProperty("mediaId", out var id) ? id.GetString() : null;
    }
}
