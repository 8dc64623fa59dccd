using System.Security.Claims;
using System.Text.Json;
using Parley.Server.Auth;
using Parley.Server.Chats;
using Parley.Server.Common;
using Parley.Server.Storage;

namespace Parley.Server.Users;

/// <summary><c>GET /users/me/export</c>: the caller's profile, chats and own messages (with the ids of
/// their media) as one JSON document, written as it is read so a long history never sits in memory.
/// Deleted and expired messages are not in it. A few exports per user per hour.</summary>
public static class ExportApi
{
    private const int PageSize = 500;
    public const int ExportsPerHour = 3;

    public static IEndpointRouteBuilder MapExportApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/users/me/export", Export).WithTags("Users").RequireAuthorization().Produces<AccountExport>();
        return routes;
    }

    private static async Task<IResult> Export(ClaimsPrincipal principal, IParleyStore store, ExportThrottle throttle, TimeProvider clock, HttpContext http)
    {
        var userId = principal.UserId();
        var user = await store.GetUserAsync(userId);
        if (user is null) return ApiError.NotFound("No such user.");
        if (await throttle.TakeAsync(userId) is { } retryAfter) return ApiError.TooManyRequests(retryAfter, $"At most {ExportsPerHour} exports an hour; try again later.");
        var now = clock.NowMs();
        var chatIds = await store.GetChatIdsEverJoinedAsync(userId);
        var views = (await store.ListChatsAsync(userId)).ToDictionary(v => v.Chat.Id);
        var settings = await store.GetChatSettingsAsync(userId, null);

        var response = http.Response;
        response.ContentType = "application/json; charset=utf-8";
        response.Headers.ContentDisposition = $"attachment; filename=\"parley-export-{now}.json\"";
        await using var w = new Utf8JsonWriter(response.Body);
        w.WriteStartObject();
        w.WriteNumber("exportedAt", now);
        w.WritePropertyName("profile");
        // Into an element first: serializing straight into the writer would flush synchronously.
        JsonSerializer.SerializeToElement(Profile.From(user), AppJson.Options).WriteTo(w);

        w.WriteStartArray("chats");
        foreach (var chatId in chatIds)
        {
            var chat = views.TryGetValue(chatId, out var view) ? view.Chat : await store.GetChatAsync(chatId);
            if (chat is null) continue;
            w.WriteStartObject();
            w.WriteString("id", chat.Id);
            w.WriteBoolean("isGroup", chat.IsGroup);
            if (chat.IsGroup) w.WriteString("name", chat.Name);
            w.WriteBoolean("member", view is not null);
            if (view is not null)
            {
                w.WriteString("role", view.Me.Role);
                w.WriteNumber("joinedAt", view.Me.JoinedAt);
                w.WriteStartArray("members");
                foreach (var member in view.Members) w.WriteStringValue(member.UserId);
                w.WriteEndArray();
                w.WritePropertyName("settings");
                ChatSettingsJson.Write(w, settings.GetValueOrDefault(chat.Id) ?? ChatSettings.Default(chat.Id), now);
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();

        var mediaIds = new SortedSet<string>(StringComparer.Ordinal);
        if (user.PhotoMediaId is not null) mediaIds.Add(user.PhotoMediaId);
        w.WriteStartArray("messages");
        var withHidden = await store.ChatsWithHiddenMessagesAsync(userId);
        foreach (var chatId in chatIds)
        {
            // Messages the user deleted for themself are gone for them, in the export too.
            var hidden = withHidden.Contains(chatId)
                ? (await store.GetHiddenMessagesAsync(userId, chatId)).Select(h => h.Pos).ToHashSet()
                : [];
            var after = 0L;
            while (true)
            {
                var page = await store.GetOwnMessagesAsync(userId, chatId, after, PageSize);
                foreach (var m in page.Where(m => !hidden.Contains(m.Pos))) WriteMessage(w, m, mediaIds);
                if (page.Count < PageSize) break;
                after = page[^1].Pos;
                await w.FlushAsync(http.RequestAborted);
            }
        }
        w.WriteEndArray();
        w.WriteStartArray("media");
        foreach (var id in mediaIds) w.WriteStringValue(id);
        w.WriteEndArray();
        w.WriteEndObject();
        await w.FlushAsync(http.RequestAborted);
        return Results.Empty;
    }

    private static void WriteMessage(Utf8JsonWriter w, MessageRecord m, ISet<string> mediaIds)
    {
        w.WriteStartObject();
        w.WriteString("id", m.Id);
        w.WriteString("chatId", m.ChatId);
        w.WriteNumber("seq", m.Seq);
        w.WriteString("type", m.Type);
        w.WriteString("content", m.Content);
        w.WriteNumber("timestamp", m.Timestamp);
        if (m.EditedAt is long edited) w.WriteNumber("editedAt", edited);
        if (m.ReplyTo is not null) w.WriteString("replyTo", m.ReplyTo);
        if (m.MediaJson is not null)
        {
            using var media = JsonDocument.Parse(m.MediaJson);
            if (media.RootElement.TryGetProperty("mediaId", out var id) && id.GetString() is { } mediaId) mediaIds.Add(mediaId);
            w.WritePropertyName("media");
            media.RootElement.WriteTo(w);
        }
        w.WriteEndObject();
    }
}

/// <summary>A few exports per user per hour (an export reads a user's whole history), counted in
/// the store, so every node refuses the same user at once and a restart forgets nothing.</summary>
public sealed class ExportThrottle(ISecurityStore store, TimeProvider clock)
{
    public static readonly TimeSpan Window = TimeSpan.FromHours(1);

    /// <summary>Null when the export may go ahead, else how long to wait.</summary>
    public Task<TimeSpan?> TakeAsync(string userId) =>
        store.TakeAllowanceAsync("export:" + userId, Window, ExportApi.ExportsPerHour, clock);
}
