using Amazon.DynamoDBv2.Model;
using Parley.Server.Storage.Rules;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>
/// Chats and memberships. A membership is its <c>ChatMembers</c> item, mirrored under
/// <c>pk = "uc#" + userId</c> in <c>Records</c> so a user's chats are read strongly consistent (the
/// <c>UserChatsIndex</c> lags its table). A membership that ended leaves <c>pk = "past#" + userId</c>
/// with the positions it covered, so sync still returns what came before the member left.
/// </summary>
internal sealed partial class DynamoStore
{
    public async Task<ChatRecord?> GetChatAsync(string chatId) =>
        await ReadChatItemAsync(chatId).ConfigureAwait(false) is { } item ? ChatItems.Chat(item) : null;

    public async Task<MemberRecord?> GetMemberAsync(string chatId, string userId) =>
        await MemberItemAsync(chatId, userId).ConfigureAwait(false) is { } item ? ChatItems.Member(item) : null;

    private Task<Dictionary<string, AttributeValue>?> MemberItemAsync(string chatId, string userId) =>
        db.GetAsync(db.ChatMembers, Item.Key("chatId", chatId, "userId", userId));

    public async Task<IReadOnlyList<MemberRecord>> GetMembersAsync(string chatId) =>
        (await MemberItemsAsync(chatId).ConfigureAwait(false)).Select(ChatItems.Member)
            .OrderBy(m => m.JoinedAt).ThenBy(m => m.UserId, StringComparer.Ordinal).ToList();

    private Task<List<Dictionary<string, AttributeValue>>> MemberItemsAsync(string chatId) => db.QueryAsync(new QueryRequest
    {
        TableName = db.ChatMembers,
        KeyConditionExpression = "chatId = :c",
        ExpressionAttributeValues = new() { [":c"] = Item.S(chatId) },
    });

    private async Task<List<string>> MemberIdsAsync(string chatId) =>
        (await MemberItemsAsync(chatId).ConfigureAwait(false)).Select(i => i.Str("userId")).ToList();

    public async Task<IReadOnlyList<string>> GetChatIdsAsync(string userId) =>
        (await db.QueryAsync(new QueryRequest
        {
            TableName = db.Records,
            KeyConditionExpression = "pk = :p",
            ExpressionAttributeValues = new() { [":p"] = Item.S("uc#" + userId) },
        }).ConfigureAwait(false)).Select(i => i.Str("sk")).ToList();

    public async Task<IReadOnlyList<string>> GetContactsAsync(string userId, int maxGroupSize = int.MaxValue)
    {
        var contacts = new HashSet<string>(StringComparer.Ordinal);
        foreach (var chatId in await GetChatIdsAsync(userId).ConfigureAwait(false))
        {
            var members = await MemberIdsAsync(chatId).ConfigureAwait(false);
            if (members.Count > maxGroupSize) continue;
            contacts.UnionWith(members.Where(id => id != userId));
        }
        return contacts.ToList();
    }

    public Task<IReadOnlyList<ChatView>> ListChatsAsync(string userId) => ChatViewsAsync(userId, null);

    public async Task<ChatView?> GetChatViewAsync(string chatId, string userId) =>
        (await ChatViewsAsync(userId, chatId).ConfigureAwait(false)).FirstOrDefault();

