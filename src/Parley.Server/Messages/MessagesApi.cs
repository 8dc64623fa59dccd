using System.Security.Claims;
using Parley.Server.Auth;
using Parley.Server.Common;
using Parley.Server.Storage;

namespace Parley.Server.Messages;

public sealed record UpdateStatusRequest(string? Status);
public sealed record EditMessageRequest(string? Content);

public static class MessagesApi
{
    public static IEndpointRouteBuilder MapMessagesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/messages").WithTags("Messages").RequireAuthorization();
        group.MapPut("/{messageId}/status", UpdateStatus).Produces<StatusAnswer>();
        group.MapGet("/{messageId}/receipts", Receipts).Produces<List<Receipt>>();
        group.MapPatch("/{messageId}", Edit).Produces<Message>();
        group.MapDelete("/{messageId}", Delete).Produces(StatusCodes.Status204NoContent);
        return routes;
    }

    private static async Task<IResult> UpdateStatus(string messageId, UpdateStatusRequest body, ClaimsPrincipal principal, MessageService messages)
    {
        var (status, refusal) = await messages.UpdateStatusAsync(principal.UserId(), messageId, body.Status);
        return refusal?.ToResult() ?? TypedResults.Json(new StatusAnswer(messageId, status!), AppJson.Options);
    }

    private static async Task<IResult> Edit(string messageId, EditMessageRequest body, ClaimsPrincipal principal, IChatStore store,
        MessageService messages, TimeProvider clock)
    {
        var error = messages.CheckContent(body.Content);
        if (error is not null) return error.ToResult();
        var change = await store.EditMessageAsync(messageId, principal.UserId(), body.Content!, clock.NowMs());
        return await Answer(change, messages);
    }

    private static async Task<IResult> Delete(string messageId, string? @for, ClaimsPrincipal principal, IChatStore store, MessageService messages,
        TimeProvider clock)
    {
        switch (@for ?? "me")
        {
            case "everyone":
                var change = await store.DeleteMessageForEveryoneAsync(messageId, principal.UserId(), clock.NowMs());
                return change.Outcome == ChangeOutcome.Done ? TypedResults.NoContent() : await Answer(change, messages);
            case "me":
                return await store.HideMessageAsync(messageId, principal.UserId()) == ChangeOutcome.Done
                    ? TypedResults.NoContent()
                    : Refusal.MessageNotFound.ToResult();
            default:
                return ApiError.BadRequest("for must be 'everyone' or 'me'.");
        }
    }

    private static async Task<IResult> Answer(MessageChange change, MessageService messages)
    {
        switch (change.Outcome)
        {
            case ChangeOutcome.Done:
                var message = change.Message!;
                var status = await messages.SenderStatusAsync(message);
                return JsonBytes.Result(w => MessageJson.Write(w, message, status));
            case ChangeOutcome.NotSender:
                return ApiError.Forbidden("Only the sender can change this message.");
            case ChangeOutcome.NotChangeable:
                return ApiError.Status(StatusCodes.Status409Conflict, "This message can no longer be changed.");
            default:
                return Refusal.MessageNotFound.ToResult();
        }
    }

    private static async Task<IResult> Receipts(string messageId, ClaimsPrincipal principal, IChatStore store)
    {
        var message = await store.GetMessageAsync(messageId);
        var me = message is null ? null : await store.GetMemberAsync(message.ChatId, principal.UserId());
        if (message is null || me is null || !me.Sees(message)) return Refusal.MessageNotFound.ToResult();
        // A message the caller deleted for themself is gone for them, its info too.
        if ((await store.GetHiddenMessagesAsync(me.UserId, message.ChatId)).Any(h => h.Pos == message.Pos)) return Refusal.MessageNotFound.ToResult();
        var members = await store.GetMembersAsync(message.ChatId);
        return JsonBytes.Result(w =>
        {
            w.WriteStartArray();
            foreach (var member in members)
            {
                // Members who joined after the message never received it.
                if (member.UserId == message.SenderId || !member.Sees(message)) continue;
                var (status, timestamp) = MessageStatus.ForMember(member, message);
                w.WriteStartObject();
                w.WriteString("userId", member.UserId);
                w.WriteString("status", status);
                w.WriteNumber("timestamp", timestamp);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });
    }
}
