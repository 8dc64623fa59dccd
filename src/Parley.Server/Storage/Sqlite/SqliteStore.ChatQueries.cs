using Parley.Server.Storage.Rules;

namespace Parley.Server.Storage.Sqlite;

/// <summary>The store's reads of one chat's messages by position (see <see cref="ChatMessageQuery{T}"/>:
/// $1 the chat, $2 and $3 the open range, $4 the limit, the query's own arguments from $6).</summary>
internal static class SqliteChatQueries
{
    public static readonly string MessageColumnsOfM = StoredRows.Prefixed("m.", StoredRows.MessageColumns);

    /// <summary>The messages at the positions of a JSON array ($1), oldest first (whatever their chat:
    /// the caller checks it).</summary>
    public static readonly string MessagesAt =
        $"SELECT {MessageColumnsOfM} FROM json_each($1) j CROSS JOIN messages m ON m.pos = j.value ORDER BY m.pos";

    /// <summary>A history page, newest first, without the viewer's hidden messages ($6 the viewer).</summary>
    public static readonly ChatMessageQuery<MessageRecord> History = new(MessageColumnsOfM,
        "NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = $6 AND h.message_id = m.id)",
        r => StoredRows.Message(r), newestFirst: true);

    /// <summary>A sender's own messages that push may show, oldest first ($6 the sender).</summary>
    public static readonly ChatMessageQuery<MessageRecord> OwnShown = new(MessageColumnsOfM,
        "m.sender_id = $6 AND m.deleted = 0 AND m.type <> 'system'",
        r => StoredRows.Message(r), newestFirst: false);

    /// <summary>Positions, newest first, of the messages at or below a chat sequence number ($6).</summary>
    public static readonly ChatMessageQuery<long> PositionsUpToSeq = new("m.pos", "m.seq <= $6", r => r.Int64(0), newestFirst: true);

    /// <summary>The messages a receipt covers, newest first: those above a chat sequence number ($6).</summary>
    public static readonly ChatMessageQuery<ReachedMessage> ReachedAboveSeq = new("m.id, m.sender_id, m.seq", "m.seq > $6",
        r => new ReachedMessage(r.Text(0), r.Text(1), r.Int64(2)), newestFirst: true);

    /// <summary>The messages of everyone but $6, for a count.</summary>
    public static readonly ChatMessageQuery<long> SentByOthers = new("m.pos", "m.sender_id <> $6", r => r.Int64(0), newestFirst: false);

    /// <summary>The messages not deleted that carry an attachment ($6 its media id).</summary>
    public static readonly ChatMessageQuery<long> Showing = new("m.pos",
        "m.deleted = 0 AND json_extract(m.media, '$.mediaId') = $6", r => r.Int64(0), newestFirst: false);

    /// <summary>Positions of the chat's messages, newest first.</summary>
    public static readonly ChatMessageQuery<long> Newest = new("m.pos", "1", r => r.Int64(0), newestFirst: true);
}