    /// <summary>The user's chats, most recent activity first: the chat items give the order, so no
    /// membership is rewritten per message.</summary>
    private async Task<IReadOnlyList<ChatView>> ChatViewsAsync(string userId, string? onlyChatId)
    {
        var chatIds = onlyChatId is null ? await GetChatIdsAsync(userId).ConfigureAwait(false) : [onlyChatId];
        var chats = await db.GetManyAsync(db.Chats, chatIds.Select(ChatKey)).ConfigureAwait(false);
        var views = new List<ChatView>(chats.Count);
        foreach (var chatItem in chats)
        {
            var chat = ChatItems.Chat(chatItem);
            var memberItems = await MemberItemsAsync(chat.Id).ConfigureAwait(false);
            var members = memberItems.Select(ChatItems.Member).OrderBy(m => m.JoinedAt).ThenBy(m => m.UserId, StringComparer.Ordinal).ToList();
            if (memberItems.FirstOrDefault(m => m.Str("userId") == userId) is not { } meItem) continue;
            var me = ChatItems.Member(meItem) with { OwnAfterRead = ChatItems.OwnAfterRead(chatItem, meItem) };
            MessageRecord? last = null;
            if (chatItem.Long("lastMsgPos") is var pos and > 0 && pos > me.JoinedPos
                && await db.GetAsync(db.Messages, Item.Key("chatId", chat.Id, "pos", pos)).ConfigureAwait(false) is { } message
                && message.StrOrNull("kind") == ChatItems.EventKinds.Message)
            {
                last = ChatItems.Message(message);
            }
            views.Add(new ChatView(chat, me, last, members));
        }
        return views.OrderByDescending(v => v.Chat.LastActivity).ThenBy(v => v.Chat.Id, StringComparer.Ordinal).ToList();
    }

    public async Task<(ChatRecord Chat, bool Created)> GetOrCreateDirectChatAsync(string chatId, string userA, string userB, long now)
    {
        var created = await ReadChatItemAsync(chatId).ConfigureAwait(false) is null
            && await CreateChatItemAsync(chatId, false, null, null, null, now).ConfigureAwait(false);
        // Memberships are written (again) until both exist: a start killed halfway is finished by the next.
        var missing = new List<string>();
        foreach (var userId in new[] { userA, userB })
        {
            if (created || await MemberItemAsync(chatId, userId).ConfigureAwait(false) is null) missing.Add(userId);
        }
        if (missing.Count > 0)
        {
            await WriteChatAsync(chatId, (object?)null, async w =>
            {
                foreach (var userId in missing) await PutMemberAsync(MemberAt(w, chatId, userId, MemberRoles.Member, now, 0)).ConfigureAwait(false);
                w.AddEvent(EventKind.Chat, [userA, userB]);
                return (object?)w;
            }).ConfigureAwait(false);
        }
        return (ChatItems.Chat((await ReadChatItemAsync(chatId).ConfigureAwait(false))!), created);
    }

    public async Task<ChatRecord> CreateGroupAsync(string groupId, string name, string? description, string creatorId, IReadOnlyList<string> memberIds, long now)
    {
        if (!await CreateChatItemAsync(groupId, true, name, description, creatorId, now).ConfigureAwait(false))
        {
            throw new InvalidOperationException($"A chat with the new group's id exists already: {groupId}.");
        }
        await WriteChatAsync(groupId, (object?)null, async w =>
        {
            var everyone = new List<string> { creatorId };
            everyone.AddRange(memberIds.Where(id => id != creatorId).Distinct());
            foreach (var userId in everyone)
            {
                await PutMemberAsync(MemberAt(w, groupId, userId, userId == creatorId ? MemberRoles.Admin : MemberRoles.Member, now, 0)).ConfigureAwait(false);
            }
            w.AddEvent(EventKind.Chat, everyone);
            w.AddMessage(await SystemMessageAsync(groupId, creatorId, SystemActions.GroupCreated, name, null, now).ConfigureAwait(false), everyone);
            return (object?)w;
        }).ConfigureAwait(false);
        return (await GetChatAsync(groupId).ConfigureAwait(false))!;
    }

