using System.Globalization;
using System.Security.Claims;
using Parley.Server.Auth;
using Parley.Server.Common;
using Parley.Server.Storage;

namespace Parley.Server.Messages;

/// <summary><c>GET /search</c>: the caller's readable messages that contain the words, newest first.</summary>
public static class SearchApi
{
    private const int DefaultPageSize = 20;
    private const int MaxPageSize = 100;

    public static IEndpointRouteBuilder MapSearchApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/search", Search).WithTags("Messages").RequireAuthorization().Produces<MessagePage>();
        return routes;
    }

    private static async Task<IResult> Search(string? q, string? chatId, string? limit, string? lastKey, ClaimsPrincipal principal, IChatStore store, IMessageSearchStore search,
        TimeProvider clock)
    {
        if (!SearchTerms.TryParse(q, out var words, out var problem)) return ApiError.BadRequest(problem!);
        if (!Paging.TryParseLimit(limit, DefaultPageSize, MaxPageSize, out var pageSize, out var refusal)) return refusal!;
        // The same keys as a history page's: absent, empty, null or undefined is the first page.
        if (!Paging.TryParseLastKey(lastKey, out var before, out var badKey)) return badKey!;
        var userId = principal.UserId();
        if (string.IsNullOrEmpty(chatId)) chatId = null;
        // A 1:1 chat's id names its two members in either order, here as in a path (ChatIds).
        else if (chatId.Length > 200 || await store.GetMemberAsync(chatId = Chats.ChatIds.Canonical(chatId), userId) is null) return Refusal.ChatNotFound.ToResult();

        var found = await search.SearchMessagesAsync(userId, words, chatId, before, pageSize + 1, clock.NowMs());
        var hasMore = found.Count > pageSize;
        var shown = hasMore ? found.Take(pageSize).ToList() : found;
        var members = new Dictionary<string, IReadOnlyList<MemberRecord>>();
        foreach (var id in shown.Select(m => m.ChatId).Distinct()) members[id] = await store.GetMembersAsync(id);
        return JsonBytes.Result(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("messages");
            foreach (var m in shown) MessageJson.Write(w, m, MessageStatus.ForSender(members[m.ChatId], m.SenderId, m.Seq));
            w.WriteEndArray();
            if (hasMore) w.WriteString("lastKey", shown[^1].Pos.ToString(CultureInfo.InvariantCulture));
            else w.WriteNull("lastKey");
            w.WriteEndObject();
        });
    }
}

/// <summary>Turns a search box's text into words both backends index the same way: runs of
/// letters and digits, lower-cased. Nothing else of the input reaches a query.</summary>
public static class SearchTerms
{
    public const int MaxQueryLength = 200;
    public const int MaxWords = 8;
    public const int MaxWordLength = 64;

    public static bool TryParse(string? query, out IReadOnlyList<string> words, out string? problem)
    {
        words = [];
        problem = null;
        if (string.IsNullOrWhiteSpace(query))
        {
            problem = "q is required: the words to look for.";
            return false;
        }
        if (TextLength.Exceeds(query, MaxQueryLength))
        {
            problem = $"q is limited to {MaxQueryLength} characters.";
            return false;
        }
        var found = new List<string>();
        foreach (var word in Words(query))
        {
            if (TextLength.Exceeds(word, MaxWordLength))
            {
                problem = $"Words in q are limited to {MaxWordLength} characters.";
                return false;
            }
            if (!found.Contains(word)) found.Add(word);
        }
        if (found.Count == 0)
        {
            problem = "q must contain at least one letter or digit.";
            return false;
        }
        if (found.Count > MaxWords)
        {
            problem = $"q is limited to {MaxWords} words.";
            return false;
        }
        words = found;
        return true;
    }

    /// <summary>The words of a text as search sees them: runs of letters and digits, lower-cased (a
    /// store without a text index matches messages with it too).</summary>
    public static IEnumerable<string> Words(string text)
    {
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            var inWord = i < text.Length && char.IsLetterOrDigit(text, i);
            if (inWord && start < 0) start = i;
            if (!inWord && start >= 0)
            {
                yield return text[start..i].ToLowerInvariant();
                start = -1;
            }
            // A surrogate pair is one letter: skip its second half.
            if (i < text.Length && char.IsHighSurrogate(text[i])) i++;
        }
    }
}
