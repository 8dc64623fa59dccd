using Npgsql;
using Parley.Server.Storage.Rules;

namespace Parley.Server.Storage.Postgres;

internal sealed partial class PostgresStore
{
    private const string ChatColumns = StoredRows.ChatColumns;
    private const string MemberColumns = StoredRows.MemberColumns;

    private static ChatRecord ReadChat(NpgsqlDataReader r, int o) => StoredRows.Chat(r, o);

    private static MemberRecord ReadMember(NpgsqlDataReader r, int o) => StoredRows.Member(r, o);

    private static Task<ChatRecord?> FindChat(IPgSession c, string chatId) =>
        c.QueryFirstAsync(r => ReadChat(r, 0), $"SELECT {ChatColumns} FROM chats WHERE id = $1", chatId);

    private static Task<MemberRecord?> FindMember(IPgSession c, string chatId, string userId) =>
        c.QueryFirstAsync(r => ReadMember(r, 0), $"SELECT {MemberColumns} FROM members WHERE chat_id = $1 AND user_id = $2", chatId, userId);

    private static Task<List<MemberRecord>> FindMembers(IPgSession c, string chatId) =>
        c.QueryAsync(r => ReadMember(r, 0), $"SELECT {MemberColumns} FROM members WHERE chat_id = $1 ORDER BY joined_at, user_id", chatId);

    private static Task<List<string>> MemberIds(IPgSession c, string chatId) =>
        c.QueryAsync(r => r.GetString(0), "SELECT user_id FROM members WHERE chat_id = $1", chatId);

    /// <summary>What the writers have committed (see <see cref="StreamBounds"/>).</summary>
    public Task<StreamCursor> CurrentCursorAsync() => db.ReadAsync(async c =>
        StreamBounds.Cursor(await c.QueryAsync(StreamBounds.ReadRow, StreamBounds.Rows).ConfigureAwait(false)));

    public Task<ChatRecord?> GetChatAsync(string chatId) => db.ReadAsync(c => FindChat(c, chatId));

    public Task<MemberRecord?> GetMemberAsync(string chatId, string userId) => db.ReadAsync(c => FindMember(c, chatId, userId));

    public async Task<IReadOnlyList<MemberRecord>> GetMembersAsync(string chatId) =>
        await db.ReadAsync(c => FindMembers(c, chatId)).ConfigureAwait(false);

    public async Task<IReadOnlyList<string>> GetChatIdsAsync(string userId) =>
        await db.ReadAsync(c => c.QueryAsync(r => r.GetString(0), "SELECT chat_id FROM members WHERE user_id = $1", userId)).ConfigureAwait(false);

    public async Task<IReadOnlyList<string>> GetContactsAsync(string userId, int maxGroupSize = int.MaxValue) =>
        await db.ReadAsync(c => c.QueryAsync(r => r.GetString(0),
        """
        SELECT DISTINCT other.user_id FROM members mine
        JOIN members other ON other.chat_id = mine.chat_id AND other.user_id <> mine.user_id
        WHERE mine.user_id = $1 AND ($2 >= 2147483647 OR (SELECT count(*) FROM members n WHERE n.chat_id = mine.chat_id) <= $2)
        """, userId, maxGroupSize)).ConfigureAwait(false);

    public async Task<IReadOnlyList<ChatView>> ListChatsAsync(string userId) =>
        await db.ReadAsync(c => ReadChatViews(c, userId, null)).ConfigureAwait(false);

    public async Task<ChatView?> GetChatViewAsync(string chatId, string userId) =>
        (await db.ReadAsync(c => ReadChatViews(c, userId, chatId)).ConfigureAwait(false)).FirstOrDefault();

