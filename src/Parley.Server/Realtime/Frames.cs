using System.Text.Json;
using Parley.Server.Common;
using Parley.Server.Messages;
using Parley.Server.Storage;

namespace Parley.Server.Realtime;

/// <summary>Server frames: <c>{"type": ..., "data": ..., "cursor"?: ...}</c>.</summary>
public static class Frames
{
    public const string Message = "message";
    public const string MessageUpdated = "messageUpdated";
    public const string Status = "status";
    public const string Chat = "chat";

    public static byte[] Build(string type, Action<Utf8JsonWriter> writeData, string? cursor = null) => JsonBytes.Build(w => Write(w, type, writeData, cursor));

    public static void Write(Utf8JsonWriter w, string type, Action<Utf8JsonWriter> writeData, string? cursor = null)
    {
        w.WriteStartObject();
        w.WriteString("type", type);
        w.WritePropertyName("data");
        writeData(w);
        if (cursor is not null) w.WriteString("cursor", cursor);
        w.WriteEndObject();
    }

    /// <summary>The cursor a live event's frame carries when it is the same for every recipient:
    /// in a store with one writer, the event's position. With several writers each connection's
    /// cursor differs, and the connection adds it (<see cref="SentCursor"/>).</summary>
    public static string? SharedCursor(StoredEvent e) => e.Writer is null ? StreamCursor.AtFloor(e.Pos).ToString() : null;

    public static byte[] Ack(MessageRecord m, string? clientMessageId) => Build("ack", w =>
    {
        w.WriteStartObject();
        w.WriteString("clientMessageId", clientMessageId);
        w.WriteString("messageId", m.Id);
        w.WriteString("chatId", m.ChatId);
        w.WriteNumber("seq", m.Seq);
        w.WriteNumber("timestamp", m.Timestamp);
        w.WriteEndObject();
    });

    public static byte[] Error(string message, string code, string? clientMessageId = null) => Build("error", w =>
    {
        w.WriteStartObject();
        w.WriteString("error", message);
        w.WriteString("code", code);
        if (clientMessageId is not null) w.WriteString("clientMessageId", clientMessageId);
        w.WriteEndObject();
    });

    public static byte[] Typing(string chatId, string userId, bool isTyping) => Build("typing", w =>
    {
        w.WriteStartObject();
        w.WriteString("chatId", chatId);
        w.WriteString("userId", userId);
        w.WriteBoolean("isTyping", isTyping);
        w.WriteEndObject();
    });

    public static byte[] Presence(string userId, bool online, long lastSeen) => Build("presence", w =>
    {
        w.WriteStartObject();
        w.WriteString("userId", userId);
        w.WriteBoolean("online", online);
        w.WriteNumber("lastSeen", lastSeen);
        w.WriteEndObject();
    });

    public static readonly byte[] Pong = Build("pong", w => w.WriteNullValue());

    public static void WriteStatus(Utf8JsonWriter w, StatusData s)
    {
        w.WriteStartObject();
        w.WriteString("chatId", s.ChatId);
        w.WriteString("messageId", s.MessageId);
        w.WriteString("userId", s.UserId);
        w.WriteString("status", s.Status);
        w.WriteNumber("timestamp", s.Timestamp);
        w.WriteEndObject();
    }

    public static void WriteRemoved(Utf8JsonWriter w, string chatId)
    {
        w.WriteStartObject();
        w.WriteString("id", chatId);
        w.WriteBoolean("removed", true);
        w.WriteEndObject();
    }

    /// <summary>The bytes of an event that reads the same for every recipient, or null when it is
    /// per reader (a chat summary).</summary>
    public static byte[]? Shared(StoredEvent e, string? cursor) => e.Kind switch
    {
        EventKind.Message => Build(Message, w => MessageJson.Write(w, e.Message!, MessageStatus.Sent), cursor),
        EventKind.Status => Build(Status, w => WriteStatus(w, e.Status!), cursor),
        EventKind.ChatRemoved => Build(Chat, w => WriteRemoved(w, e.ChatId), cursor),
        _ => null,
    };
}
