namespace Parley.Server.Storage;

/// <summary>A user as stored. <see cref="PasswordHash"/> is the encoded PBKDF2 hash, never a password.</summary>
public sealed record UserRecord(
    string Id,
    string? Email,
    string? PhoneNumber,
    string Name,
    string? About,
    string? Avatar,
    string? PhotoMediaId,
    string PasswordHash,
    bool Confirmed,
    long CreatedAt,
    long LastSeen)
{
    /// <summary>A deleted account: its id stays (old chats and messages point at it) but it is no
    /// longer a user anyone can message, add to a group or block. Every store marks it by the
    /// <see cref="AccountNames.DeletedPasswordHash"/> that deletion writes, next to <c>deleted_at</c>.</summary>
    public bool IsDeleted => PasswordHash == AccountNames.DeletedPasswordHash;
}

public static class AccountNames
{
    /// <summary>How a deleted account appears wherever its name used to.</summary>
    public const string Deleted = "Deleted account";

    /// <summary>The password hash a deleted account is left with: no password matches it, and no
    /// live account has it (a real hash is encoded PBKDF2; an external account's is "!external").</summary>
    public const string DeletedPasswordHash = "!";
}

public sealed record RefreshTokenRecord(string TokenHash, string UserId, string FamilyId, long CreatedAt, long ExpiresAt);

public enum RefreshOutcome { Rotated, Invalid, Reused }

/// <summary><see cref="SessionId"/> is the refresh-token family: the session the token belongs to.</summary>
public sealed record RefreshRotation(RefreshOutcome Outcome, string? UserId, string? SessionId = null);

public enum CodeCheck { Accepted, Wrong, ExpiredOrMissing, TooManyAttempts }

public sealed record SigningKeyRecord(string KeyId, string PrivateKeyPkcs8, long CreatedAt);

public static class MemberRoles
{
    public const string Admin = "admin";
    public const string Member = "member";
}

/// <summary>A chat row: 1:1 (<c>chat_{a}_{b}</c>) or group.</summary>
public sealed record ChatRecord(
    string Id,
    bool IsGroup,
    string? Name,
    string? Description,
    string? CreatedBy,
    long CreatedAt,
    long LastSeq,
    long LastActivity);

/// <summary>One user's membership of one chat, with the two watermarks (delivered and read up to
/// a seq) that replace per-message status rows.</summary>
public sealed record MemberRecord(
    string ChatId,
    string UserId,
    string Role,
    long JoinedAt,
    long JoinedSeq,
    long JoinedPos,
    long DeliveredSeq,
    long DeliveredAt,
    long ReadSeq,
    long ReadAt,
    long OwnAfterRead)
{
    public bool IsAdmin => Role == MemberRoles.Admin;

    /// <summary>Whether the member can see the message: it was sent after they joined.</summary>
    public bool Sees(MessageRecord message) => message.ChatId == ChatId && message.Seq > JoinedSeq;
}

public static class MessageTypes
{
    public const string Text = "text";
    public const string System = "system";
    public static readonly string[] Media = ["image", "audio", "video", "file"];
}

public static class SystemActions
{
    public const string GroupCreated = "group_created";
    public const string MemberAdded = "member_added";
    public const string MemberRemoved = "member_removed";
    public const string MemberLeft = "member_left";
    public const string GroupRenamed = "group_renamed";
    /// <summary>Disappearing messages turned on, changed or off (content names the new setting).</summary>
    public const string DisappearingMessages = "disappearing_messages";
}

/// <summary>A stored message. <see cref="Pos"/> is its position in the event stream (unique, and in
/// order within its chat); <see cref="Seq"/> its place in its chat (1, 2, 3... with no gaps).</summary>
public sealed record MessageRecord(
    string Id,
    string ChatId,
    long Seq,
    long Pos,
    string SenderId,
    string SenderName,
    string? SenderAvatar,
    string Type,
    string? Content,
    long Timestamp,
    string? ClientMessageId,
    string? ReplyTo,
    string? ReplyQuote,
    string? SystemAction,
    string? AffectedUserName,
    string? MediaJson,
    long? EditedAt,
    bool Deleted)
{
    /// <summary>A disappearing message the server deleted when its time ran out: only its id
    /// (and chat) is left, so clients can drop it.</summary>
    public bool Expired { get; init; }

    /// <summary>Whose name <see cref="AffectedUserName"/> is (the member a <c>member_added</c>,
    /// <c>member_removed</c> or <c>member_left</c> message names), so deleting that account can
    /// rewrite the copy. Null on other messages, and on those stored before the id was recorded:
    /// those cannot be matched to an account.</summary>
    public string? AffectedUserId { get; init; }

    /// <summary>What is left of a message the server deleted for good.</summary>
    public static MessageRecord Tombstone(string messageId, string chatId) =>
        new(messageId, chatId, 0, 0, "", "", null, MessageTypes.Text, null, 0, null, null, null, null, null, null, null, true) { Expired = true };
}

