using System.Data.Common;
using System.Text.Json;

namespace Parley.Server.Storage.Rules;

/// <summary>Rows to records, shared by the SQL backends: they select the same columns in the same
/// order (<see cref="MessageColumns"/>, <see cref="ChatColumns"/>, <see cref="MemberColumns"/>).</summary>
public static class StoredRows
{
    public const string MessageColumns =
        "id, chat_id, seq, pos, sender_id, sender_name, sender_avatar, type, content, timestamp, client_message_id, " +
        "reply_to, reply_quote, system_action, affected_user_name, media, edited_at, deleted, affected_user_id";

    /// <summary>How many columns <see cref="MessageColumns"/> has: a query that selects more after
    /// them reads those from here on.</summary>
    public const int MessageColumnCount = 19;

    public const string ChatColumns = "id, is_group, name, description, created_by, created_at, last_seq, last_activity";

    public const string MemberColumns =
        "chat_id, user_id, role, joined_at, joined_seq, joined_pos, delivered_seq, delivered_at, read_seq, read_at, own_after_read";

    /// <summary>Deletes a replaced profile photo ($1) of its uploader ($2) unless a chat it was sent
    /// to, or another profile, still shows it; answers its id when it went.</summary>
    public const string ForgetReplacedPhoto =
        """
        DELETE FROM media WHERE id = $1 AND uploader_id = $2
          AND NOT EXISTS (SELECT 1 FROM media_chats WHERE media_id = media.id)
          AND NOT EXISTS (SELECT 1 FROM users WHERE photo_media_id = media.id)
        RETURNING id
        """;

    /// <summary>A deleted account's ($1) name leaves the messages it sent at positions above $3 and
    /// up to $4 (one slice, see <see cref="SenderScrubs"/>): they show $2 ("Deleted account"). The
    /// range is read by the primary key: there is no index by sender, which every send would pay
    /// for. Answers the position and system action of each message changed, for
    /// <see cref="UnnameTimerLine"/>. The content is not set here: on SQLite, setting it (even to
    /// itself) fires the search index's trigger, which takes every text message of the account out
    /// of the index and puts it back.</summary>
    public const string ForgetSenderName =
        """
        UPDATE messages SET sender_name = $2, sender_avatar = NULL
        WHERE pos > $3 AND pos <= $4 AND sender_id = $1
        RETURNING pos, system_action
        """;

    /// <summary>A <c>disappearing_messages</c> message ($1, a position <see cref="ForgetSenderName"/>
    /// answered) stored while its content began with the actor's name keeps only the description
    /// (see <see cref="DisappearTimers.Unnamed"/>).</summary>
    public static readonly string UnnameTimerLine = $"UPDATE messages SET content = {UnnamedDisappearingText} WHERE pos = $1";

    /// <summary>Whether a message <see cref="ForgetSenderName"/> answered needs <see cref="UnnameTimerLine"/>.</summary>
    public static bool IsTimerLine(string? systemAction) => systemAction == SystemActions.DisappearingMessages;

    /// <summary>A deleted account's ($1) name leaves the system messages that name it as the member
    /// added, removed or left: they say $2. Written over in the store rather than looked up when a
    /// message is read: the old name must not stay stored (what a user deletes is gone from every
    /// copy), and reads, far more frequent than deletions, stay one row each. The partial index on
    /// <c>affected_user_id</c> finds exactly those rows, however large the table. Messages stored
    /// before the id was recorded have none and keep their name.</summary>
    public const string ForgetAffectedName = "UPDATE messages SET affected_user_name = $2 WHERE affected_user_id = $1";

    /// <summary>SQL for the description a <c>disappearing_messages</c> content ends with, without the
    /// name in front of it; null when it ends with none. The descriptions are the server's own
    /// constants, free of quotes and LIKE wildcards.</summary>
    private static string UnnamedDisappearingText =>
        "CASE " + string.Concat(DisappearTimers.Descriptions.Select(d => $"WHEN content LIKE '%{d}' THEN '{d}' ")) + "END";

    /// <summary><paramref name="columns"/> with each column qualified by a table alias.</summary>
    public static string Prefixed(string prefix, string columns) =>
        string.Join(", ", columns.Split(", ").Select(column => prefix + column));

    public static MessageRecord Message(DbDataReader r, int o = 0) => Message(new DbRow(r), o);

