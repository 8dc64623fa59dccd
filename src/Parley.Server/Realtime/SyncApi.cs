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
        if (!IsKnown(since, current, out var position)) return ApiError.Status(StatusCodes.Status410Gone, UnknownCursor);
        // While this node's claim on the user (a socket opening) is not yet visible to the other
        // nodes, what they commit may not be announced here: read only once it is.
        await bus.WaitClaimedAsync(principal.UserId());
        return await events.SyncAnswerAsync(principal.UserId(), position, pageSize);
    }

    /// <summary>A cursor is known when it parses and does not lie beyond what this store has handed out.</summary>
    public static bool IsKnown(string cursor, StreamCursor current, out StreamCursor position) =>
        StreamCursor.TryParse(cursor, out position) && position.IsWithin(current);
}
