using System.Globalization;
using System.Security.Claims;
using Parley.Server.Auth;
using Parley.Server.Common;
using Parley.Server.Realtime.Bus;
using Parley.Server.Storage;

namespace Parley.Server.Realtime;

public static class SyncApi
{
    private const int DefaultLimit = 100;
    public const string UnknownCursor = "The cursor is unknown to this server; reload the chats and history, then sync from the cursor /sync gives without since.";
    public const string MalformedCursor = "since is not a cursor: send back a cursor exactly as this server gave it (from /sync or an event's cursor), or leave since out to get the current one.";

    public static IEndpointRouteBuilder MapSyncApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/sync", Sync).WithTags("Sync").RequireAuthorization().Produces<SyncAnswer>();
        return routes;
    }

    private static async Task<IResult> Sync(string? since, string? limit, ClaimsPrincipal principal, IEventLog store, EventReader events, IClusterBus bus)
    {
        if (!Paging.TryParseLimit(limit, DefaultLimit, EventReader.MaxPage, out var pageSize, out var refusal)) return refusal!;
        var current = await store.CurrentCursorAsync();
        if (string.IsNullOrEmpty(since))
        {
            return JsonBytes.Result(w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("events");
                w.WriteEndArray();
                w.WriteString("cursor", current.ToString());
                w.WriteBoolean("hasMore", false);
                w.WriteEndObject();
            });
        }
        if (!StreamCursor.TryParse(since, out var position)) return ApiError.BadRequest(MalformedCursor);
        if (!position.IsWithin(current)) return ApiError.Status(StatusCodes.Status410Gone, UnknownCursor);
        // While this node's claim on the user (a socket opening) is not yet visible to the other
        // nodes, what they commit may not be announced here: read only once it is.
        await bus.WaitClaimedAsync(principal.UserId());
        return await events.SyncAnswerAsync(principal.UserId(), position, pageSize);
    }

}
