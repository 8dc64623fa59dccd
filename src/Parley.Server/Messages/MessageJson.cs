using System.Text.Json;
using Parley.Server.Storage;

namespace Parley.Server.Messages;

/// <summary>Writes the message object of the contract. Hand-written because it is on the hot path
/// (once per send, shared by every recipient) and has optional members that are left out, not null.</summary>
public static class MessageJson
{
    /// <summary>The property names, encoded once: a name given as a string is transcoded and checked
    /// for escaping on every write, and a page of 50 messages writes 600 of them.</summary>
    private static class Names
    {
        public static readonly JsonEncodedText AffectedUserId = JsonEncodedText.Encode("affectedUserId");
        public static readonly JsonEncodedText AffectedUserName = JsonEncodedText.Encode("affectedUserName");
        public static readonly JsonEncodedText ChatId = JsonEncodedText.Encode("chatId");
        public static readonly JsonEncodedText ClientMessageId = JsonEncodedText.Encode("clientMessageId");
        public static readonly JsonEncodedText Content = JsonEncodedText.Encode("content");
        public static readonly JsonEncodedText Deleted = JsonEncodedText.Encode("deleted");
        public static readonly JsonEncodedText EditedAt = JsonEncodedText.Encode("editedAt");
        public static readonly JsonEncodedText Expired = JsonEncodedText.Encode("expired");
        public static readonly JsonEncodedText GroupName = JsonEncodedText.Encode("groupName");
        public static readonly JsonEncodedText Id = JsonEncodedText.Encode("id");
        public static readonly JsonEncodedText Media = JsonEncodedText.Encode("media");
        public static readonly JsonEncodedText MessageId = JsonEncodedText.Encode("messageId");
        public static readonly JsonEncodedText Quote = JsonEncodedText.Encode("quote");
        public static readonly JsonEncodedText ReplyTo = JsonEncodedText.Encode("replyTo");
        public static readonly JsonEncodedText SenderAvatar = JsonEncodedText.Encode("senderAvatar");
        public static readonly JsonEncodedText SenderId = JsonEncodedText.Encode("senderId");
        public static readonly JsonEncodedText SenderName = JsonEncodedText.Encode("senderName");
        public static readonly JsonEncodedText Seq = JsonEncodedText.Encode("seq");
        public static readonly JsonEncodedText Status = JsonEncodedText.Encode("status");
        public static readonly JsonEncodedText SystemAction = JsonEncodedText.Encode("systemAction");
        public static readonly JsonEncodedText Timestamp = JsonEncodedText.Encode("timestamp");
        public static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
    }

    public static void Write(Utf8JsonWriter w, MessageRecord m, string status)
    {
        if (m.Expired)
        {
            WriteExpired(w, m);
            return;
        }
        w.WriteStartObject();
        w.WriteString(Names.Id, m.Id);
        w.WriteString(Names.MessageId, m.Id);
        w.WriteString(Names.ChatId, m.ChatId);
        w.WriteNumber(Names.Seq, m.Seq);
        w.WriteString(Names.SenderId, m.SenderId);
        w.WriteString(Names.SenderName, m.SenderName);
        w.WriteString(Names.SenderAvatar, m.SenderAvatar);
        if (m.Deleted) w.WriteNull(Names.Content);
        else if (m.SystemAction is not null) w.WriteString(Names.Content, SystemText.Sentence(m));
        else w.WriteString(Names.Content, m.Content);
        w.WriteNumber(Names.Timestamp, m.Timestamp);
        w.WriteString(Names.Status, status);
        w.WriteString(Names.Type, m.Type);
        if (m.ClientMessageId is not null) w.WriteString(Names.ClientMessageId, m.ClientMessageId);
        if (m.ReplyTo is not null)
        {
            w.WriteString(Names.ReplyTo, m.ReplyTo);
            w.WriteStartObject(Names.Quote);
            w.WriteString(Names.MessageId, m.ReplyTo);
            // No quote text: the quoted message was deleted for everyone.
            w.WriteString(Names.Content, m.ReplyQuote);
            if (m.ReplyQuote is null) w.WriteBoolean(Names.Deleted, true);
            w.WriteEndObject();
        }
        if (m.SystemAction is not null)
        {
            w.WriteString(Names.SystemAction, m.SystemAction);
            w.WriteString(Names.AffectedUserName, m.AffectedUserName);
            // Whose name that is, so a client can show the name as it is now (messages stored
            // before the id was recorded have none).
            if (m.AffectedUserId is not null) w.WriteString(Names.AffectedUserId, m.AffectedUserId);
            if (SystemText.GroupNameOf(m) is { } groupName) w.WriteString(Names.GroupName, groupName);
        }
        if (m.MediaJson is not null && !m.Deleted)
        {
            w.WritePropertyName(Names.Media);
            w.WriteRawValue(m.MediaJson, skipInputValidation: true);
        }
        if (m.EditedAt is long edited) w.WriteNumber(Names.EditedAt, edited);
        if (m.Deleted) w.WriteBoolean(Names.Deleted, true);
        w.WriteEndObject();
    }

    /// <summary>A message the server deleted for good (its disappearing time ran out): nothing but
    /// its id is left, and <c>expired: true</c> tells clients to drop it.</summary>
    private static void WriteExpired(Utf8JsonWriter w, MessageRecord m)
    {
        w.WriteStartObject();
        w.WriteString(Names.Id, m.Id);
        w.WriteString(Names.MessageId, m.Id);
        w.WriteString(Names.ChatId, m.ChatId);
        w.WriteNull(Names.Content);
        w.WriteBoolean(Names.Deleted, true);
        w.WriteBoolean(Names.Expired, true);
        w.WriteEndObject();
    }
}
