using Amazon.DynamoDBv2.Model;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>WebSocket tickets: the ticket, <c>wsticket#{hash}</c> (<c>userId, sessionId, issuedAt,
/// expiresAtMs</c>), and its entry in the user's open tickets, <c>wst#{userId}</c> sk the hash,
/// which the cap counts. Expired ones are skipped by reads and removed by the table's time to live.</summary>
internal sealed partial class DynamoStore
{
    private static Dictionary<string, AttributeValue> TicketKey(string hash) => Item.Record("wsticket#" + hash, "-");

    private static Dictionary<string, AttributeValue> OpenTicketKey(string userId, string hash) => Item.Record("wst#" + userId, hash);

    public Task<bool> AddWsTicketAsync(string ticketHash, string userId, string? sessionId, long issuedAt, long expiresAt, long now, int maxOpen) =>
        UnderCapLockAsync("wstickets", userId, now, () => AddWsTicketLockedAsync(ticketHash, userId, sessionId, issuedAt, expiresAt, now, maxOpen));

    private async Task<bool> AddWsTicketLockedAsync(string ticketHash, string userId, string? sessionId, long issuedAt, long expiresAt, long now, int maxOpen)
    {
        var open = await QueryRecordsAsync("wst#" + userId).ConfigureAwait(false);
        if (open.Count(t => t.IsLive(now)) >= maxOpen) return false;
        // The entry the cap counts first, so no ticket exists uncounted.
        await db.PutAsync(db.Records, OpenTicketKey(userId, ticketHash).WithExpiry(expiresAt)).ConfigureAwait(false);
        return await db.PutNewAsync(db.Records,
            TicketKey(ticketHash).With("userId", userId).With("sessionId", sessionId).With("issuedAt", issuedAt).WithExpiry(expiresAt), "pk")
            .ConfigureAwait(false);
    }

    public async Task<WsTicketRecord?> RedeemWsTicketAsync(string ticketHash, long now)
    {
        // The conditional delete is what makes a ticket work once, on whichever node redeems it.
        var ticket = await db.DeleteAsync(db.Records, TicketKey(ticketHash), "attribute_exists(#pk)", names: new() { ["#pk"] = "pk" })
            .ConfigureAwait(false);
        if (ticket is null) return null;
        var userId = ticket.Str("userId");
        await db.DeleteAsync(db.Records, OpenTicketKey(userId, ticketHash)).ConfigureAwait(false);
        return ticket.IsLive(now) ? new WsTicketRecord(userId, ticket.StrOrNull("sessionId"), ticket.Long("issuedAt"), ticket.Long(RecordExpiry.AtMs)) : null;
    }
}