    /// <summary>A message from <see cref="MessageColumns"/> at <paramref name="o"/>, read through
    /// any row reader (a generic over a struct, so each reader's calls are direct).</summary>
    public static MessageRecord Message<TRow>(TRow r, int o = 0) where TRow : IStoredRow => new(
        r.Text(o), r.Text(o + 1), r.Int64(o + 2), r.Int64(o + 3), r.Text(o + 4), r.Text(o + 5), r.TextOrNull(o + 6),
        r.Text(o + 7), r.TextOrNull(o + 8), r.Int64(o + 9), r.TextOrNull(o + 10), r.TextOrNull(o + 11), r.TextOrNull(o + 12),
        r.TextOrNull(o + 13), r.TextOrNull(o + 14), r.TextOrNull(o + 15), r.Int64OrNull(o + 16), r.Bool(o + 17))
    {
        AffectedUserId = r.TextOrNull(o + 18),
    };

    public static ChatRecord Chat(DbDataReader r, int o = 0) => new(
        r.GetString(o), r.GetBoolean(o + 1), Text(r, o + 2), Text(r, o + 3), Text(r, o + 4),
        r.GetInt64(o + 5), r.GetInt64(o + 6), r.GetInt64(o + 7));

    public static MemberRecord Member(DbDataReader r, int o = 0) => Member(new DbRow(r), o);

    /// <summary>A member from <see cref="MemberColumns"/> at <paramref name="o"/>, read through any row reader.</summary>
    public static MemberRecord Member<TRow>(TRow r, int o = 0) where TRow : IStoredRow => new(
        r.Text(o), r.Text(o + 1), r.Text(o + 2), r.Int64(o + 3), r.Int64(o + 4), r.Int64(o + 5),
        r.Int64(o + 6), r.Int64(o + 7), r.Int64(o + 8), r.Int64(o + 9), r.Int64(o + 10));

    /// <summary>An event row (pos, kind, chat_id, data at <paramref name="o"/>..o+3). A status event
    /// carries its <see cref="StatusData"/> as JSON; an edit or delete carries the message id, read
    /// back as a stub that <see cref="SyncPages.Complete"/> replaces with the message as it is now.</summary>
    public static StoredEvent Event(DbDataReader r, IReadOnlyList<string> recipients, int o = 0) => Event(new DbRow(r), recipients, o);

    /// <summary>An event row, read through any row reader.</summary>
    public static StoredEvent Event<TRow>(TRow r, IReadOnlyList<string> recipients, int o = 0) where TRow : IStoredRow =>
        Event(r.Int64(o), (EventKind)r.Int64(o + 1), r.Text(o + 2), r.TextOrNull(o + 3), recipients);

    public static StoredEvent Event(long pos, EventKind kind, string chatId, string? data, IReadOnlyList<string> recipients)
    {
        var status = kind == EventKind.Status && data is not null ? JsonSerializer.Deserialize(data, StorageJsonContext.Default.StatusData) : null;
        var stub = kind == EventKind.MessageUpdated && data is not null ? UpdatedStub(data, chatId) : null;
        return new StoredEvent(pos, kind, chatId, recipients, Message: stub, Status: status);
    }

    /// <summary>How a status event's data is stored.</summary>
    public static string StatusJson(StatusData status) => JsonSerializer.Serialize(status, StorageJsonContext.Default.StatusData);

    public static StoredEvent MessageEvent(MessageRecord message, IReadOnlyList<string> recipients) =>
        new(message.Pos, EventKind.Message, message.ChatId, recipients, message);

    private static MessageRecord UpdatedStub(string messageId, string chatId) =>
        new(messageId, chatId, 0, 0, "", "", null, MessageTypes.Text, null, 0, null, null, null, null, null, null, null, false);

    private static string? Text(DbDataReader r, int i) => new DbRow(r).TextOrNull(i);
}

/// <summary>The columns of one row, by position.</summary>
public interface IStoredRow
{
    string Text(int column);
    string? TextOrNull(int column);
    long Int64(int column);
    long? Int64OrNull(int column);
    bool Bool(int column);
}

/// <summary>A row of an ADO.NET reader.</summary>
public readonly struct DbRow(DbDataReader reader) : IStoredRow
{
    public string Text(int column) => reader.GetString(column);
    public string? TextOrNull(int column) => reader.IsDBNull(column) ? null : reader.GetString(column);
    public long Int64(int column) => reader.GetInt64(column);
    public long? Int64OrNull(int column) => reader.IsDBNull(column) ? null : reader.GetInt64(column);
    public bool Bool(int column) => reader.GetBoolean(column);
}
