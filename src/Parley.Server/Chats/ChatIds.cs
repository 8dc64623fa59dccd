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
    public static string? OtherMember(string chatId, string userId) =>
        TryOtherMember(chatId, userId, out var other) ? other.ToString() : null;

    /// <summary>The other member's id, read in place from a 1:1 chat's id that names
    /// <paramref name="userId"/>; false for any other id. Every send to a 1:1 chat asks, and the
    /// block list it looks up is found by these characters, without a string.</summary>
    public static bool TryOtherMember(string chatId, string userId, out ReadOnlySpan<char> other)
    {
        other = default;
        if (!chatId.StartsWith(DirectPrefix, StringComparison.Ordinal) || chatId.Length < DirectPrefix.Length + userId.Length * 2 + 1) return false;
        var pair = chatId.AsSpan(DirectPrefix.Length);
        if (pair.StartsWith(userId, StringComparison.Ordinal) && pair[userId.Length] == '_') other = pair[(userId.Length + 1)..];
        else if (pair.EndsWith(userId, StringComparison.Ordinal) && pair[^(userId.Length + 1)] == '_') other = pair[..^(userId.Length + 1)];
        else return false;
        return true;
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
