using Amazon.DynamoDBv2.Model;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>
/// How chats, memberships and messages are laid out in their items, in one place.
/// <list type="bullet">
/// <item>A chat (<c>Chats</c>): <c>chatId, chatNo, isGroup, name, description, createdBy, createdAt,
/// lastSeq, lastPos, lastActivity, disappearAfter</c>. <c>chatNo</c> is a small number given once
/// (the chat's stream in a resume cursor, and part of its message ids). A 1:1 chat also counts each
/// member's messages (<see cref="SentBy"/>), in the write that takes their positions, and names the
/// senders of its last claim's messages (<c>claimSenders</c>), so a void gives their counts back.
/// Every chat write sets a new <see cref="Revision"/>; <c>namesLeftAt</c> says when a deleted
/// account's name last left its messages.</item>
/// <item>A membership (<c>ChatMembers</c>): <c>chatId, userId, role, joinedAt, joinedSeq, joinedPos,
/// deliveredSeq, deliveredAt, readSeq, readAt, ownAfterRead, sentAtRead</c>, the member's own settings
/// <c>mutedUntil, noPreviews, pinned, archived</c> (absent: the default), and in a 1:1 chat the
/// member's latest receipts (DynamoStore.Receipts).</item>
/// <item>An event (<c>Messages</c>, by <c>chatId</c> and <c>pos</c>): <c>kind</c> (<see cref="EventKinds"/>),
/// <c>prevPos</c> (the chat's event before it), <c>target</c> (the one user it is for, if any),
/// <c>data</c>; a message also has the message's attributes (<see cref="Message"/>).</item>
/// </list>
/// </summary>
internal static class ChatItems
{
    public static class EventKinds
    {
        public const string Message = "m";
        public const string MessageUpdated = "u";
        public const string Status = "s";
        public const string Chat = "c";
        public const string ChatRemoved = "r";

        public static string Of(EventKind kind) => kind switch
        {
            EventKind.Message => Message,
            EventKind.MessageUpdated => MessageUpdated,
            EventKind.Status => Status,
            EventKind.Chat => Chat,
            _ => ChatRemoved,
        };

        public static EventKind Parse(string? kind) => kind switch
        {
            Message => EventKind.Message,
            MessageUpdated => EventKind.MessageUpdated,
            Status => EventKind.Status,
            Chat => EventKind.Chat,
            ChatRemoved => EventKind.ChatRemoved,
            _ => throw new InvalidDataException($"A stored event has an unknown kind '{kind}'."),
        };
    }

    /// <summary>A message's id names its chat (by number) and position, so a message is found by
    /// its key without an index: <c>msg_{chatNo}_{pos}</c>.</summary>
    public static string MessageId(long chatNo, long pos) => $"msg_{chatNo}_{pos}";

