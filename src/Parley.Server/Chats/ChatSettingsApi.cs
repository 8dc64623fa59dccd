using System.Security.Claims;
using System.Text.Json;
using Parley.Server.Auth;
using Parley.Server.Common;
using Parley.Server.Messages;
using Parley.Server.Storage;

namespace Parley.Server.Chats;

/// <summary><c>GET/PUT /chats/{chatId}/settings</c>: the caller's mute, previews, pin and archive
/// for one chat, and the chat-wide disappearing-messages timer.</summary>
public static class ChatSettingsApi
{
    public static IEndpointRouteBuilder MapChatSettingsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/chats").WithTags("Chats").RequireAuthorization();
        group.MapGet("/{chatId}/settings", Get);
        group.MapPut("/{chatId}/settings", Put);
        return routes;
    }

    private static async Task<IResult> Get(string chatId, ClaimsPrincipal principal, IParleyStore store, TimeProvider clock)
    {
        var all = await store.GetChatSettingsAsync(principal.UserId(), chatId);
        return all.TryGetValue(chatId, out var settings)
            ? JsonBytes.Result(w => ChatSettingsJson.Write(w, settings, clock.NowMs()))
            : Refusal.ChatNotFound.ToResult();
    }

    private static async Task<IResult> Put(string chatId, JsonElement body, ClaimsPrincipal principal, IParleyStore store, TimeProvider clock)
    {
        var now = clock.NowMs();
        var (change, error) = ChatSettingsJson.Parse(body, now);
        if (error is not null) return ApiError.BadRequest(error);
        var result = await store.UpdateChatSettingsAsync(chatId, principal.UserId(), change!, now);
        return result.Outcome switch
        {
            SettingsOutcome.Done => JsonBytes.Result(w => ChatSettingsJson.Write(w, result.Settings!, now)),
            SettingsOutcome.NotAllowed => ApiError.Forbidden("Only group admins can change disappearing messages."),
            _ => Refusal.ChatNotFound.ToResult(),
        };
    }
}

/// <summary>The settings object of the API, written and read.</summary>
public static class ChatSettingsJson
{
    /// <summary><c>{chatId, muted, mutedUntil, previews, pinned, archived, disappearAfterSeconds}</c>;
    /// <c>mutedUntil</c> is null when not muted or muted until turned back on.</summary>
    public static void Write(Utf8JsonWriter w, ChatSettings s, long now)
    {
        w.WriteStartObject();
        w.WriteString("chatId", s.ChatId);
        var muted = s.IsMuted(now);
        w.WriteBoolean("muted", muted);
        if (muted && s.MutedUntil != ChatSettings.MutedForever) w.WriteNumber("mutedUntil", s.MutedUntil);
        else w.WriteNull("mutedUntil");
        w.WriteBoolean("previews", s.Previews);
        w.WriteBoolean("pinned", s.Pinned);
        w.WriteBoolean("archived", s.Archived);
        w.WriteNumber("disappearAfterSeconds", s.DisappearAfterSeconds);
        w.WriteEndObject();
    }

    /// <summary>Reads a PUT body: every member optional. <c>muted</c> is true (until turned off),
    /// false, or a future time in ms; <c>disappearAfterSeconds</c> null or one of the allowed timers.</summary>
    public static (ChatSettingsChange? Change, string? Error) Parse(JsonElement body, long now)
    {
        if (body.ValueKind != JsonValueKind.Object) return (null, "The body must be a JSON object.");
        long? mutedUntil = null;
        if (body.TryGetProperty("muted", out var muted))
        {
            switch (muted.ValueKind)
            {
                case JsonValueKind.True: mutedUntil = ChatSettings.MutedForever; break;
                case JsonValueKind.False or JsonValueKind.Null: mutedUntil = 0; break;
                case JsonValueKind.Number when muted.TryGetInt64(out var until) && until > now: mutedUntil = until; break;
                default: return (null, "muted must be true, false, or a future time in milliseconds since the epoch.");
            }
        }
        if (!TryBool(body, "previews", out var previews)) return (null, "previews must be true or false.");
        if (!TryBool(body, "pinned", out var pinned)) return (null, "pinned must be true or false.");
        if (!TryBool(body, "archived", out var archived)) return (null, "archived must be true or false.");
        int? disappear = null;
        if (body.TryGetProperty("disappearAfterSeconds", out var timer))
        {
            if (timer.ValueKind == JsonValueKind.Null) disappear = 0;
            else if (timer.ValueKind == JsonValueKind.Number && timer.TryGetInt32(out var seconds) && DisappearTimers.Allowed.Contains(seconds)) disappear = seconds;
            else return (null, "disappearAfterSeconds must be null or 0 (off), 86400 (1 day), 604800 (7 days) or 7776000 (90 days).");
        }
        return (new ChatSettingsChange(mutedUntil, previews, pinned, archived, disappear), null);
    }

    private static bool TryBool(JsonElement body, string name, out bool? value)
    {
        value = null;
        if (!body.TryGetProperty(name, out var element)) return true;
        if (element.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) return false;
        value = element.GetBoolean();
        return true;
    }
}
