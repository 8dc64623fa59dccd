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

    /// <summary>A frame's member names, encoded once (a page of a sync answer writes three a frame).</summary>
    private static readonly JsonEncodedText TypeName = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText DataName = JsonEncodedText.Encode("data");
    private static readonly JsonEncodedText CursorName = JsonEncodedText.Encode("cursor");

    public static byte[] Build(string type, Action<Utf8JsonWriter> writeData, string? cursor = null) =>
        Build(type, writeData, static (w, writeData) => writeData(w), cursor);

    /// <summary>A frame whose data a static <paramref name="writeData"/> writes from
    /// <paramref name="state"/>, without a closure (see <see cref="JsonBytes.Build{TState}"/>).</summary>
    public static byte[] Build<TState>(string type, TState state, Action<Utf8JsonWriter, TState> writeData, string? cursor = null) =>
        JsonBytes.Build((type, state, writeData, cursor), static (w, f) =>
        {
            w.WriteStartObject();
            WriteType(w, f.type);
            f.writeData(w, f.state);
            if (f.cursor is not null) w.WriteString(CursorName, f.cursor);
            w.WriteEndObject();
        });

    /// <summary>The cursor a live event's frame carries when it is the same for every recipient:
    /// in a store with one writer, the event's position. With several writers each connection's
    /// cursor differs, and the connection adds it (<see cref="SentCursor"/>).</summary>
    public static string? SharedCursor(StoredEvent e) => e.Writer is null ? StreamCursor.AtFloor(e.Pos).ToString() : null;

    public static byte[] Ack(MessageRecord m, string? clientMessageId) => Build("ack", (m, clientMessageId), static (w, a) =>
    {
        var (m, clientMessageId) = a;
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

    /// <summary>Whether an event of this kind reads the same for every recipient (a chat summary
    /// and an edit's sender status are per reader).</summary>
    public static bool HasSharedData(EventKind kind) => kind is EventKind.Message or EventKind.Status or EventKind.ChatRemoved;

    /// <summary>The bytes of an event that reads the same for every recipient, or null when it is
    /// per reader.</summary>
    public static byte[]? Shared(StoredEvent e, string? cursor) => !HasSharedData(e.Kind) ? null : JsonBytes.Build((e, cursor), static (w, s) =>
    {
        w.WriteStartObject();
        WriteShared(w, s.e);
        if (s.cursor is not null) w.WriteString(CursorName, s.cursor);
        w.WriteEndObject();
    });

    /// <summary>The <c>type</c> and <c>data</c> of an event of a kind <see cref="HasSharedData"/>.</summary>
    public static void WriteShared(Utf8JsonWriter w, StoredEvent e)
    {
        switch (e.Kind)
        {
            case EventKind.Message:
                WriteType(w, Message);
                MessageJson.Write(w, e.Message!, MessageStatus.Sent);
                break;
            case EventKind.Status:
                WriteType(w, Status);
                WriteStatus(w, e.Status!);
                break;
            case EventKind.ChatRemoved:
                WriteType(w, Chat);
                WriteRemoved(w, e.ChatId);
                break;
            default:
                throw new ArgumentException($"A {e.Kind} event reads differently for each recipient.", nameof(e));
        }
    }

    /// <summary>A frame's <c>type</c>, then the name of its <c>data</c>, whose value the caller writes next.</summary>
    public static void WriteType(Utf8JsonWriter w, string type)
    {
        w.WriteString(TypeName, type);
        w.WritePropertyName(DataName);
    }

    /// <summary>A frame's <c>cursor</c>, written from the cursor without a string in between.</summary>
    public static void WriteCursor(Utf8JsonWriter w, StreamCursor cursor)
    {
        var room = StreamCursor.MaxTextBytes(cursor.Entries.Count);
        Span<byte> text = room <= 256 ? stackalloc byte[256] : new byte[room];
        w.WriteString(CursorName, text[..cursor.WriteText(text)]);
    }
}
