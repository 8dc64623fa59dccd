using Microsoft.Data.Sqlite;
using Parley.Server.Storage.Rules;

namespace Parley.Server.Storage.Sqlite;

internal sealed partial class SqliteStore
{
    private const string ChatColumns = StoredRows.ChatColumns;
    private const string MemberColumns = StoredRows.MemberColumns;

    private static ChatRecord ReadChat(SqliteDataReader r, int o) => StoredRows.Chat(r, o);

    private static MemberRecord ReadMember(SqliteDataReader r, int o) => StoredRows.Member(r, o);

    private static ChatRecord? FindChat(SqliteConnection c, string chatId) =>
        c.QueryFirst(r => ReadChat(r, 0), $"SELECT {ChatColumns} FROM chats WHERE id = $1", chatId);

    // Members are read on most requests (each history page, each sync page, each receipt), so
    // through prepared statements read column by column (see SqliteRows).
    private static MemberRecord? FindMember(SqliteConnection c, string chatId, string userId) =>
        c.QueryRows(ReadMember, $"SELECT {MemberColumns} FROM members WHERE chat_id = $1 AND user_id = $2", chatId, userId) is [var member] ? member : null;

    private static List<MemberRecord> FindMembers(SqliteConnection c, string chatId) =>
        c.QueryRows(ReadMember, $"SELECT {MemberColumns} FROM members WHERE chat_id = $1 ORDER BY joined_at, user_id", chatId);

    private static MemberRecord ReadMember(SqliteRow r) => StoredRows.Member(r);

    public Task<StreamCursor> CurrentCursorAsync() => Task.FromResult(StreamCursor.AtFloor(db.CommittedPosition));

    public Task<ChatRecord?> GetChatAsync(string chatId) => db.ReadAsync(c => FindChat(c, chatId));

    public Task<MemberRecord?> GetMemberAsync(string chatId, string userId) => db.ReadAsync(c => FindMember(c, chatId, userId));

    public Task<IReadOnlyList<MemberRecord>> GetMembersAsync(string chatId) =>
        db.ReadAsync<IReadOnlyList<MemberRecord>>(c => FindMembers(c, chatId));

    public Task<IReadOnlyList<string>> GetChatIdsAsync(string userId) =>
        db.ReadAsync<IReadOnlyList<string>>(c => c.Query(r => r.GetString(0), "SELECT chat_id FROM members WHERE user_id = $1", userId));

    public Task<IReadOnlyList<string>> GetContactsAsync(string userId, int maxGroupSize = int.MaxValue) =>
        db.ReadAsync<IReadOnlyList<string>>(c => c.Query(r => r.GetString(0),
        """
        SELECT DISTINCT other.user_id FROM members mine
        JOIN members other ON other.chat_id = mine.chat_id AND other.user_id <> mine.user_id
        WHERE mine.user_id = $1 AND ($2 >= 2147483647 OR (SELECT count(*) FROM members n WHERE n.chat_id = mine.chat_id) <= $2)
        """, userId, maxGroupSize));

    public Task<IReadOnlyList<ChatView>> ListChatsAsync(string userId) => db.ReadAsync<IReadOnlyList<ChatView>>(c =>
        ReadChatViews(c, userId, null));

    public Task<ChatView?> GetChatViewAsync(string chatId, string userId) => db.ReadAsync(c =>
        ReadChatViews(c, userId, chatId).FirstOrDefault());

    private static List<ChatView> ReadChatViews(SqliteConnection c, string userId, string? onlyChatId)
    {
        var rows = c.Query(r => (Chat: ReadChat(r, 0), Me: ReadMember(r, 8), LastPos: r.Int64OrNull(19)),
            $"""
            SELECT c.id, c.is_group, c.name, c.description, c.created_by, c.created_at, c.last_seq, c.last_activity,
                   m.chat_id, m.user_id, m.role, m.joined_at, m.joined_seq, m.joined_pos, m.delivered_seq, m.delivered_at,
                   m.read_seq, m.read_at, m.own_after_read, c.last_message_pos
            FROM members m JOIN chats c ON c.id = m.chat_id
            WHERE m.user_id = $1 AND ($2 IS NULL OR m.chat_id = $2)
            ORDER BY c.last_activity DESC, c.id
            """, userId, onlyChatId);
        var views = new List<ChatView>(rows.Count);
        foreach (var row in rows)
        {
            MessageRecord? last = null;
            if (row.LastPos is long pos && pos > row.Me.JoinedPos)
            {
                last = c.QueryFirst(ReadMessage, $"SELECT {MessageColumns} FROM messages WHERE pos = $1", pos);
            }
            views.Add(new ChatView(row.Chat, row.Me, last, FindMembers(c, row.Chat.Id)));
        }
        return views;
    }