    /// <summary>A user's chats with their membership, last message and members, in three queries
    /// whatever the number of chats.</summary>
    private static async Task<List<ChatView>> ReadChatViews(IPgSession c, string userId, string? onlyChatId)
    {
        var rows = await c.QueryAsync(r => (Chat: ReadChat(r, 0), Me: ReadMember(r, 8), LastPos: r.Int64OrNull(19)),
            """
            SELECT c.id, c.is_group, c.name, c.description, c.created_by, c.created_at, c.last_seq, c.last_activity,
                   m.chat_id, m.user_id, m.role, m.joined_at, m.joined_seq, m.joined_pos, m.delivered_seq, m.delivered_at,
                   m.read_seq, m.read_at, m.own_after_read, (SELECT max(pos) FROM messages lm WHERE lm.chat_id = c.id)
            FROM members m JOIN chats c ON c.id = m.chat_id
            WHERE m.user_id = $1 AND ($2::text IS NULL OR m.chat_id = $2::text)
            ORDER BY c.last_activity DESC, c.id
            """, userId, onlyChatId).ConfigureAwait(false);
        if (rows.Count == 0) return [];
        var chatIds = rows.Select(r => r.Chat.Id).ToArray();
        var lastPositions = rows.Where(r => r.LastPos is long pos && pos > r.Me.JoinedPos).Select(r => r.LastPos!.Value).ToArray();
        var lastMessages = lastPositions.Length == 0
            ? new Dictionary<long, MessageRecord>()
            : (await c.QueryAsync(ReadMessage, $"SELECT {MessageColumns} FROM messages WHERE pos = ANY($1)", (object)lastPositions).ConfigureAwait(false))
                .ToDictionary(m => m.Pos);
        var members = (await c.QueryAsync(r => ReadMember(r, 0),
                $"SELECT {MemberColumns} FROM members WHERE chat_id = ANY($1) ORDER BY chat_id, joined_at, user_id", (object)chatIds).ConfigureAwait(false))
            .GroupBy(m => m.ChatId)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<MemberRecord>)g.ToList());
        var views = new List<ChatView>(rows.Count);
        foreach (var row in rows)
        {
            MessageRecord? last = row.LastPos is long pos && pos > row.Me.JoinedPos ? lastMessages.GetValueOrDefault(pos) : null;
            views.Add(new ChatView(row.Chat, row.Me, last, members.GetValueOrDefault(row.Chat.Id) ?? []));
        }
        return views;
    }

    public async Task<(ChatRecord Chat, bool Created)> GetOrCreateDirectChatAsync(string chatId, string userA, string userB, long now)
    {
        var existing = await GetChatAsync(chatId).ConfigureAwait(false);
        if (existing is not null) return (existing, false);
        return await WriteAndPublish(async w =>
        {
            // Another node may be creating the same chat: its insert wins, this one waits for its
            // commit and then finds the chat.
            var inserted = await w.ExecuteAsync(
                "INSERT INTO chats (id, is_group, created_at, last_activity) VALUES ($1, false, $2, $2) ON CONFLICT (id) DO NOTHING",
                chatId, now).ConfigureAwait(false);
            if (inserted == 0) return (Value: ((await FindChat(w, chatId).ConfigureAwait(false))!, false), Events: NoEvents);
            var marker = (await w.TakeChatPositionAsync(chatId).ConfigureAwait(false)).Pos;
            await w.ExecuteAsync(
                $"""
                INSERT INTO members ({MemberColumns})
                VALUES ($1, $3, 'member', $2, 0, $5, 0, $2, 0, $2, 0), ($1, $4, 'member', $2, 0, $5, 0, $2, 0, $2, 0)
                """, chatId, now, userA, userB, marker).ConfigureAwait(false);
            var e = await AddEvent(w, EventKind.Chat, chatId, null, null, [userA, userB]).ConfigureAwait(false);
            var created = new ChatRecord(chatId, false, null, null, null, now, 0, now);
            return (Value: (created, true), Events: new[] { e });
        }).ConfigureAwait(false);
    }

    public Task<ChatRecord> CreateGroupAsync(string groupId, string name, string? description, string creatorId, IReadOnlyList<string> memberIds, long now) =>
        WriteAndPublish(async w =>
        {
            await w.ExecuteAsync("INSERT INTO chats (id, is_group, name, description, created_by, created_at, last_activity) VALUES ($1, true, $2, $3, $4, $5, $5)",
                groupId, name, description, creatorId, now).ConfigureAwait(false);
            var marker = (await w.TakeChatPositionAsync(groupId).ConfigureAwait(false)).Pos;
            var others = memberIds.Where(id => id != creatorId).Distinct().ToArray();
            await AddMemberRows(w, groupId, [creatorId], MemberRoles.Admin, now, 0, marker).ConfigureAwait(false);
            await AddMemberRows(w, groupId, others, MemberRoles.Member, now, 0, marker).ConfigureAwait(false);
            IReadOnlyList<string> recipients = [creatorId, .. others];
            var chatEvent = await AddEvent(w, EventKind.Chat, groupId, null, null, recipients).ConfigureAwait(false);
            var message = await InsertSystemMessage(w, groupId, creatorId, SystemActions.GroupCreated, name, null, now).ConfigureAwait(false);
            var chat = (await FindChat(w, groupId).ConfigureAwait(false))!;
            return (Value: chat, Events: new[] { chatEvent, MessageEvent(w, message, recipients) });
        });

    public Task<GroupChange> AddMembersAsync(string groupId, string actorId, IReadOnlyList<string> memberIds, long now) =>
        WriteAndPublish(async w =>
        {
            var check = await CheckGroupActor(w, groupId, actorId, requireAdmin: true).ConfigureAwait(false);
            if (check != GroupOutcome.Done) return Failed(check);
            var added = GroupRules.NewMembers(memberIds, (await MemberIds(w, groupId).ConfigureAwait(false)).ToHashSet());
            if (added.Count > 0)
            {
                var chat = (await FindChat(w, groupId).ConfigureAwait(false))!;
                foreach (var memberId in added)
                {
                    await AddMemberRows(w, groupId, [memberId], MemberRoles.Member, now, chat.LastSeq, (await w.TakeChatPositionAsync(groupId).ConfigureAwait(false)).Pos).ConfigureAwait(false);
                }
            }
            var recipients = await MemberIds(w, groupId).ConfigureAwait(false);
            var events = new List<StoredEvent>();
            if (added.Count > 0) events.Add(await AddEvent(w, EventKind.Chat, groupId, null, null, recipients).ConfigureAwait(false));
            foreach (var memberId in added)
            {
                var message = await InsertSystemMessage(w, groupId, actorId, SystemActions.MemberAdded, null, memberId, now)
                    .ConfigureAwait(false);
                events.Add(MessageEvent(w, message, recipients));
            }
            return (Value: new GroupChange(GroupOutcome.Done, recipients), Events: events.ToArray());
        });

    public Task<GroupChange> RemoveMemberAsync(string groupId, string actorId, string memberId, long now) =>
        WriteAndPublish(async w =>
        {
            var check = await CheckGroupActor(w, groupId, actorId, requireAdmin: GroupRules.RemovalNeedsAdmin(actorId, memberId)).ConfigureAwait(false);
            if (check != GroupOutcome.Done) return Failed(check);
            var target = await FindMember(w, groupId, memberId).ConfigureAwait(false);
            if (target is null) return Failed(GroupOutcome.NotMember);
            // Everything up to here stays owed to them: sync reads it through past_members.
            await w.ExecuteAsync(
                """
                WITH gone AS (DELETE FROM members WHERE chat_id = $1 AND user_id = $2)
                INSERT INTO past_members (chat_id, user_id, joined_pos, left_pos) VALUES ($1, $2, $3, $4)
                """, groupId, memberId, target.JoinedPos, (await w.TakeChatPositionAsync(groupId).ConfigureAwait(false)).Pos).ConfigureAwait(false);
            if (target.IsAdmin && GroupRules.Successor(target, await FindMembers(w, groupId).ConfigureAwait(false)) is { } successor)
            {
                await w.ExecuteAsync("UPDATE members SET role = $3 WHERE chat_id = $1 AND user_id = $2", groupId, successor.UserId, MemberRoles.Admin)
                    .ConfigureAwait(false);
            }
            var recipients = await MemberIds(w, groupId).ConfigureAwait(false);
            var removed = await AddEvent(w, EventKind.ChatRemoved, groupId, memberId, null, [memberId]).ConfigureAwait(false);
            var message = await InsertSystemMessage(w, groupId, actorId,
                GroupRules.RemovalAction(actorId, memberId), null, memberId, now).ConfigureAwait(false);
            var changed = await AddEvent(w, EventKind.Chat, groupId, null, null, recipients).ConfigureAwait(false);
            return (Value: new GroupChange(GroupOutcome.Done, recipients),
                Events: new[] { removed, MessageEvent(w, message, recipients), changed });
        });

    public Task<GroupOutcome> UpdateGroupInfoAsync(string groupId, string actorId, string? name, string? description, long now) =>
        WriteAndPublish(async w =>
        {
            var check = await CheckGroupActor(w, groupId, actorId, requireAdmin: true).ConfigureAwait(false);
            if (check != GroupOutcome.Done) return (Value: check, Events: NoEvents);
            var chat = (await FindChat(w, groupId).ConfigureAwait(false))!;
            await w.ExecuteAsync("UPDATE chats SET name = coalesce($2::text, name), description = coalesce($3::text, description) WHERE id = $1",
                groupId, name, description).ConfigureAwait(false);
            var recipients = await MemberIds(w, groupId).ConfigureAwait(false);
            var events = new List<StoredEvent> { await AddEvent(w, EventKind.Chat, groupId, null, null, recipients).ConfigureAwait(false) };
            if (GroupRules.Renames(chat, name))
            {
                var message = await InsertSystemMessage(w, groupId, actorId, SystemActions.GroupRenamed, name, null, now).ConfigureAwait(false);
                events.Add(MessageEvent(w, message, recipients));
            }
            return (Value: GroupOutcome.Done, Events: events.ToArray());
        });

    public Task<GroupOutcome> SetAdminAsync(string groupId, string actorId, string memberId, bool admin, long now) =>
        WriteAndPublish(async w =>
        {
            var check = await CheckGroupActor(w, groupId, actorId, requireAdmin: true).ConfigureAwait(false);
            if (check != GroupOutcome.Done) return (Value: check, Events: NoEvents);
            var target = await FindMember(w, groupId, memberId).ConfigureAwait(false);
            var admins = await w.ScalarAsync("SELECT count(*) FROM members WHERE chat_id = $1 AND role = 'admin'", groupId).ConfigureAwait(false);
            var (outcome, changes) = GroupRules.CheckAdminChange(target, admin, admins);
            if (!changes) return (Value: outcome, Events: NoEvents);
            await w.ExecuteAsync("UPDATE members SET role = $3 WHERE chat_id = $1 AND user_id = $2",
                groupId, memberId, admin ? MemberRoles.Admin : MemberRoles.Member).ConfigureAwait(false);
            var e = await AddEvent(w, EventKind.Chat, groupId, null, null, await MemberIds(w, groupId).ConfigureAwait(false)).ConfigureAwait(false);
            return (Value: GroupOutcome.Done, Events: new[] { e });
        });

    private static (GroupChange Value, StoredEvent[] Events) Failed(GroupOutcome outcome) => (GroupChange.Fail(outcome), NoEvents);

    private static async Task<GroupOutcome> CheckGroupActor(PgWrite w, string groupId, string actorId, bool requireAdmin)
    {
        var actor = await w.QueryFirstAsync(r => (IsGroup: r.GetBoolean(0), Role: r.StringOrNull(1)),
            "SELECT c.is_group, m.role FROM chats c LEFT JOIN members m ON m.chat_id = c.id AND m.user_id = $2 WHERE c.id = $1",
            groupId, actorId).ConfigureAwait(false);
        return GroupRules.CheckActor(actor.IsGroup, actor.Role, requireAdmin);
    }

    private static Task<int> AddMemberRows(PgWrite w, string chatId, string[] userIds, string role, long now, long joinedSeq, long joinedPos) =>
        userIds.Length == 0
            ? Task.FromResult(0)
            : w.ExecuteAsync(
                $"""
                INSERT INTO members ({MemberColumns})
                SELECT $1, u, $3, $4, $5, $6, $5, $4, $5, $4, 0 FROM unnest($2::text[]) AS u
                """, chatId, userIds, role, now, joinedSeq, joinedPos);

    /// <summary>The name a system message gives the account it names, read under the same lock as a
    /// sender's (see <see cref="SenderRow"/>): the account's deletion, which renames such messages in
    /// its own transaction, waits for this one to commit, or this one waits and reads "Deleted account".</summary>
    private static async Task<string> UserName(PgWrite w, string userId) =>
        await w.QueryFirstAsync(r => r.GetString(0), "SELECT name FROM users WHERE id = $1 FOR KEY SHARE", userId).ConfigureAwait(false)
        ?? AccountNames.Deleted;

    private static readonly string AddEventSql =
        $"""
        WITH taken AS ({PgWrite.TakeChatPosition})
        INSERT INTO events (pos, writer, prev_pos, prev_writer, kind, chat_id, target_user_id, data)
        SELECT last_event_pos, $2, prev_event_pos, prev_event_writer, $3, $1, $4, $5 FROM taken
        RETURNING pos, prev_pos, prev_writer
        """;

    /// <summary>Stores an event at the chat's next position, in one statement with the chat row's lock.</summary>
    private static async Task<StoredEvent> AddEvent(PgWrite w, EventKind kind, string chatId, string? targetUserId, string? data, IReadOnlyList<string> recipients)
    {
        var at = await w.QueryFirstAsync(r => ChatPosition.Read(r, 0), AddEventSql, chatId, w.Writer, (int)kind, targetUserId, data).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"Chat {chatId} has no row.");
        w.Took(at.Pos);
        return w.Event(at, kind, chatId, recipients);
    }
}
