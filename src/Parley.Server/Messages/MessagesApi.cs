using System.Security.Claims;
using Parley.Server.Auth;
using Parley.Server.Common;
using Parley.Server.Storage;

namespace Parley.Server.Messages;

public sealed record UpdateStatusRequest(string? Status);

public static class MessagesApi
{
    public static IEndpointRouteBuilder MapMessagesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/messages").WithTags("Messages").RequireAuthorization();
        group.MapPut("/{messageId}/status", UpdateStatus);
        group.MapGet("/{messageId}/receipts", Receipts);
        return routes;
    }

    private static async Task<IResult> UpdateStatus(string messageId, UpdateStatusRequest body, ClaimsPrincipal principal, MessageService messages)
    {
        var (status, refusal) = await messages.UpdateStatusAsync(principal.UserId(), messageId, body.Status);
        return refusal?.ToResult() ?? TypedResults.Json(new { messageId, status }, AppJson.Options);
    }

    private static async Task<IResult> Receipts(string messageId, ClaimsPrincipal principal, IParleyStore store)
    {
        var message = await store.GetMessageAsync(messageId);
        var me = message is null ? null : await store.GetMemberAsync(message.ChatId, principal.UserId());
        if (message is null || me is null || message.Seq <= me.JoinedSeq) return Refusal.MessageNotFound.ToResult();
        var members = await store.GetMembersAsync(message.ChatId);
        return JsonBytes.Result(w =>
        {
            w.WriteStartArray();
            foreach (var member in members)
            {
                // Members who joined after the message never received it.
                if (member.UserId == message.SenderId || member.JoinedSeq >= message.Seq) continue;
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
