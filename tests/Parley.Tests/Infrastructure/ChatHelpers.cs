using System.Net;
using System.Text.Json;

namespace Parley.Tests.Infrastructure;

/// <summary>Small steps the chat tests repeat, each asserting the answer it needs so a failure points at the step.</summary>
public static class ChatHelpers
{
    /// <summary>The 1:1 chat id the contract promises: <c>chat_{a}_{b}</c> with the ids in ordinal order.</summary>
    public static string DirectChatId(string a, string b) =>
        string.CompareOrdinal(a, b) < 0 ? $"chat_{a}_{b}" : $"chat_{b}_{a}";

    public static string? Str(this JsonElement json, string name) =>
        json.ValueKind == JsonValueKind.Object && json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>A string member, or "&lt;missing&gt;" so lists of them compare without nulls.</summary>
    public static string Field(this JsonElement json, string name) => json.Str(name) ?? "<missing>";

    public static long Long(this JsonElement json, string name) => json.GetProperty(name).GetInt64();

    public static bool Bool(this JsonElement json, string name) => json.GetProperty(name).GetBoolean();

    public static List<string> Strings(this JsonElement json, string name) =>
        json.GetProperty(name).EnumerateArray().Select(e => e.GetString()!).ToList();

    public static void AssertStatus(this ApiClient.Response response, HttpStatusCode expected, string step)
    {
        if (response.Status != expected)
        {
            throw new Xunit.Sdk.XunitException($"{step}: expected HTTP {(int)expected} but got {(int)response.Status} {response.Json}");
        }
    }

    public static async Task<string> OpenChatWithAsync(this TestUser me, TestUser other)
    {
        var response = await me.Api.PostAsync("/chats", new { participantId = other.Id });
        if (response.Status is not (HttpStatusCode.Created or HttpStatusCode.OK))
        {
            throw new Xunit.Sdk.XunitException($"POST /chats: got {(int)response.Status} {response.Json}");
        }
        return response.Json.Str("id")!;
    }

    public static async Task<JsonElement> SendTextAsync(this TestUser me, string chatId, string content, string? clientMessageId = null)
    {
        object body = clientMessageId is null ? new { content } : new { content, clientMessageId };
        var response = await me.Api.PostAsync($"/chats/{chatId}/messages", body);
        response.AssertStatus(HttpStatusCode.Created, $"POST /chats/{chatId}/messages '{content}'");
        return response.Json;
    }

    public static async Task<string> CreateGroupAsync(this TestUser me, string name, params TestUser[] members)
    {
        var response = await me.Api.PostAsync("/groups", new { name, memberIds = members.Select(m => m.Id).ToArray() });
        response.AssertStatus(HttpStatusCode.Created, "POST /groups");
        return response.Json.Str("id")!;
    }

    public static async Task<JsonElement> ChatAsync(this TestUser me, string chatId)
    {
        var response = await me.Api.GetAsync($"/chats/{chatId}");
        response.AssertStatus(HttpStatusCode.OK, $"GET /chats/{chatId}");
        return response.Json;
    }

    public static async Task<List<JsonElement>> ChatListAsync(this TestUser me)
    {
        var response = await me.Api.GetAsync("/chats");
        response.AssertStatus(HttpStatusCode.OK, "GET /chats");
        return response.Json.EnumerateArray().ToList();
    }

    /// <summary>The whole history, newest first, following <c>lastKey</c> until it is null.</summary>
    public static async Task<List<JsonElement>> HistoryAsync(this TestUser me, string chatId, int limit = 100)
    {
        var all = new List<JsonElement>();
        string? lastKey = null;
        for (var page = 0; page < 1000; page++)
        {
            var path = $"/chats/{chatId}/messages?limit={limit}" + (lastKey is null ? "" : "&lastKey=" + Uri.EscapeDataString(lastKey));
            var response = await me.Api.GetAsync(path);
            response.AssertStatus(HttpStatusCode.OK, $"GET {path}");
            all.AddRange(response.Json.GetProperty("messages").EnumerateArray());
            var key = response.Json.GetProperty("lastKey");
            if (key.ValueKind == JsonValueKind.Null) return all;
            lastKey = key.ValueKind == JsonValueKind.String ? key.GetString() : key.GetRawText();
        }
        throw new Xunit.Sdk.XunitException("History paging did not end after 1000 pages.");
    }

    /// <summary>The messages of a chat's history in seq order (oldest first).</summary>
    public static async Task<List<JsonElement>> MessagesOldestFirstAsync(this TestUser me, string chatId)
    {
        var history = await me.HistoryAsync(chatId);
        history.Reverse();
        return history;
    }

    /// <summary>The cursor a fresh client starts from (GET /sync without since).</summary>
    public static async Task<string> CurrentCursorAsync(this TestUser me)
    {
        var response = await me.Api.GetAsync("/sync");
        response.AssertStatus(HttpStatusCode.OK, "GET /sync");
        return CursorOf(response.Json.GetProperty("cursor"));
    }

    public static string CursorOf(JsonElement cursor) =>
        cursor.ValueKind == JsonValueKind.String ? cursor.GetString()! : cursor.GetRawText();

    public sealed record SyncResult(List<JsonElement> Events, string Cursor, int Pages, bool SawHasMore);

    /// <summary>Every event since the cursor, following pages while <c>hasMore</c>.</summary>
    public static async Task<SyncResult> SyncAllAsync(this TestUser me, string since, int? limit = null)
    {
        var events = new List<JsonElement>();
        var cursor = since;
        var sawHasMore = false;
        for (var page = 1; page <= 1000; page++)
        {
            var path = "/sync?since=" + Uri.EscapeDataString(cursor) + (limit is null ? "" : $"&limit={limit}");
            var response = await me.Api.GetAsync(path);
            response.AssertStatus(HttpStatusCode.OK, $"GET {path}");
            var pageEvents = response.Json.GetProperty("events").EnumerateArray().ToList();
            events.AddRange(pageEvents);
            cursor = CursorOf(response.Json.GetProperty("cursor"));
            var hasMore = response.Json.GetProperty("hasMore").GetBoolean();
            if (!hasMore) return new SyncResult(events, cursor, page, sawHasMore);
            sawHasMore = true;
            if (pageEvents.Count == 0) throw new Xunit.Sdk.XunitException($"GET {path}: hasMore is true on an empty page.");
        }
        throw new Xunit.Sdk.XunitException("Sync paging did not end after 1000 pages.");
    }

    public static Task<WsClient> ConnectAsync(this TestUser me, ParleyServer server, string? since = null, string? name = null) =>
        WsClient.ConnectAsync(server, me.AccessToken, since, name: name ?? me.Name);

    public static string NewClientMessageId() => "c-" + Guid.NewGuid().ToString("N")[..12];
}
