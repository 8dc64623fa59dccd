using System.Text.Json;
using Parley.Server.Common;
using Parley.Server.Messages;
using Parley.Server.Realtime;
using Parley.Server.Storage;

namespace Parley.Server.Chats;

/// <summary>Renders chat summaries as one user sees them: unread count, typing and presence are per reader.</summary>
public sealed class ChatSummaries(IChatStore store, IAccountStore accounts, IChatSettingsStore chatSettings, Presence presence, TypingTracker typing, TimeProvider clock)
{
    /// <param name="asRoom">Also give the id as <c>roomId</c>, as the phone-account backend's room routes do.</param>
    public async Task<byte[]?> RenderAsync(string chatId, string userId, bool asRoom = false)
    {
        var view = await store.GetChatViewAsync(chatId, userId);
        if (view is null) return null;
        view = await WithoutHiddenAsync(view, userId);
        var users = await UsersOf([view]);
        var blocks = await accounts.GetBlocksAsync(userId);
        var settings = await chatSettings.GetChatSettingsAsync(userId, chatId);
        return JsonBytes.Build(w => Write(w, view, userId, users, blocks, settings, asRoom));
    }

    /// <param name="roomsOnly">Only 1:1 chats, each with its <c>roomId</c> (the room routes).</param>
    public async Task<byte[]> RenderListAsync(string userId, bool roomsOnly = false)
    {
        var views = await store.ListChatsAsync(userId);
        if (roomsOnly) views = views.Where(v => !v.Chat.IsGroup).ToList();
        var withHidden = await store.ChatsWithHiddenMessagesAsync(userId);
        if (withHidden.Count > 0)
        {
            var shown = new List<ChatView>(views.Count);
            foreach (var view in views) shown.Add(withHidden.Contains(view.Chat.Id) ? await WithoutHiddenAsync(view, userId) : view);
            views = shown;
        }
        var users = await UsersOf(views);
        var blocks = await accounts.GetBlocksAsync(userId);
        var settings = await chatSettings.GetChatSettingsAsync(userId, null);
        return JsonBytes.Build(w =>
        {
            w.WriteStartArray();
            foreach (var view in views) Write(w, view, userId, users, blocks, settings, roomsOnly);
            w.WriteEndArray();
        });
    }

    /// <summary>The view without the messages the reader deleted for themself: the last message is
    /// the newest they still see, and the unread count leaves out those of others they hid.</summary>
    private async Task<ChatView> WithoutHiddenAsync(ChatView view, string userId)
    {
        var hidden = await store.GetHiddenMessagesAsync(userId, view.Chat.Id);
        if (hidden.Count == 0) return view;
        var last = view.LastMessage;
        if (last is not null && hidden.Any(h => h.Pos == last.Pos))
        {
            // History leaves hidden messages out: its first message is the newest one shown.
            var newest = await store.GetMessagesAsync(view.Chat.Id, userId, view.Me.JoinedPos, long.MaxValue, 1);
            last = newest.Count > 0 ? newest[0] : null;
        }
        var hiddenUnread = hidden.Count(h => h.Seq > view.Me.ReadSeq && h.SenderId != userId);
        return view with { LastMessage = last, HiddenUnread = hiddenUnread };
    }

    private async Task<Dictionary<string, UserRecord>> UsersOf(IReadOnlyList<ChatView> views)
    {
        var ids = views.SelectMany(v => v.Members.Select(m => m.UserId)).ToHashSet();
        var users = await accounts.GetUsersAsync(ids);
        return users.ToDictionary(u => u.Id);
    }

    /// <summary>The users whose typing the reader is not shown: a block either way.</summary>
    private static IReadOnlySet<string> HiddenTypists(BlockList blocks) =>
        blocks.Blocked.Count == 0 ? blocks.BlockedBy
        : blocks.BlockedBy.Count == 0 ? blocks.Blocked
        : new HashSet<string>(blocks.Blocked.Concat(blocks.BlockedBy));

    private void Write(Utf8JsonWriter w, ChatView view, string userId, IReadOnlyDictionary<string, UserRecord> users, BlockList blocks,
        IReadOnlyDictionary<string, ChatSettings> settings, bool asRoom)
    {
        var chat = view.Chat;
        w.WriteStartObject();
        w.WriteString("id", chat.Id);
        if (asRoom) w.WriteString("roomId", chat.Id);
        w.WriteBoolean("isGroup", chat.IsGroup);
        // The other members, as the replaced backends documented it (a 1:1 chat is titled with
        // participants[0]); `members` below still lists every id.
        w.WriteStartArray("participants");
        foreach (var member in view.Members)
        {
            if (member.UserId == userId) continue;
            users.TryGetValue(member.UserId, out var user);
            // A member who blocked the reader, or whom the reader blocked, shows them no presence.
            var hidden = blocks.EitherWay(member.UserId);
            w.WriteStartObject();
            w.WriteString("id", member.UserId);
            w.WriteString("name", user?.Name ?? AccountNames.Deleted);
            w.WriteString("email", user?.Email);
            w.WriteString("avatar", user?.Avatar);
            w.WriteString("photoUrl", user is null ? null : Users.Profile.PhotoUrlOf(user));
            w.WriteBoolean("online", !hidden && presence.IsOnline(member.UserId));
            w.WriteNumber("lastSeen", hidden || user is null ? 0 : presence.LastSeen(user));
            // So a client offers no admin actions the server would refuse (a deleted account may
            // still be a member: one deleted before deletion left groups, or one mid-deletion).
            w.WriteBoolean("deleted", user is null || user.IsDeleted);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (view.LastMessage is { } last)
        {
            w.WritePropertyName("lastMessage");
            MessageJson.Write(w, last, MessageStatus.ForSender(view.Members, last.SenderId, last.Seq));
            w.WriteNumber("lastMessageTime", last.Timestamp);
        }
        else
        {
            w.WriteNull("lastMessage");
            w.WriteNumber("lastMessageTime", chat.LastActivity);
        }
        w.WriteNumber("unreadCount", Math.Max(0, chat.LastSeq - view.Me.ReadSeq - view.Me.OwnAfterRead - view.HiddenUnread));
        w.WriteBoolean("isTyping", typing.AnyoneElseTyping(chat.Id, userId, hidden: HiddenTypists(blocks)));
        w.WriteStartArray("members");
        foreach (var member in view.Members) w.WriteStringValue(member.UserId);
        w.WriteEndArray();
        if (chat.IsGroup)
        {
            w.WriteString("groupName", chat.Name);
            w.WriteString("groupDescription", chat.Description);
            w.WriteStartArray("admins");
            foreach (var member in view.Members.Where(m => m.IsAdmin)) w.WriteStringValue(member.UserId);
            w.WriteEndArray();
            w.WriteString("createdBy", chat.CreatedBy);
        }
        w.WriteNumber("createdAt", chat.CreatedAt);
        // The reader's mute, pin and archive, so a chat list needs no call per chat.
        w.WritePropertyName("settings");
        ChatSettingsJson.Write(w, settings.GetValueOrDefault(chat.Id) ?? ChatSettings.Default(chat.Id), clock.NowMs());
        w.WriteEndObject();
    }
}