/// <summary>What a sender asks to store; the store assigns seq, pos and the id.</summary>
public sealed record NewMessage(
    string ChatId,
    string SenderId,
    string Type,
    string? Content,
    string? ClientMessageId,
    string? ReplyTo,
    string? MediaJson,
    long Timestamp)
{
    /// <summary>The uploaded media the message carries, if any: the store records that the chat's
    /// members may now download it.</summary>
    public string? MediaId { get; init; }
}

public enum SendOutcome { Stored, Duplicate, NotMember, ReplyNotFound }

public enum ChangeOutcome { Done, NotFound, NotSender, NotChangeable }

/// <summary>The result of editing or deleting a message: the message as it now is, when done.</summary>
public sealed record MessageChange(ChangeOutcome Outcome, MessageRecord? Message);

public sealed record SendResult(SendOutcome Outcome, MessageRecord? Message);

/// <summary>A recipient's progress as carried by a <c>status</c> frame.</summary>
public sealed record StatusData(string ChatId, string MessageId, string UserId, string Status, long Timestamp);

public enum EventKind { Message, MessageUpdated, Status, Chat, ChatRemoved }

/// <summary>An event a user must not miss. Live, it is fanned out to <see cref="Recipients"/>
/// after its transaction commits; from /sync, it is read back by position (see <see cref="StreamCursor"/>).</summary>
public sealed record StoredEvent(
    long Pos,
    EventKind Kind,
    string ChatId,
    IReadOnlyList<string> Recipients,
    MessageRecord? Message = null,
    StatusData? Status = null)
{
    /// <summary>The connection that caused the event (it got an ack instead), if any.</summary>
    public string? OriginConnectionId { get; init; }

    /// <summary>The writer that stored the event, in a store with several (see
    /// <see cref="StreamCursor"/>); null in a store with one, whose positions commit in order.</summary>
    public int? Writer { get; init; }

    /// <summary>The position and writer of the chat's event before this one (0 and null when there
    /// was none, or the store has one writer): a node holds an event back until it has handed on
    /// that one, so a chat's events reach every socket in order even when two writers stored them.</summary>
    public long PrevPos { get; init; }

    public int? PrevWriter { get; init; }
}

/// <summary>A message one user hid from themself (delete for me): where it is, and what the
/// user's unread count needs (its seq and sender).</summary>
public sealed record HiddenMessage(long Pos, long Seq, string SenderId);

/// <summary>A chat as one user sees it in the chat list. <paramref name="HiddenUnread"/>: messages
/// of others above the read mark that the user hid, which the unread count leaves out.</summary>
public sealed record ChatView(ChatRecord Chat, MemberRecord Me, MessageRecord? LastMessage, IReadOnlyList<MemberRecord> Members, int HiddenUnread = 0);

public enum GroupOutcome { Done, NotFound, NotAdmin, NotMember, LastAdmin, AlreadyMember, UnknownUser }

public sealed record GroupChange(GroupOutcome Outcome, IReadOnlyList<string> Members)
{
    public static GroupChange Fail(GroupOutcome outcome) => new(outcome, []);
}

public sealed record SyncPage(IReadOnlyList<StoredEvent> Events, StreamCursor Cursor, bool HasMore)
{
    /// <summary>Where the page stops short of an event that is stored but not yet settled by its
    /// writer (DynamoDB, see DynamoWriters; there a position is the microsecond, Unix time, at which
    /// its writer took it); 0 when it does not. It and everything after it come in a later page.</summary>
    public long HeldBackAt { get; init; }

    /// <summary>Whether the page may lack events stored before <paramref name="beganMicros"/>: an
    /// event held back at a later position (by more than the nodes' clocks may differ) was stored
    /// after that, as every page may lack those.</summary>
    public bool HeldBackSince(long beganMicros) => HeldBackAt != 0 && HeldBackAt <= beganMicros + ClockMarginMicros;

    /// <summary>How far apart the nodes' clocks may be.</summary>
    private const long ClockMarginMicros = 1_000_000;
}

/// <summary>The blocks around one user: <see cref="Blocked"/> are users they blocked,
/// <see cref="BlockedBy"/> users who blocked them.</summary>
public sealed record BlockList(IReadOnlySet<string> Blocked, IReadOnlySet<string> BlockedBy)
{
    public static readonly BlockList Empty = new(new HashSet<string>(), new HashSet<string>());

    /// <summary>A block between the two, whoever made it: then neither sees the other's presence or typing.</summary>
    public bool EitherWay(string otherId) => Blocked.Contains(otherId) || BlockedBy.Contains(otherId);
}

/// <summary>An uploaded file's description (the bytes travel separately).</summary>
public sealed record MediaRecord(string Id, string UploaderId, string ContentType, long Size, long CreatedAt);

/// <summary>What <see cref="IAccountStore.FinishAccountDeletionsAsync"/> did: the accounts it worked
/// on, and the media it forgot (whose bytes go next).</summary>
public sealed record DeletionsFinished(int Accounts, IReadOnlyList<string> ForgottenMedia);
