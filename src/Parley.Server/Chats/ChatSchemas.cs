namespace Parley.Server.Chats;

// The shapes of the chat JSON that ChatSummaries and ChatSettingsJson write by hand, declared as
// types for the OpenAPI document (members with a default are left out when they do not apply). A test
// compares them with real answers.

/// <summary>A chat as its reader sees it. Groups add <c>groupName</c>, <c>groupDescription</c>,
/// <c>admins</c> and <c>createdBy</c>; the room routes add <c>roomId</c>.</summary>
public sealed record ChatSummary(
    string Id, bool IsGroup, IReadOnlyList<Participant> Participants, Messages.Message? LastMessage, long LastMessageTime,
    long UnreadCount, bool IsTyping, IReadOnlyList<string> Members, long CreatedAt, ChatSettingsView Settings, string? RoomId = null,
    string? GroupName = null, string? GroupDescription = null, IReadOnlyList<string>? Admins = null, string? CreatedBy = null);

/// <summary>Another member of the chat (the reader is left out). <c>deleted</c>: the account was
/// deleted (its name is then "Deleted account"; such an account cannot be made an admin).</summary>
public sealed record Participant(string Id, string Name, string? Email, string? Avatar, string? PhotoUrl, bool Online, long LastSeen, bool Deleted);

/// <summary>The reader's settings for a chat, and the chat-wide disappearing timer.
/// <c>mutedUntil</c> is null when not muted or muted until turned back on.</summary>
public sealed record ChatSettingsView(
    string ChatId, bool Muted, long? MutedUntil, bool Previews, bool Pinned, bool Archived, int DisappearAfterSeconds);
