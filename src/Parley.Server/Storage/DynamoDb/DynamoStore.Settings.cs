using Amazon.DynamoDBv2.Model;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>A member's own chat settings live on their membership item; the disappearing timer on
/// the chat item.</summary>
internal sealed partial class DynamoStore
{
    public async Task<IReadOnlyDictionary<string, ChatSettings>> GetChatSettingsAsync(string userId, string? onlyChatId)
    {
        var chatIds = onlyChatId is null ? await GetChatIdsAsync(userId).ConfigureAwait(false) : [onlyChatId];
        var members = await db.GetManyAsync(db.ChatMembers, chatIds.Select(id => Item.Key("chatId", id, "userId", userId))).ConfigureAwait(false);
        var timers = await TimersAsync(members.Select(m => m.Str("chatId"))).ConfigureAwait(false);
        return members.Where(m => timers.ContainsKey(m.Str("chatId")))
            .ToDictionary(m => m.Str("chatId"), m => ChatItems.Settings(m, timers[m.Str("chatId")]));
    }

    public async Task<IReadOnlyDictionary<string, ChatSettings>> GetMemberSettingsAsync(string chatId)
    {
        var timers = await TimersAsync([chatId]).ConfigureAwait(false);
        if (!timers.TryGetValue(chatId, out var timer)) return new Dictionary<string, ChatSettings>();
        return (await MemberItemsAsync(chatId).ConfigureAwait(false)).ToDictionary(m => m.Str("userId"), m => ChatItems.Settings(m, timer));
    }

    private async Task<Dictionary<string, int>> TimersAsync(IEnumerable<string> chatIds) =>
        (await db.GetManyAsync(db.Chats, chatIds.Distinct().Select(ChatKey), "chatId, disappearAfter").ConfigureAwait(false))
            .ToDictionary(c => c.Str("chatId"), c => (int)c.Long("disappearAfter"));

    public Task<SettingsResult> UpdateChatSettingsAsync(string chatId, string userId, ChatSettingsChange change, long now) =>
        WriteChatAsync(chatId, new SettingsResult(SettingsOutcome.NotFound, null), async w =>
        {
            var me = await MemberItemAsync(chatId, userId).ConfigureAwait(false);
            if (me is null) return new SettingsResult(SettingsOutcome.NotFound, null);
            var current = ChatItems.Settings(me, (int)w.DisappearAfterSeconds);
            var timerChanges = change.DisappearAfterSeconds is int timer && timer != current.DisappearAfterSeconds;
            if (timerChanges && w.Chat.IsGroup && me.Str("role") != MemberRoles.Admin) return new SettingsResult(SettingsOutcome.NotAllowed, null);
            var updated = change.ApplyTo(current);
            if (change.ChangesOwnSettings)
            {
                await db.UpdateAsync(db.ChatMembers, Item.Key("chatId", chatId, "userId", userId),
                    "SET mutedUntil = :mu, noPreviews = :np, pinned = :pi, archived = :ar", "attribute_exists(chatId)",
                    new()
                    {
                        [":mu"] = Item.N(updated.MutedUntil), [":np"] = Item.B(!updated.Previews), [":pi"] = Item.B(updated.Pinned), [":ar"] = Item.B(updated.Archived),
                    }).ConfigureAwait(false);
                // The member's other devices learn it through a chat event addressed to them alone.
                if (!timerChanges) w.AddEvent(EventKind.Chat, [userId], target: userId);
            }
            if (timerChanges)
            {
                var seconds = change.DisappearAfterSeconds!.Value;
                w.ChatChanges["disappearAfter"] = Item.N(seconds);
                updated = updated with { DisappearAfterSeconds = seconds };
                var recipients = await MemberIdsAsync(chatId).ConfigureAwait(false);
                w.AddEvent(EventKind.Chat, recipients);
                w.AddMessage(await SystemMessageAsync(chatId, userId, SystemActions.DisappearingMessages,
                    DisappearTimers.Describe(seconds), null, now).ConfigureAwait(false), recipients);
            }
            return new SettingsResult(SettingsOutcome.Done, updated);
        });

    public async Task<IReadOnlyList<string>> GetChatIdsEverJoinedAsync(string userId)
    {
        var past = await db.QueryAsync(new QueryRequest
        {
            TableName = db.Records,
            KeyConditionExpression = "pk = :p",
            ExpressionAttributeValues = new() { [":p"] = Item.S("past#" + userId) },
        }).ConfigureAwait(false);
        return (await GetChatIdsAsync(userId).ConfigureAwait(false)).Concat(past.Select(p => p.Str("chatId")))
            .Distinct().Order(StringComparer.Ordinal).ToList();
    }

    public async Task<IReadOnlyList<MessageRecord>> GetOwnMessagesAsync(string userId, string chatId, long afterPos, int limit)
    {
        var request = new QueryRequest
        {
            TableName = db.Messages,
            KeyConditionExpression = "chatId = :c AND pos > :after",
            FilterExpression = "kind = :m AND senderId = :u AND #t <> :system AND (attribute_not_exists(deleted) OR deleted = :no)",
            ExpressionAttributeNames = new() { ["#t"] = "type" },
            ExpressionAttributeValues = new()
            {
                [":c"] = Item.S(chatId), [":after"] = Item.N(afterPos), [":m"] = Item.S(ChatItems.EventKinds.Message), [":u"] = Item.S(userId),
                [":system"] = Item.S(MessageTypes.System), [":no"] = Item.B(false),
            },
        };
        return (await QueryUntilAsync(request, limit, _ => true).ConfigureAwait(false)).Select(ChatItems.Message).ToList();
    }
}
