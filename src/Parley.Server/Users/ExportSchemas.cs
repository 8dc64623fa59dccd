using Parley.Server.Chats;
using Parley.Server.Messages;

namespace Parley.Server.Users;

// The shape of the export that ExportApi streams by hand, declared for the OpenAPI document.

/// <summary>The caller's profile, the chats they are or were in, their own messages, and the ids of their media.</summary>
public sealed record AccountExport(long ExportedAt, Profile Profile, IReadOnlyList<ExportedChat> Chats, IReadOnlyList<ExportedMessage> Messages,
    IReadOnlyList<string> Media);

/// <summary>A chat of the export; <c>role</c>, <c>joinedAt</c>, <c>members</c> and <c>settings</c> only while still a member.</summary>
public sealed record ExportedChat(string Id, bool IsGroup, bool Member, string? Name = null, string? Role = null, long? JoinedAt = null,
    IReadOnlyList<string>? Members = null, ChatSettingsView? Settings = null);

public sealed record ExportedMessage(string Id, string ChatId, long Seq, string Type, string? Content, long Timestamp, long? EditedAt = null,
    string? ReplyTo = null, MediaAttachment? Media = null);
