using System.Globalization;
using System.Security.Claims;
using Parley.Server.Auth;
using Parley.Server.Common;
using Parley.Server.Messages;
using Parley.Server.Storage;

namespace Parley.Server.Chats;

public sealed record CreateChatRequest(string? ParticipantId);
public sealed record MediaReference(string? MediaId, string? FileName);
public sealed record SendMessageRequest(string? Content, string? ClientMessageId, string? Type, string? ReplyTo, MediaReference? Media);
public sealed record MarkReadRequest(string? MessageId);

public static class ChatsApi
{
    private const int DefaultPageSize = 50;
    private const int MaxPageSize = 100;

    public static IEndpointRouteBuilder MapChatsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/chats").WithTags("Chats").RequireAuthorization();
        group.MapGet("/", List).Produces<List<ChatSummary>>();
        group.MapPost("/", Create).Produces<ChatSummary>(StatusCodes.Status201Created).Produces<ChatSummary>();
        group.MapGet("/{chatId}", Get).Produces<ChatSummary>();
        group.MapGet("/{chatId}/messages", History).Produces<MessagePage>();
        group.MapPost("/{chatId}/messages", Send).Produces<Message>(StatusCodes.Status201Created);
        group.MapPost("/{chatId}/read", MarkRead).Produces(StatusCodes.Status204NoContent);
        return routes;
    }

    private static async Task<IResult> List(ClaimsPrincipal principal, ChatSummaries summaries) =>
        JsonBytes.Result(await summaries.RenderListAsync(principal.UserId()));

    private static async Task<IResult> Create(CreateChatRequest body, ClaimsPrincipal principal, MessageService messages, IChatStore store, ChatSummaries summaries, TimeProvider clock)
    {
        if (string.IsNullOrWhiteSpace(body.ParticipantId)) return ApiError.BadRequest("participantId is required.");
        var userId = principal.UserId();
        var (chatId, refusal) = await messages.DirectChatAsync(userId, body.ParticipantId, createIfMissing: false);
        if (refusal is not null) return refusal.ToResult();
        var (_, created) = await store.GetOrCreateDirectChatAsync(chatId!, userId, body.ParticipantId, clock.NowMs());
        var summary = await summaries.RenderAsync(chatId!, userId);
        return JsonBytes.Result(summary!, created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
    }

    private static async Task<IResult> Get(string chatId, ClaimsPrincipal principal, ChatSummaries summaries)
    {
        var summary = await summaries.RenderAsync(chatId, principal.UserId());
        return summary is null ? Refusal.ChatNotFound.ToResult() : JsonBytes.Result(summary);
    }

    /// <summary>A page of history, newest first; shared with the room routes.</summary>
    internal static async Task<IResult> History(string chatId, string? limit, string? lastKey, ClaimsPrincipal principal, IChatStore store)
    {
        if (!Paging.TryParseLimit(limit, DefaultPageSize, MaxPageSize, out var pageSize, out var refusal)) return refusal!;
        if (!Paging.TryParseLastKey(lastKey, out var before, out refusal)) return refusal!;
        // The members are needed for each message's status anyway: the reader's own row among
        // them is the membership check, one query fewer than asking for it apart.
        var (members, page) = await store.GetHistoryPageAsync(chatId, principal.UserId(), before, pageSize + 1);
        if (page is null) return Refusal.ChatNotFound.ToResult();
        var hasMore = page.Count > pageSize;
        var shown = hasMore ? page.Take(pageSize).ToList() : page;
        return JsonBytes.Result(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("messages");
            foreach (var m in shown) MessageJson.Write(w, m, MessageStatus.ForSender(members, m.SenderId, m.Seq));
            w.WriteEndArray();
            if (hasMore) w.WriteString("lastKey", shown[^1].Pos.ToString(CultureInfo.InvariantCulture));
            else w.WriteNull("lastKey");
            w.WriteEndObject();
        });
    }

    internal static async Task<IResult> Send(string chatId, SendMessageRequest body, ClaimsPrincipal principal, MessageService messages)
    {
        var (result, refusal) = await messages.SendAsync(principal.UserId(),
            new SendCommand(chatId, null, body.Content, body.ClientMessageId, body.Type, body.ReplyTo)
            {
                MediaId = body.Media?.MediaId,
                FileName = body.Media?.FileName,
            }, originConnectionId: null);
        if (refusal is not null) return refusal.ToResult();
        // A retry answers with the original as it is now, receipts included; a new message is "sent".
        var status = result!.Outcome == SendOutcome.Duplicate ? await messages.SenderStatusAsync(result.Message!) : MessageStatus.Sent;
        return JsonBytes.Result(w => MessageJson.Write(w, result.Message!, status), StatusCodes.Status201Created);
    }

    // The body is optional: no body (or {}) means "everything up to the newest message".
    private static async Task<IResult> MarkRead(string chatId, MarkReadRequest? body, ClaimsPrincipal principal, MessageService messages)
    {
        var messageId = body?.MessageId;
        var refusal = await messages.MarkReadAsync(principal.UserId(), chatId, messageId);
        return refusal?.ToResult() ?? TypedResults.NoContent();
    }
}