    public Task<GroupChange> AddMembersAsync(string groupId, string actorId, IReadOnlyList<string> memberIds, long now) =>
        WriteChatAsync(groupId, GroupChange.Fail(GroupOutcome.NotFound), async w =>
        {
            var members = await MemberItemsAsync(groupId).ConfigureAwait(false);
            var check = CheckActor(w, members, actorId, requireAdmin: true);
            if (check != GroupOutcome.Done) return GroupChange.Fail(check);
            var current = members.Select(m => m.Str("userId")).ToList();
            var added = GroupRules.NewMembers(memberIds, current.ToHashSet());
            foreach (var userId in added)
            {
                await PutMemberAsync(MemberAt(w, groupId, userId, MemberRoles.Member, now, w.LastSeq)).ConfigureAwait(false);
            }
            var recipients = current.Concat(added).ToList();
            if (added.Count > 0) w.AddEvent(EventKind.Chat, recipients);
            foreach (var userId in added)
            {
                w.AddMessage(await SystemMessageAsync(groupId, actorId, SystemActions.MemberAdded, null, userId, now).ConfigureAwait(false), recipients);
            }
            return new GroupChange(GroupOutcome.Done, recipients);
        });

    public Task<GroupChange> RemoveMemberAsync(string groupId, string actorId, string memberId, long now) =>
        WriteChatAsync(groupId, GroupChange.Fail(GroupOutcome.NotFound), async w =>
        {
            var members = await MemberItemsAsync(groupId).ConfigureAwait(false);
            var check = CheckActor(w, members, actorId, requireAdmin: GroupRules.RemovalNeedsAdmin(actorId, memberId));
            if (check != GroupOutcome.Done) return GroupChange.Fail(check);
            var targetItem = members.FirstOrDefault(m => m.Str("userId") == memberId);
            if (targetItem is null) return GroupChange.Fail(GroupOutcome.NotMember);
            var target = ChatItems.Member(targetItem);
            // What they are owed stays readable: up to where the chat stands now, and up to their
            // removal once its position is known.
            var past = Item.Record("past#" + memberId, groupId + "#" + target.JoinedPos)
                .With("chatId", groupId).With("joinedPos", target.JoinedPos).With("leftPos", w.ChatItem.Long("lastPos"));
            await db.PutAsync(db.Records, past).ConfigureAwait(false);
            await db.DeleteAsync(db.ChatMembers, Item.Key("chatId", groupId, "userId", memberId)).ConfigureAwait(false);
            await db.DeleteAsync(db.Records, Item.Record("uc#" + memberId, groupId)).ConfigureAwait(false);
            var remaining = members.Where(m => m != targetItem).Select(ChatItems.Member).ToList();
            if (GroupRules.Successor(target, remaining) is { } successor)
            {
                await SetRoleAsync(groupId, successor.UserId, MemberRoles.Admin).ConfigureAwait(false);
            }
            var recipients = remaining.Select(m => m.UserId).ToList();
            var removed = w.AddEvent(EventKind.ChatRemoved, [memberId], target: memberId);
            w.AddMessage(await SystemMessageAsync(groupId, actorId, GroupRules.RemovalAction(actorId, memberId), null, memberId, now).ConfigureAwait(false), recipients);
            w.AddEvent(EventKind.Chat, recipients);
            w.Then.Add(() => db.UpdateAsync(db.Records, Item.Record(past.Str("pk"), past.Str("sk")), "SET leftPos = :left",
                values: new() { [":left"] = Item.N(removed.Pos) }));
            return new GroupChange(GroupOutcome.Done, recipients);
        });

    public Task<GroupOutcome> UpdateGroupInfoAsync(string groupId, string actorId, string? name, string? description, long now) =>
        WriteChatAsync(groupId, GroupOutcome.NotFound, async w =>
        {
            var members = await MemberItemsAsync(groupId).ConfigureAwait(false);
            var check = CheckActor(w, members, actorId, requireAdmin: true);
            if (check != GroupOutcome.Done) return check;
            if (name is not null) w.ChatChanges["name"] = Item.S(name);
            if (description is not null) w.ChatChanges["description"] = Item.S(description);
            var recipients = members.Select(m => m.Str("userId")).ToList();
            w.AddEvent(EventKind.Chat, recipients);
            if (GroupRules.Renames(w.Chat, name))
            {
                w.AddMessage(await SystemMessageAsync(groupId, actorId, SystemActions.GroupRenamed, name, null, now).ConfigureAwait(false), recipients);
            }
            return GroupOutcome.Done;
        });

