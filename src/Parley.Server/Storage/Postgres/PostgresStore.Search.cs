namespace Parley.Server.Storage.Postgres;

internal sealed partial class PostgresStore
{
    public async Task<IReadOnlyList<MessageRecord>> SearchMessagesAsync(string userId, IReadOnlyList<string> words, string? chatId, long beforePos, int limit, long now)
    {
        // Each word is letters and digits only, so it is a valid lexeme as it is; :* makes it a prefix.
        var query = string.Join(" & ", words.Select(word => word + ":*"));
        // The expression and the WHERE clause match the messages_search index exactly, so it is used.
        return await db.ReadAsync(c => c.QueryAsync(ReadMessage,
            $"""
            SELECT {Prefixed("m.", MessageColumns)} FROM messages m
            JOIN members mb ON mb.chat_id = m.chat_id AND mb.user_id = $2
            WHERE to_tsvector('simple'::regconfig, regexp_replace(m.content, '[^[:alnum:]]+', ' ', 'g')) @@ to_tsquery('simple'::regconfig, $1)
              AND m.type <> 'system' AND m.content IS NOT NULL AND NOT m.deleted
              AND m.pos < $3 AND ($4::text IS NULL OR m.chat_id = $4::text) AND m.pos > mb.joined_pos
              AND (m.expires_at IS NULL OR m.expires_at > $6)
              AND NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = $2 AND h.message_id = m.id)
            ORDER BY m.pos DESC LIMIT $5
            """,
            query, userId, beforePos, chatId, limit, now)).ConfigureAwait(false);
    }

    public Task<bool> AddWsTicketAsync(string ticketHash, string userId, string? sessionId, long issuedAt, long expiresAt, long now, int maxOpen) =>
        db.ReadConnectionAsync(async c =>
        {
            // On a pooled connection, not the writer: a ticket takes no stream position. Its own short
            // transaction holds the user's lock, so requests on every node count the same tickets.
            await using var transaction = await c.BeginTransactionAsync().ConfigureAwait(false);
            await c.ExecuteAsync(UserCapLock, "ws-tickets:" + userId).ConfigureAwait(false);
            await c.ExecuteAsync("DELETE FROM ws_tickets WHERE expires_at <= $1", now).ConfigureAwait(false);
            var added = await c.ExecuteAsync(
                """
                INSERT INTO ws_tickets (ticket_hash, user_id, session_id, issued_at, expires_at)
                SELECT $1, $2, $3::text, $4, $5 WHERE (SELECT count(*) FROM ws_tickets WHERE user_id = $2) < $6
                """, ticketHash, userId, sessionId, issuedAt, expiresAt, maxOpen).ConfigureAwait(false);
            await transaction.CommitAsync().ConfigureAwait(false);
            return added == 1;
        });

    public Task<WsTicketRecord?> RedeemWsTicketAsync(string ticketHash, long now) =>
        db.ReadAsync(async c =>
        {
            // DELETE ... RETURNING is atomic: of two nodes redeeming the same ticket, one gets the row.
            var ticket = await c.QueryFirstAsync(r => new WsTicketRecord(r.GetString(0), r.StringOrNull(1), r.GetInt64(2), r.GetInt64(3)),
                "DELETE FROM ws_tickets WHERE ticket_hash = $1 RETURNING user_id, session_id, issued_at, expires_at", ticketHash).ConfigureAwait(false);
            return ticket is not null && ticket.ExpiresAt > now ? ticket : null;
        });
}
