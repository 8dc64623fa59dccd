namespace Parley.Server.Messages;

// The shapes of the message JSON that MessageJson and the receipt and status routes write by hand,
// declared as types so the OpenAPI document describes them (clients generate their models from it).
// Members an answer leaves out when they do not apply have a default here, which the document shows
// as not required. A test compares these with real answers, so they cannot drift from what the
// server writes.

/// <summary>A message. A system message has <c>systemAction</c>; a media message <c>media</c>; a
/// reply <c>replyTo</c> and <c>quote</c>; a message deleted for everyone <c>deleted: true</c> and
/// no content; one whose disappearing time ran out only its ids, <c>deleted</c> and <c>expired</c>.</summary>
public sealed record Message(
    string Id, string MessageId, string ChatId, string? Content, long? Seq = null, string? SenderId = null, string? SenderName = null,
    string? SenderAvatar = null, long? Timestamp = null, string? Status = null, string? Type = null, string? ClientMessageId = null,
    string? ReplyTo = null, Quote? Quote = null, string? SystemAction = null, string? AffectedUserName = null, string? GroupName = null,
    MediaAttachment? Media = null, long? EditedAt = null, bool? Deleted = null, bool? Expired = null, string? AffectedUserId = null);

/// <summary>The short quote a reply carries of the message it answers (<c>content</c> null and
/// <c>deleted: true</c> once that message is deleted for everyone).</summary>
public sealed record Quote(string MessageId, string? Content, bool? Deleted = null);

/// <summary>The attachment of a media message.</summary>
public sealed record MediaAttachment(string MediaId, string ContentType, long Size, string Url, string? FileName = null);

/// <summary>A page of history, newest first; <c>lastKey</c> fetches the next older page (null at the end).</summary>
public sealed record MessagePage(IReadOnlyList<Message> Messages, string? LastKey);

/// <summary>One other member's progress on a message.</summary>
public sealed record Receipt(string UserId, string Status, long Timestamp);

/// <summary>The answer to a status update: the message's status as the caller now sees it.</summary>
public sealed record StatusAnswer(string MessageId, string Status);
