using System.Buffers.Text;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Parley.Server.Auth;
using Parley.Server.Common;
using Parley.Server.Storage;

namespace Parley.Server.Realtime;

/// <summary>
/// One-use WebSocket tickets: <c>POST /ws/ticket</c> gives a random ticket valid for 30 s, and
/// <c>/ws?ticket=</c> spends it. A browser cannot put an Authorization header on a WebSocket, and a
/// token in the URL ends up in consoles and logs; a spent or expired ticket is worth nothing there.
/// Only the ticket's hash is stored, in the shared store, so any node of a cluster can redeem it once.
/// </summary>
/// <summary>A one-use ticket for <c>/ws?ticket=</c>, so a browser keeps its access token out of URLs.</summary>
public sealed record WsTicketAnswer(string Ticket, int ExpiresIn, long ExpiresAt);

public static class WsTickets
{
    public const int ValidSeconds = 30;
    /// <summary>Unspent tickets a user may hold at once (a reconnecting client needs one at a time).</summary>
    public const int MaxOpenPerUser = 20;

    public static IEndpointRouteBuilder MapWsTickets(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/ws/ticket", Issue).WithTags("Realtime").RequireAuthorization().Produces<WsTicketAnswer>();
        return routes;
    }

    private static async Task<IResult> Issue(ClaimsPrincipal principal, IWsTicketStore store, TimeProvider clock)
    {
        // The ticket carries its access token's session and issue time, so ending that session
        // (logout) or all of the user's sessions ends the ticket and the socket it opens too.
        var ticket = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var now = clock.NowMs();
        var expiresAt = now + ValidSeconds * 1000L;
        if (!await store.AddWsTicketAsync(Hash(ticket), principal.UserId(), principal.SessionId(), principal.TokenIssuedAt(), expiresAt, now, MaxOpenPerUser))
        {
            // The oldest unused ticket lapses within its lifetime, and with it the refusal.
            return ApiError.TooManyRequests(TimeSpan.FromSeconds(ValidSeconds), "Too many unused WebSocket tickets; use one or wait 30 seconds.");
        }
        return TypedResults.Json(new WsTicketAnswer(ticket, ValidSeconds, expiresAt), AppJson.Options);
    }

    /// <summary>The ticket, spent; null when unknown, spent or expired, or when the session of the
    /// access token that asked for it has ended since.</summary>
    public static async Task<WsTicketRecord?> RedeemAsync(string ticket, IWsTicketStore store, SessionRevocations revocations, TimeProvider clock)
    {
        if (ticket.Length is 0 or > 100) return null;
        var record = await store.RedeemWsTicketAsync(Hash(ticket), clock.NowMs());
        if (record is null || revocations.IsRevoked(record.UserId, record.SessionId, record.IssuedAt)) return null;
        return record;
    }

    private static string Hash(string ticket) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ticket)));
}