    public static bool TryParseMessageId(string? messageId, out long chatNo, out long pos)
    {
        chatNo = 0;
        pos = 0;
        if (messageId is null || !messageId.StartsWith("msg_", StringComparison.Ordinal)) return false;
        var parts = messageId.AsSpan(4);
        var split = parts.IndexOf('_');
        return split > 0
            && long.TryParse(parts[..split], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out chatNo)
            && long.TryParse(parts[(split + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out pos);
    }

    public static ChatRecord Chat(Dictionary<string, AttributeValue> i) => new(
        i.Str("chatId"), i.Bool("isGroup"), i.StrOrNull("name"), i.StrOrNull("description"), i.StrOrNull("createdBy"),
        i.Long("createdAt"), i.Long("lastSeq"), i.Long("lastActivity"));

    /// <summary>A 1:1 chat item's count of the messages <paramref name="userId"/> sent in it. The
    /// chat item is written with every message anyway, so counting there costs no write; a group
    /// counts on the sender's membership instead (its chat item would grow with every sender).</summary>
    public static string SentBy(string userId) => "sent_" + userId;

    /// <summary>A chat item's revision: random, new with every chat write, which stores only over
    /// the revision it read (DynamoStore.StoreAsync).</summary>
    public const string Revision = "rev";

    /// <summary>How many of the member's own messages follow their read mark: those counted when
    /// they last read (<c>ownAfterRead</c>), plus those a 1:1 chat counted since (<see cref="SentBy"/>).</summary>
    public static long OwnAfterRead(Dictionary<string, AttributeValue> chat, Dictionary<string, AttributeValue> member) =>
        member.Long("ownAfterRead") + Math.Max(0, chat.Long(SentBy(member.Str("userId"))) - member.Long("sentAtRead"));

    public static MemberRecord Member(Dictionary<string, AttributeValue> i) => new(
        i.Str("chatId"), i.Str("userId"), i.Str("role"), i.Long("joinedAt"), i.Long("joinedSeq"), i.Long("joinedPos"),
        i.Long("deliveredSeq"), i.Long("deliveredAt"), i.Long("readSeq"), i.Long("readAt"), i.Long("ownAfterRead"));

    public static Dictionary<string, AttributeValue> MemberItem(MemberRecord m) => new Dictionary<string, AttributeValue>
    {
        ["chatId"] = Item.S(m.ChatId),
        ["userId"] = Item.S(m.UserId),
        ["role"] = Item.S(m.Role),
        ["joinedAt"] = Item.N(m.JoinedAt),
        ["joinedSeq"] = Item.N(m.JoinedSeq),
        ["joinedPos"] = Item.N(m.JoinedPos),
        ["deliveredSeq"] = Item.N(m.DeliveredSeq),
        ["deliveredAt"] = Item.N(m.DeliveredAt),
        ["readSeq"] = Item.N(m.ReadSeq),
        ["readAt"] = Item.N(m.ReadAt),
        ["ownAfterRead"] = Item.N(m.OwnAfterRead),
    };

    /// <summary>The member's own settings of the chat, with the chat's timer.</summary>
    public static ChatSettings Settings(Dictionary<string, AttributeValue> member, int disappearAfterSeconds) => new(
        member.Str("chatId"), member.Long("mutedUntil"), !member.Bool("noPreviews"), member.Bool("pinned"), member.Bool("archived"),
        disappearAfterSeconds);

    public static MessageRecord Message(Dictionary<string, AttributeValue> i) => new(
        i.Str("id"), i.Str("chatId"), i.Long("seq"), i.Long("pos"), i.Str("senderId"), i.Str("senderName"), i.StrOrNull("senderAvatar"),
        i.Str("type"), i.StrOrNull("content"), i.Long("timestamp"), i.StrOrNull("clientMessageId"), i.StrOrNull("replyTo"),
        i.StrOrNull("replyQuote"), i.StrOrNull("systemAction"), i.StrOrNull("affectedUserName"), i.StrOrNull("media"),
        i.LongOrNull("editedAt"), i.Bool("deleted"))
    {
        AffectedUserId = i.StrOrNull("affectedUserId"),
    };

    /// <summary>A message's attributes (its event's <c>kind</c>, <c>prevPos</c> and <c>expiresAtMs</c> come on top).</summary>
    public static Dictionary<string, AttributeValue> MessageItem(MessageRecord m) => new Dictionary<string, AttributeValue>
    {
        ["chatId"] = Item.S(m.ChatId),
        ["pos"] = Item.N(m.Pos),
        ["kind"] = Item.S(EventKinds.Message),
        ["id"] = Item.S(m.Id),
        ["seq"] = Item.N(m.Seq),
        ["senderId"] = Item.S(m.SenderId),
        ["senderName"] = Item.S(m.SenderName),
        ["type"] = Item.S(m.Type),
        ["timestamp"] = Item.N(m.Timestamp),
    }
        .With("senderAvatar", m.SenderAvatar).With("content", m.Content).With("clientMessageId", m.ClientMessageId)
        .With("replyTo", m.ReplyTo).With("replyQuote", m.ReplyQuote).With("systemAction", m.SystemAction)
        .With("affectedUserName", m.AffectedUserName).With("affectedUserId", m.AffectedUserId).With("media", m.MediaJson).With("editedAt", m.EditedAt)
        .With("deleted", m.Deleted);
}
