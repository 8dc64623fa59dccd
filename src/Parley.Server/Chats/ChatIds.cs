namespace Parley.Server.Chats;

/// <summary>1:1 chat ids are <c>chat_{a}_{b}</c> with the two user ids in ordinal order. Clients of
/// the replaced backends build the id themselves, often as <c>chat_{me}_{them}</c>, so a chat id
/// is accepted with the two ids in either order and turned into the canonical one before use.</summary>
public static class ChatIds
{
    private const string DirectPrefix = "chat_";

    public static string Direct(string a, string b) =>
        string.CompareOrdinal(a, b) < 0 ? $"{DirectPrefix}{a}_{b}" : $"{DirectPrefix}{b}_{a}";

    /// <summary>The canonical form of a chat id: a 1:1 id with its two user ids swapped is put back
    /// in order; anything else (groups, unknown shapes) is returned as it came.</summary>
    public static string Canonical(string chatId)
    {
        if (!chatId.StartsWith(DirectPrefix, StringComparison.Ordinal)) return chatId;
        var pair = chatId.AsSpan(DirectPrefix.Length);
        var split = pair.IndexOf('_');
        // User ids hold no underscore, so a 1:1 id has exactly one after the prefix.
        if (split <= 0 || split == pair.Length - 1 || pair[(split + 1)..].Contains('_')) return chatId;
        var a = pair[..split];
        var b = pair[(split + 1)..];
        return a.SequenceCompareTo(b) <= 0 ? chatId : Direct(a.ToString(), b.ToString());
    }

    /// <summary>The other user of a 1:1 chat id that names <paramref name="userId"/>, else null.</summary>
    public static string? OtherMember(string chatId, string userId)
    {
        if (!chatId.StartsWith(DirectPrefix, StringComparison.Ordinal) || chatId.Length < DirectPrefix.Length + userId.Length * 2 + 1) return null;
        // Read in place: every send to a 1:1 chat asks, and only the answer needs a string.
        var pair = chatId.AsSpan(DirectPrefix.Length);
        if (pair.StartsWith(userId, StringComparison.Ordinal) && pair[userId.Length] == '_') return pair[(userId.Length + 1)..].ToString();
        if (pair.EndsWith(userId, StringComparison.Ordinal) && pair[^(userId.Length + 1)] == '_') return pair[..^(userId.Length + 1)].ToString();
        return null;
    }

    /// <summary>Puts a <c>{chatId}</c> route value in canonical form before the endpoint reads it,
    /// so every route that takes a chat id accepts either order.</summary>
    public static IApplicationBuilder UseCanonicalChatIds(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            var values = context.Request.RouteValues;
            if (values.TryGetValue("chatId", out var value) && value is string chatId) values["chatId"] = Canonical(chatId);
            return next(context);
        });
}