    public async Task<(ChatRecord Chat, bool Created)> GetOrCreateDirectChatAsync(string chatId, string userA, string userB, long now)
    {
        var existing = db.Read(c => FindChat(c, chatId));
        if (existing is not null) return (existing, false);
        return await WriteAndPublish(w =>
        {
            var c = w.Connection;
            var chat = FindChat(c, chatId);
            if (chat is not null) return (Value: (chat, false), Events: Array.Empty<StoredEvent>());
            c.Execute("INSERT INTO chats (id, is_group, created_at, last_activity) VALUES ($1, 0, $2, $2)", chatId, now);
            var marker = w.NextPosition();
            AddMemberRow(w, chatId, userA, MemberRoles.Member, now, 0, marker);
            AddMemberRow(w, chatId, userB, MemberRoles.Member, now, 0, marker);
            var e = AddEvent(w, EventKind.Chat, chatId, null, null, [userA, userB]);
            return (Value: (FindChat(c, chatId)!, true), Events: new[] { e });
        }).ConfigureAwait(false);
    }

    public Task<ChatRecord> CreateGroupAsync(string groupId, string name, string? description, string creatorId, IReadOnlyList<string> memberIds, long now) =>
        WriteAndPublish(w =>
        {
            var c = w.Connection;
            c.Execute("INSERT INTO chats (id, is_group, name, description, created_by, created_at, last_activity) VALUES ($1, 1, $2, $3, $4, $5, $5)",
                groupId, name, description, creatorId, now);
            var marker = w.NextPosition();
            AddMemberRow(w, groupId, creatorId, MemberRoles.Admin, now, 0, marker);
            foreach (var memberId in memberIds.Where(id => id != creatorId).Distinct())
            {
                AddMemberRow(w, groupId, memberId, MemberRoles.Member, now, 0, marker);
            }
            var recipients = w.MemberIds(groupId);
            var chatEvent = AddEvent(w, EventKind.Chat, groupId, null, null, recipients);
            var message = InsertSystemMessage(w, groupId, creatorId, SystemActions.GroupCreated, name, null, now);
            return (Value: FindChat(c, groupId)!, Events: new[] { chatEvent, MessageEvent(message, recipients) });
        });

    public Task<GroupChange> AddMembersAsync(string groupId, string actorId, IReadOnlyList<string> memberIds, long now) =>
        WriteAndPublish(w =>
        {
            var c = w.Connection;
            var check = CheckGroupActor(c, groupId, actorId, requireAdmin: true);
            if (check != GroupOutcome.Done) return Failed(check);
            var events = new List<StoredEvent>();
            var added = GroupRules.NewMembers(memberIds, w.MemberIds(groupId).ToHashSet());
            var lastSeq = FindChat(c, groupId)!.LastSeq;
            foreach (var memberId in added)
            {
                AddMemberRow(w, groupId, memberId, MemberRoles.Member, now, lastSeq, w.NextPosition());
            }
            var recipients = w.MemberIds(groupId);
            if (added.Count > 0) events.Add(AddEvent(w, EventKind.Chat, groupId, null, null, recipients));
            foreach (var memberId in added)
            {
                var message = InsertSystemMessage(w, groupId, actorId, SystemActions.MemberAdded, null, memberId, now);
                events.Add(MessageEvent(message, recipients));
            }
            return (Value: new GroupChange(GroupOutcome.Done, recipients), Events: events.ToArray());
        });

    public Task<GroupChange> RemoveMemberAsync(string groupId, string actorId, string memberId, long now) =>
        WriteAndPublish(w =>
        {
            var c = w.Connection;
            var check = CheckGroupActor(c, groupId, actorId, requireAdmin: GroupRules.RemovalNeedsAdmin(actorId, memberId));
            if (check != GroupOutcome.Done) return Failed(check);
            var target = FindMember(c, groupId, memberId);
            if (target is null) return Failed(GroupOutcome.NotMember);
            c.Execute("DELETE FROM members WHERE chat_id = $1 AND user_id = $2", groupId, memberId);
            // Everything up to here stays owed to them: sync reads it through past_members.
            c.Execute("INSERT INTO past_members (chat_id, user_id, joined_pos, left_pos) VALUES ($1, $2, $3, $4)",
                groupId, memberId, target.JoinedPos, w.NextPosition());
            w.MembersChanged(groupId);
            if (target.IsAdmin && GroupRules.Successor(target, FindMembers(c, groupId)) is { } successor)
            {
                c.Execute("UPDATE members SET role = $3 WHERE chat_id = $1 AND user_id = $2", groupId, successor.UserId, MemberRoles.Admin);
            }
            var recipients = w.MemberIds(groupId);
            var removed = AddEvent(w, EventKind.ChatRemoved, groupId, memberId, null, [memberId]);
            var message = InsertSystemMessage(w, groupId, actorId, GroupRules.RemovalAction(actorId, memberId), null, memberId, now);
            var changed = AddEvent(w, EventKind.Chat, groupId, null, null, recipients);
            return (Value: new GroupChange(GroupOutcome.Done, recipients),
                Events: new[] { removed, MessageEvent(message, recipients), changed });
        });

