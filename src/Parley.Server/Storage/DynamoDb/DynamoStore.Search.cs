using Amazon.DynamoDBv2.Model;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>
/// Message search without a text index: DynamoDB has none, so the user's chats are read newest
/// first and each message's words are matched here (every searched word the start of one of its
/// words, as the SQL backends' full-text indexes match). It reads what it searches, so its cost
/// grows with the history searched; a deployment that searches heavily pairs the tables with a
/// search service fed from them.
/// </summary>
internal sealed partial class DynamoStore
{
    public async Task<IReadOnlyList<MessageRecord>> SearchMessagesAsync(string userId, IReadOnlyList<string> words, string? chatId, long beforePos, int limit, long now)
    {
        var chatIds = chatId is null ? await GetChatIdsAsync(userId).ConfigureAwait(false) : [chatId];
        var members = await db.GetManyAsync(db.ChatMembers, chatIds.Select(id => Item.Key("chatId", id, "userId", userId))).ConfigureAwait(false);
        var found = new List<MessageRecord>();
        foreach (var member in members)
        {
            var id = member.Str("chatId");
            var from = member.Long("joinedPos") + 1;
            var to = beforePos - 1;
            if (to < from) continue;
            var hidden = await HiddenAsync(userId, id).ConfigureAwait(false);
            var request = new QueryRequest
            {
                TableName = db.Messages,
                KeyConditionExpression = "chatId = :c AND pos BETWEEN :from AND :to",
                FilterExpression = "kind = :m AND #t <> :system AND (attribute_not_exists(deleted) OR deleted = :no) AND (attribute_not_exists(expiresAtMs) OR expiresAtMs > :now)",
                ExpressionAttributeNames = new() { ["#t"] = "type" },
                ExpressionAttributeValues = new()
                {
                    [":c"] = Item.S(id), [":from"] = Item.N(from), [":to"] = Item.N(to), [":m"] = Item.S(ChatItems.EventKinds.Message),
                    [":system"] = Item.S(MessageTypes.System), [":no"] = Item.B(false), [":now"] = Item.N(now),
                },
                ScanIndexForward = false,
            };
            var matches = await QueryUntilAsync(request, limit,
                item => !hidden.Contains(item.Long("pos")) && Matches(item.StrOrNull("content"), words)).ConfigureAwait(false);
            found.AddRange(matches.Select(ChatItems.Message));
        }
        return found.OrderByDescending(m => m.Pos).Take(limit).ToList();
    }

    /// <summary>Whether every word starts one of the text's words (runs of letters and digits, lower-cased).</summary>
    private static bool Matches(string? content, IReadOnlyList<string> words)
    {
        if (string.IsNullOrEmpty(content)) return false;
        var tokens = Messages.SearchTerms.Words(content).ToList();
        return words.All(word => tokens.Any(token => token.StartsWith(word, StringComparison.Ordinal)));
    }
}
