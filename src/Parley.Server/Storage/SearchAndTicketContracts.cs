namespace Parley.Server.Storage;

/// <summary>Full-text search over message text (SQLite FTS5, PostgreSQL text search). The index
/// follows every insert, edit and delete inside the database itself, so no write path can forget it.</summary>
public interface IMessageSearchStore
{
    /// <summary>The messages <paramref name="userId"/> can read that contain every word (as a word
    /// prefix), newest first, with pos below <paramref name="beforePos"/>: only chats they are in, only
    /// from when they joined, never deleted, hidden or system messages, nor disappearing ones whose
    /// time ran out by <paramref name="now"/> (the sweep that deletes them may not have come by yet). <paramref name="words"/> are
    /// lower-case runs of letters and digits (see <c>SearchTerms</c>), never raw input.</summary>
    Task<IReadOnlyList<MessageRecord>> SearchMessagesAsync(string userId, IReadOnlyList<string> words, string? chatId, long beforePos, int limit, long now);
}

/// <summary>One-use WebSocket tickets, kept in the store so any node of a cluster can redeem one.</summary>
public interface IWsTicketStore
{
    /// <summary>Stores a ticket (its hash), with the session and issue time of the access token that
    /// asked for it, unless the user already holds <paramref name="maxOpen"/>
    /// unexpired ones; drops expired tickets on the way. False when the cap is reached.</summary>
    Task<bool> AddWsTicketAsync(string ticketHash, string userId, string? sessionId, long issuedAt, long expiresAt, long now, int maxOpen);

    /// <summary>Takes a ticket out of the store (so it works once) and returns it if it has not expired.</summary>
    Task<WsTicketRecord?> RedeemWsTicketAsync(string ticketHash, long now);
}

public sealed record WsTicketRecord(string UserId, string? SessionId, long IssuedAt, long ExpiresAt);
