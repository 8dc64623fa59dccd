using System.Text.Json;
using Parley.Server.Storage;

namespace Parley.Server.Messages;

/// <summary>Writes the message object of the contract. Hand-written because it is on the hot path
/// (once per send, shared by every recipient) and has optional members that are left out, not null.</summary>
public static class MessageJson
{
    public static void Write(Utf8JsonWriter w, MessageRecord m, string status)
    {
        if (m.Expired)
        {
            WriteExpired(w, m);
            return;
        }
        w.WriteStartObject();
        w.WriteString("id", m.Id);
        w.WriteString("messageId", m.Id);
        w.WriteString("chatId", m.ChatId);
        w.WriteNumber("seq", m.Seq);
        w.WriteString("senderId", m.SenderId);
        w.WriteString("senderName", m.SenderName);
        w.WriteString("senderAvatar", m.SenderAvatar);
        if (m.Deleted) w.WriteNull("content");
        else if (m.SystemAction is not null) w.WriteString("content", SystemText.Sentence(m));
        else w.WriteString("content", m.Content);
        w.WriteNumber("timestamp", m.Timestamp);
        w.WriteString("status", status);
        w.WriteString("type", m.Type);
        if (m.ClientMessageId is not null) w.WriteString("clientMessageId", m.ClientMessageId);
        if (m.ReplyTo is not null)
        {
            w.WriteString("replyTo", m.ReplyTo);
            w.WriteStartObject("quote");
            w.WriteString("messageId", m.ReplyTo);
            // No quote text: the quoted message was deleted for everyone.
            w.WriteString("content", m.ReplyQuote);
            if (m.ReplyQuote is null) w.WriteBoolean("deleted", true);
            w.WriteEndObject();
        }
        if (m.SystemAction is not null)
        {
            w.WriteString("systemAction", m.SystemAction);
            w.WriteString("affectedUserName", m.AffectedUserName);
            if (SystemText.GroupNameOf(m) is { } groupName) w.WriteString("groupName", groupName);
        }
        if (m.MediaJson is not null && !m.Deleted)
        {
            w.WritePropertyName("media");
            w.WriteRawValue(m.MediaJson, skipInputValidation: true);
        }
        if (m.EditedAt is long edited) w.WriteNumber("editedAt", edited);
        if (m.Deleted) w.WriteBoolean("deleted", true);
        w.WriteEndObject();
    }

    /// <summary>A message the server deleted for good (its disappearing time ran out): nothing but
    /// its id is left, and <c>expired: true</c> tells clients to drop it.</summary>
    private static void WriteExpired(Utf8JsonWriter w, MessageRecord m)
    {
        w.WriteStartObject();
        w.WriteString("id", m.Id);
        w.WriteString("messageId", m.Id);
        w.WriteString("chatId", m.ChatId);
        w.WriteNull("content");
        w.WriteBoolean("deleted", true);
        w.WriteBoolean("expired", true);
        w.WriteEndObject();
    }
}
