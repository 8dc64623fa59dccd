using Parley.Server.Common;

namespace Parley.Server.Storage.Rules;

/// <summary>What may be sent, edited and deleted, and what a reply quotes: the same on every backend.</summary>
public static class MessageRules
{
    /// <summary>How much of the replied-to message a reply carries.</summary>
    public const int QuoteLength = 100;

    /// <summary>The quote a reply keeps of the message it answers: its first characters (empty for a
    /// media message without caption), or none (null: "deleted") when that message was deleted for
    /// everyone, as its earlier replies' quotes become (deleted content is not copied anywhere).
    /// Characters are code points, as PostgreSQL's <c>left</c> and SQLite's <c>substr</c> count them,
    /// so an emoji is never cut in half.</summary>
    public static string? Quote(string? content, bool deleted)
    {
        if (deleted) return null;
        return content is null ? "" : TextLength.First(content, QuoteLength);
    }

    /// <summary>Whether a send may be stored: the sender must be a member, a retried client id gives
    /// back the original, and a reply must answer a message of the same chat. Null: store it.</summary>
    public static SendOutcome? CheckSend(bool senderIsMember, bool isRetry, bool replyFound)
    {
        if (!senderIsMember) return SendOutcome.NotMember;
        if (isRetry) return SendOutcome.Duplicate;
        if (!replyFound) return SendOutcome.ReplyNotFound;
        return null;
    }

    /// <summary>Edit and delete-for-everyone: the caller must be a member who sees the message (sent
    /// after they joined), and its sender; system and deleted messages stay as they are.</summary>
    public static ChangeOutcome CheckChange(MessageRecord? message, MemberRecord? member, string userId)
    {
        if (message is null || member is null || member.ChatId != message.ChatId || message.Pos <= member.JoinedPos) return ChangeOutcome.NotFound;
        if (message.SenderId != userId) return ChangeOutcome.NotSender;
        if (message.Deleted || message.Type == MessageTypes.System) return ChangeOutcome.NotChangeable;
        return ChangeOutcome.Done;
    }

    /// <summary>Hiding a message for oneself needs only that the caller sees it.</summary>
    public static bool CanHide(MessageRecord? message, MemberRecord? member) => Sees(member, message);

    /// <summary>Whether a member sees a message: one of their chat sent since they (last) joined, as
    /// their history shows it. A member added again does not see what was sent before, nor while
    /// they were out: not its later edits, nor a quote of it in their own reply.</summary>
    public static bool Sees(MemberRecord? member, MessageRecord? message) =>
        message is not null && member is not null && member.ChatId == message.ChatId && message.Pos > member.JoinedPos;

    /// <summary>When a message sent now disappears: never for system messages or with the timer off.</summary>
    public static long? ExpiresAt(string type, long timestamp, long disappearAfterSeconds) =>
        disappearAfterSeconds > 0 && type != MessageTypes.System ? timestamp + disappearAfterSeconds * 1000 : null;

    public static MessageRecord Edited(MessageRecord message, string content, long now) =>
        message with { Content = content, EditedAt = now };

    /// <summary>Deleted for everyone: the content and media go, the message stays as deleted.</summary>
    public static MessageRecord DeletedForEveryone(MessageRecord message) =>
        message with { Content = null, MediaJson = null, Deleted = true };
}
