namespace Parley.Server.Storage.Sqlite;

internal sealed partial class SqliteStore
{
    public async Task<IReadOnlyList<MessageRecord>> SearchMessagesAsync(string userId, IReadOnlyList<string> words, string? chatId, long beforePos, int limit, long now)
    {
        // New messages are indexed in batches: the ones sent since the last batch go in first.
        await db.CatchUpSearchIndexAsync().ConfigureAwait(false);
        // Each word is letters and digits only, so quoting it is enough; * makes it a prefix.
        var match = string.Join(' ', words.Select(word => $"\"{word}\"*"));
        return await db.ReadAsync<IReadOnlyList<MessageRecord>>(c => c.Query(ReadMessage,
            $"""
            SELECT {SearchResultColumns} FROM message_search s
            JOIN messages m ON m.pos = s.rowid
            JOIN members mb ON mb.chat_id = m.chat_id AND mb.user_id = $2
            WHERE message_search MATCH $1 AND s.rowid < $3 AND ($4 IS NULL OR m.chat_id = $4)
              AND m.pos > mb.joined_pos AND m.deleted = 0 AND m.type <> 'system' AND (m.expires_at IS NULL OR m.expires_at > $6)
              AND NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = $2 AND h.message_id = m.id)
            ORDER BY s.rowid DESC LIMIT $5
            """,
            match, userId, beforePos, chatId, limit, now)).ConfigureAwait(false);
    }

    public Task<bool> AddWsTicketAsync(string ticketHash, string userId, string? sessionId, long issuedAt, long expiresAt, long now, int maxOpen) => db.WriteAsync(w =>
    {
        var c = w.Connection;
        c.Execute("DELETE FROM ws_tickets WHERE expires_at <= $1", now);
        if (c.Scalar("SELECT count(*) FROM ws_tickets WHERE user_id = $1", userId) >= maxOpen) return false;
        c.Execute("INSERT INTO ws_tickets (ticket_hash, user_id, session_id, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
            ticketHash, userId, sessionId, issuedAt, expiresAt);
        return true;
    });

    public Task<WsTicketRecord?> RedeemWsTicketAsync(string ticketHash, long now) => db.WriteAsync(w =>
    {
        var ticket = w.Connection.QueryFirst(r => new WsTicketRecord(r.GetString(0), r.StringOrNull(1), r.GetInt64(2), r.GetInt64(3)),
            "DELETE FROM ws_tickets WHERE ticket_hash = $1 RETURNING user_id, session_id, issued_at, expires_at", ticketHash);
        return ticket is not null && ticket.ExpiresAt > now ? ticket : null;
    });

    /// <summary>The message columns, qualified (the search joins tables that share column names).</summary>
    private static readonly string SearchResultColumns = string.Join(", ", MessageColumns.Split(',').Select(column => "m." + column.Trim()));
}