    public Task<GroupOutcome> UpdateGroupInfoAsync(string groupId, string actorId, string? name, string? description, long now) =>
        WriteAndPublish(w =>
        {
            var c = w.Connection;
            var check = CheckGroupActor(c, groupId, actorId, requireAdmin: true);
            if (check != GroupOutcome.Done) return (Value: check, Events: Array.Empty<StoredEvent>());
            var chat = FindChat(c, groupId)!;
            c.Execute("UPDATE chats SET name = coalesce($2, name), description = coalesce($3, description) WHERE id = $1",
                groupId, name, description);
            var recipients = w.MemberIds(groupId);
            var events = new List<StoredEvent> { AddEvent(w, EventKind.Chat, groupId, null, null, recipients) };
            if (GroupRules.Renames(chat, name))
            {
                var message = InsertSystemMessage(w, groupId, actorId, SystemActions.GroupRenamed, name, null, now);
                events.Add(MessageEvent(message, recipients));
            }
            return (Value: GroupOutcome.Done, Events: events.ToArray());
        });

    public Task<GroupOutcome> SetAdminAsync(string groupId, string actorId, string memberId, bool admin, long now) =>
        WriteAndPublish(w =>
        {
            var c = w.Connection;
            var check = CheckGroupActor(c, groupId, actorId, requireAdmin: true);
            if (check != GroupOutcome.Done) return (Value: check, Events: Array.Empty<StoredEvent>());
            var target = FindMember(c, groupId, memberId);
            var admins = c.Scalar("SELECT count(*) FROM members WHERE chat_id = $1 AND role = 'admin'", groupId);
            var (outcome, changes) = GroupRules.CheckAdminChange(target, admin, admins);
            if (!changes) return (Value: outcome, Events: Array.Empty<StoredEvent>());
            c.Execute("UPDATE members SET role = $3 WHERE chat_id = $1 AND user_id = $2",
                groupId, memberId, admin ? MemberRoles.Admin : MemberRoles.Member);
            var e = AddEvent(w, EventKind.Chat, groupId, null, null, w.MemberIds(groupId));
            return (Value: GroupOutcome.Done, Events: new[] { e });
        });

    private static (GroupChange Value, StoredEvent[] Events) Failed(GroupOutcome outcome) => (GroupChange.Fail(outcome), []);

    private static GroupOutcome CheckGroupActor(SqliteConnection c, string groupId, string actorId, bool requireAdmin)
    {
        var chat = FindChat(c, groupId);
        return GroupRules.CheckActor(chat, chat is { IsGroup: true } ? FindMember(c, groupId, actorId) : null, requireAdmin);
    }

    private static void AddMemberRow(WriteContext w, string chatId, string userId, string role, long now, long joinedSeq, long joinedPos)
    {
        w.Connection.Execute(
            $"""
            INSERT INTO members ({MemberColumns})
            VALUES ($1, $2, $3, $4, $5, $6, $5, $4, $5, $4, 0)
            """, chatId, userId, role, now, joinedSeq, joinedPos);
        w.MembersChanged(chatId);
    }


    private static StoredEvent AddEvent(WriteContext w, EventKind kind, string chatId, string? targetUserId, string? data, IReadOnlyList<string> recipients)
    {
        var pos = w.NextPosition();
        w.Connection.Execute("INSERT INTO events (pos, kind, chat_id, target_user_id, data) VALUES ($1, $2, $3, $4, $5)",
            pos, (int)kind, chatId, targetUserId, data);
        return new StoredEvent(pos, kind, chatId, recipients);
    }

    private static StoredEvent MessageEvent(MessageRecord message, IReadOnlyList<string> recipients) =>
        StoredRows.MessageEvent(message, recipients);

    /// <summary>Runs a write whose events are published right after the commit, in commit order, so
    /// they leave in position order (see <see cref="SqliteDatabase.WriteAsync{T}"/>).</summary>
    private Task<T> WriteAndPublish<T>(Func<WriteContext, (T Value, StoredEvent[] Events)> work) =>
        WriteAndPublish(work, static (w, work) => work(w));

    /// <summary>As above, with what the work needs passed as <paramref name="state"/> to a static
    /// <paramref name="work"/> (a send makes no closure).</summary>
    private Task<T> WriteAndPublish<TState, T>(TState state, Func<WriteContext, TState, (T Value, StoredEvent[] Events)> work) =>
        db.WriteAsync((Store: this, State: state, Work: work), static (w, s) => s.Work(w, s.State),
            static (s, r) => s.Store.PublishInOrder(r.Events), static r => r.Value);

    private void PublishInOrder(StoredEvent[] events)
    {
        // Connections skip positions at or below the last one they sent, so order matters. An
        // operation's events are nearly always one (a send), or already in order.
        if (!InPositionOrder(events)) events = [.. events.OrderBy(e => e.Pos)];
        foreach (var e in events) publisher.Publish(e);
    }

    private static bool InPositionOrder(StoredEvent[] events)
    {
        for (var i = 1; i < events.Length; i++)
        {
            if (events[i].Pos < events[i - 1].Pos) return false;
        }
        return true;
    }
}