    public Task<GroupOutcome> SetAdminAsync(string groupId, string actorId, string memberId, bool admin, long now) =>
        WriteChatAsync(groupId, GroupOutcome.NotFound, async w =>
        {
            var members = await MemberItemsAsync(groupId).ConfigureAwait(false);
            var check = CheckActor(w, members, actorId, requireAdmin: true);
            if (check != GroupOutcome.Done) return check;
            var target = members.FirstOrDefault(m => m.Str("userId") == memberId) is { } t ? ChatItems.Member(t) : null;
            var admins = members.Count(m => m.Str("role") == MemberRoles.Admin);
            var (outcome, changes) = GroupRules.CheckAdminChange(target, admin, admins);
            if (!changes) return outcome;
            await SetRoleAsync(groupId, memberId, admin ? MemberRoles.Admin : MemberRoles.Member).ConfigureAwait(false);
            w.AddEvent(EventKind.Chat, members.Select(m => m.Str("userId")).ToList());
            return GroupOutcome.Done;
        });

    private static GroupOutcome CheckActor(ChatWrite w, List<Dictionary<string, AttributeValue>> members, string actorId, bool requireAdmin) =>
        GroupRules.CheckActor(w.Chat.IsGroup, members.FirstOrDefault(m => m.Str("userId") == actorId)?.Str("role"), requireAdmin);

    private Task SetRoleAsync(string chatId, string userId, string role) =>
        db.UpdateAsync(db.ChatMembers, Item.Key("chatId", chatId, "userId", userId), "SET #r = :r", "attribute_exists(chatId)",
            new() { [":r"] = Item.S(role) }, new() { ["#r"] = "role" });

    /// <summary>A new membership that sees what comes after the chat's current position.</summary>
    private static MemberRecord MemberAt(ChatWrite w, string chatId, string userId, string role, long now, long joinedSeq) =>
        new(chatId, userId, role, now, joinedSeq, w.ChatItem.Long("lastPos"), joinedSeq, now, joinedSeq, now, 0);

    private async Task PutMemberAsync(MemberRecord member)
    {
        await db.PutAsync(db.ChatMembers, ChatItems.MemberItem(member)).ConfigureAwait(false);
        await db.PutAsync(db.Records, Item.Record("uc#" + member.UserId, member.ChatId)).ConfigureAwait(false);
    }

    /// <summary>The name and avatar a message shows for its sender.</summary>
    private async Task<(string Name, string? Avatar)> UserCardAsync(string userId) =>
        await GetUserAsync(userId).ConfigureAwait(false) is { } user ? (user.Name, user.Avatar) : (AccountNames.Deleted, null);

    /// <summary>A system message by <paramref name="actorId"/>, naming <paramref name="affectedUserId"/>
    /// (the member added, removed or left) by its name now and by its id.</summary>
    private async Task<MessageRecord> SystemMessageAsync(string chatId, string actorId, string action, string? content, string? affectedUserId, long now)
    {
        var (name, avatar) = await UserCardAsync(actorId).ConfigureAwait(false);
        var affectedName = affectedUserId is null ? null : (await UserCardAsync(affectedUserId).ConfigureAwait(false)).Name;
        return Draft(chatId, actorId, name, avatar, MessageTypes.System, content, now, null, null, null, action, affectedName, null)
            with { AffectedUserId = affectedUserId };
    }

    /// <summary>A message before it is stored: id, seq and pos come with its position.</summary>
    private static MessageRecord Draft(string chatId, string senderId, string senderName, string? senderAvatar, string type, string? content,
        long timestamp, string? clientMessageId, string? replyTo, string? replyQuote, string? systemAction, string? affectedUserName, string? media) =>
        new("", chatId, 0, 0, senderId, senderName, senderAvatar, type, content, timestamp, clientMessageId, replyTo, replyQuote,
            systemAction, affectedUserName, media, null, false);
}
