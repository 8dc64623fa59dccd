using System.Security.Claims;
using Parley.Server.Auth;
using Parley.Server.Common;
using Parley.Server.Messages;
using Parley.Server.Storage;

namespace Parley.Server.Chats;

public sealed record CreateRoomRequest(string[]? Participants);
public sealed record RoomMessageRequest(string? RoomId, string? Content, string? ClientMessageId, string? Type, string? ReplyTo, MediaReference? Media);

/// <summary>The phone-account backend's chat routes. A room is a 1:1 chat (its <c>roomId</c> is the
/// chat id), so receipts, sync and the WebSocket work on rooms as on any chat, with the same
/// membership checks.</summary>
public static class RoomsApi
{
    public static IEndpointRouteBuilder MapRoomsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/chat").WithTags("Rooms").RequireAuthorization();
        group.MapPost("/rooms", Create);
        group.MapGet("/rooms", List);
        group.MapPost("/messages", Send);
        group.MapGet("/messages", History);
        return routes;
    }

    private static async Task<IResult> Create(CreateRoomRequest body, ClaimsPrincipal principal, MessageService messages, IChatStore store,
        ChatSummaries summaries, TimeProvider clock)
    {
        var userId = principal.UserId();
        if (body.Participants is null) return ApiError.BadRequest("participants is required: your user id and the other user's.");
        if (body.Participants.Any(string.IsNullOrWhiteSpace)) return ApiError.BadRequest("participants must be user ids.");
        var ids = body.Participants.Distinct(StringComparer.Ordinal).ToList();
        // The caller is one of the two; a client may also name only the other user.
        var others = ids.Where(id => id != userId).ToList();
        if (ids.Count > 2 || others.Count != 1 || (ids.Count == 2 && !ids.Contains(userId)))
        {
            return ApiError.BadRequest("participants must be your user id and one other user's.");
        }
        var (chatId, refusal) = await messages.DirectChatAsync(userId, others[0], createIfMissing: false);
        if (refusal is not null) return refusal.ToResult();
        var (_, created) = await store.GetOrCreateDirectChatAsync(chatId!, userId, others[0], clock.NowMs());
        var summary = await summaries.RenderAsync(chatId!, userId, asRoom: true);
        return JsonBytes.Result(summary!, created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
    }

    private static async Task<IResult> List(ClaimsPrincipal principal, ChatSummaries summaries) =>
        JsonBytes.Result(await summaries.RenderListAsync(principal.UserId(), roomsOnly: true));

    private static Task<IResult> Send(RoomMessageRequest body, ClaimsPrincipal principal, MessageService messages)
    {
        if (string.IsNullOrWhiteSpace(body.RoomId)) return Task.FromResult(ApiError.BadRequest("roomId is required."));
        return ChatsApi.Send(ChatIds.Canonical(body.RoomId), new SendMessageRequest(body.Content, body.ClientMessageId, body.Type, body.ReplyTo, body.Media),
            principal, messages);
    }

    private static Task<IResult> History(string? roomId, string? limit, string? lastKey, ClaimsPrincipal principal, IChatStore store)
    {
        if (string.IsNullOrWhiteSpace(roomId)) return Task.FromResult(ApiError.BadRequest("roomId is required."));
        return ChatsApi.History(ChatIds.Canonical(roomId), limit, lastKey, principal, store);
    }
}
