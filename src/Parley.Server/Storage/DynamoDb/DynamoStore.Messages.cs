using Amazon.DynamoDBv2.Model;
using Parley.Server.Storage.Rules;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>
/// Messages. A send claims its client message id first (<c>pk = "idem#…"</c>), then stores the
/// message in the chat's stream, then records the message's position on the claim: a retry finds
/// the original through it. A claim left without a position (its send was cut short) is searched
/// for its message, and taken over once <see cref="ClaimDeadline"/> has passed.
/// Replies are listed under <c>pk = "replies#" + messageId</c> so an edit or delete finds the quotes
/// to change without reading the chat, and <c>pk = "mediachat#" + mediaId, sk = chatId</c> counts
/// the chat's messages that show an upload (the chat's members may download it while one does).
/// </summary>
internal sealed partial class DynamoStore
{
    /// <summary>A send runs whole in its chat's lane, so sends are stored in the order they were made.</summary>
    public Task<SendResult> SendMessageAsync(NewMessage m, string? originConnectionId) =>
        InLaneAsync(m.ChatId, () => SendInLaneAsync(m, originConnectionId));

    private async Task<SendResult> SendInLaneAsync(NewMessage m, string? originConnectionId)
    {
        var member = await MemberItemAsync(m.ChatId, m.SenderId).ConfigureAwait(false);
        if (member is null) return new SendResult(SendOutcome.NotMember, null);
        var idem = m.ClientMessageId is null ? null : Item.Record($"idem#{m.ChatId}#{m.SenderId}#{m.ClientMessageId}", "-");
        if (idem is not null && await ClaimClientIdAsync(idem, m).ConfigureAwait(false) is { } original)
        {
            return new SendResult(SendOutcome.Duplicate, original);
        }
        var replied = m.ReplyTo is null ? null : await ReadMessageItemAsync(m.ReplyTo).ConfigureAwait(false);
        if (m.ReplyTo is not null && (replied is null || replied.ChatId != m.ChatId))
        {
            if (idem is not null) await db.DeleteAsync(db.Records, idem).ConfigureAwait(false);
            return new SendResult(SendOutcome.ReplyNotFound, null);
        }
        var quote = replied is null ? null : MessageRules.Quote(replied.Content, replied.Deleted);
        if (m.MediaId is not null) await LinkMediaAsync(m.MediaId, m.ChatId, +1).ConfigureAwait(false);
        var stored = await WriteChatInLaneAsync(m.ChatId, (EventDraft?)null, async w =>
        {
            var recipients = await MemberIdsAsync(m.ChatId).ConfigureAwait(false);
            if (!recipients.Contains(m.SenderId)) return null;
            // Read after the chat item, so a deletion's renaming of this chat is either after this
            // write or changed the chat item first, making this write start again (see
            // RenameSentMessagesAsync).
            var (name, avatar) = await UserCardAsync(m.SenderId).ConfigureAwait(false);
            var draft = Draft(m.ChatId, m.SenderId, name, avatar, m.Type, m.Content, m.Timestamp, m.ClientMessageId, m.ReplyTo, quote, null, null, m.MediaJson);
            var added = w.AddMessage(draft, recipients, originConnectionId, MessageRules.ExpiresAt(m.Type, m.Timestamp, w.DisappearAfterSeconds));
            // A 1:1 chat counts its members' messages on the chat item (ChatItems.SentBy).
            if (w.Chat.IsGroup) w.Then.Add(() => CountOwnMessageAsync(m.ChatId, m.SenderId));
            if (m.ReplyTo is not null) w.Then.Add(() => db.PutAsync(db.Records, Item.Record("replies#" + m.ReplyTo, Pad(added.Pos))));
            if (added.ExpiresAtMs is { } expiresAt) w.Then.Add(() => ListExpiryAsync(expiresAt, m.ChatId, added.Pos));
            return added;
        }).ConfigureAwait(false);
        if (stored?.Message is not { } message)
        {
            // Nothing was stored (the sender left meanwhile): the client id is free again.
            if (idem is not null) await db.DeleteAsync(db.Records, idem).ConfigureAwait(false);
            return new SendResult(SendOutcome.NotMember, null);
        }
        if (idem is not null)
        {
            await db.UpdateAsync(db.Records, idem, "SET pos = :p", values: new() { [":p"] = Item.N(message.Pos) }).ConfigureAwait(false);
        }
        return new SendResult(SendOutcome.Stored, message);
    }

    /// <summary>Claims a client message id for a send; returns the original message when the id was
    /// used already (null: the claim is this send's).</summary>
    private async Task<MessageRecord?> ClaimClientIdAsync(Dictionary<string, AttributeValue> idem, NewMessage m)
    {
        while (true)
        {
            var claim = Item.Record(idem["pk"].S, "-").With("claimAt", NowMs()).With("fromPos", NowMicros() - Skew);
            if (await db.PutNewAsync(db.Records, claim, "pk").ConfigureAwait(false)) return null;
            var existing = await db.GetAsync(db.Records, idem).ConfigureAwait(false);
            if (existing is null) continue;
            if (existing.LongOrNull("pos") is { } pos)
            {
                return await db.GetAsync(db.Messages, Item.Key("chatId", m.ChatId, "pos", pos)).ConfigureAwait(false) is { } item
                    ? ChatItems.Message(item)
                    : null;
            }
            // A send with this id is under way, or was cut short: its message may be stored already.
            if (await FindSentAsync(m, existing.Long("fromPos")).ConfigureAwait(false) is { } sent)
            {
                await db.UpdateAsync(db.Records, idem, "SET pos = :p", values: new() { [":p"] = Item.N(sent.Pos) }).ConfigureAwait(false);
                return sent;
            }
            if (NowMs() - existing.Long("claimAt") < (long)ClaimDeadline.TotalMilliseconds)
            {
                await Task.Delay(100).ConfigureAwait(false);
                continue;
            }
            var takenOver = await db.UpdateAsync(db.Records, idem, "SET claimAt = :now", "claimAt = :old AND attribute_not_exists(pos)",
                new() { [":now"] = Item.N(NowMs()), [":old"] = Item.N(existing.Long("claimAt")) }).ConfigureAwait(false);
            if (takenOver is not null) return null;
        }
    }

    /// <summary>Clocks of different nodes differ: a claim's search starts this far (µs) before it.</summary>
    private const long Skew = 60_000_000;

    private async Task<MessageRecord?> FindSentAsync(NewMessage m, long fromPos)
    {
        var items = await db.QueryAsync(new QueryRequest
        {
            TableName = db.Messages,
            KeyConditionExpression = "chatId = :c AND pos >= :from",
            FilterExpression = "senderId = :s AND clientMessageId = :id",
            ExpressionAttributeValues = new()
            {
                [":c"] = Item.S(m.ChatId), [":from"] = Item.N(Math.Max(0, fromPos)), [":s"] = Item.S(m.SenderId), [":id"] = Item.S(m.ClientMessageId!),
            },
        }).ConfigureAwait(false);
        return items.Count == 0 ? null : ChatItems.Message(items[0]);
    }

    private Task CountOwnMessageAsync(string chatId, string userId) =>
        db.UpdateAsync(db.ChatMembers, Item.Key("chatId", chatId, "userId", userId), "ADD ownAfterRead :one", "attribute_exists(chatId)",
            new() { [":one"] = Item.N(1) });

    /// <summary>Counts a message of the chat showing the upload (or one fewer); the link goes with the last.</summary>
    private async Task LinkMediaAsync(string mediaId, string chatId, int change)
    {
        var key = Item.Record("mediachat#" + mediaId, chatId);
        var now = await db.UpdateAsync(db.Records, key, "ADD n :d", values: new() { [":d"] = Item.N(change) }, returnNew: true).ConfigureAwait(false);
        if (now is not null && now.Long("n") <= 0) await db.DeleteAsync(db.Records, key, "n <= :zero", new() { [":zero"] = Item.N(0) }).ConfigureAwait(false);
    }

    /// <summary>A position as a sort key that orders as a number.</summary>
    private static string Pad(long pos) => pos.ToString("D19", System.Globalization.CultureInfo.InvariantCulture);

    public Task<MessageRecord?> GetMessageAsync(string messageId) => ReadMessageItemAsync(messageId);

    private async Task<MessageRecord?> ReadMessageItemAsync(string messageId)
    {
        if (!ChatItems.TryParseMessageId(messageId, out var chatNo, out var pos)) return null;
        if (await ChatOfNumberAsync(chatNo).ConfigureAwait(false) is not { } chatId) return null;
        var item = await db.GetAsync(db.Messages, Item.Key("chatId", chatId, "pos", pos)).ConfigureAwait(false);
        return item is not null && item.StrOrNull("kind") == ChatItems.EventKinds.Message ? ChatItems.Message(item) : null;
    }

    public async Task<IReadOnlyList<MessageRecord>> GetMessagesAsync(string chatId, string viewerId, long afterPos, long beforePos, int limit)
    {
        var hidden = await HiddenAsync(viewerId, chatId).ConfigureAwait(false);
        var found = new List<MessageRecord>();
        var request = new QueryRequest
        {
            TableName = db.Messages,
            KeyConditionExpression = "chatId = :c AND pos BETWEEN :from AND :to",
            FilterExpression = "kind = :m",
            ExpressionAttributeValues = new()
            {
                [":c"] = Item.S(chatId), [":from"] = Item.N(afterPos + 1), [":to"] = Item.N(Math.Max(afterPos + 1, beforePos - 1)), [":m"] = Item.S(ChatItems.EventKinds.Message),
            },
            ScanIndexForward = false,
            Limit = Math.Max(limit, 16),
        };
        if (beforePos - 1 <= afterPos) return found;
        // Page by page: items filtered out (events, hidden messages) do not count to the limit.
        foreach (var item in await QueryUntilAsync(request, limit, item => !hidden.Contains(item.Long("pos"))).ConfigureAwait(false))
        {
            found.Add(ChatItems.Message(item));
        }
        return found;
    }

    /// <summary>Items of a query in its order until <paramref name="wanted"/> of them pass <paramref name="keep"/>.</summary>
    private async Task<List<Dictionary<string, AttributeValue>>> QueryUntilAsync(QueryRequest request, int wanted, Func<Dictionary<string, AttributeValue>, bool> keep)
    {
        var kept = new List<Dictionary<string, AttributeValue>>();
        request.ExclusiveStartKey = null;
        do
        {
            var response = await db.QueryPageAsync(request).ConfigureAwait(false);
            foreach (var item in response.Items ?? [])
            {
                if (!keep(item)) continue;
                kept.Add(item);
                if (kept.Count == wanted) return kept;
            }
            request.ExclusiveStartKey = response.LastEvaluatedKey is { Count: > 0 } next ? next : null;
        } while (request.ExclusiveStartKey is not null);
        return kept;
    }

    private async Task<HashSet<long>> HiddenAsync(string userId, string chatId) =>
        (await db.QueryAsync(new QueryRequest
        {
            TableName = db.Records,
            KeyConditionExpression = "pk = :p",
            ExpressionAttributeValues = new() { [":p"] = Item.S($"hidden#{userId}#{chatId}") },
        }).ConfigureAwait(false)).Select(i => long.Parse(i.Str("sk"), System.Globalization.CultureInfo.InvariantCulture)).ToHashSet();

    public async Task<ChangeOutcome> HideMessageAsync(string messageId, string userId)
    {
        var message = await ReadMessageItemAsync(messageId).ConfigureAwait(false);
        var member = message is null ? null : await GetMemberAsync(message.ChatId, userId).ConfigureAwait(false);
        if (!MessageRules.CanHide(message, member)) return ChangeOutcome.NotFound;
        // The chat goes on the user's list of chats with hidden messages first: a list that names a
        // chat with nothing hidden costs one read, one that misses a hidden message would show it.
        await db.PutAsync(db.Records, Item.Record($"hiddenchats#{userId}", message!.ChatId)).ConfigureAwait(false);
        await db.PutAsync(db.Records, Item.Record($"hidden#{userId}#{message.ChatId}", Pad(message.Pos))).ConfigureAwait(false);
        return ChangeOutcome.Done;
    }

    public async Task<IReadOnlySet<string>> ChatsWithHiddenMessagesAsync(string userId) =>
        (await db.QueryAsync(new QueryRequest
        {
            TableName = db.Records,
            KeyConditionExpression = "pk = :p",
            ExpressionAttributeValues = new() { [":p"] = Item.S($"hiddenchats#{userId}") },
        }).ConfigureAwait(false)).Select(i => i.Str("sk")).ToHashSet(StringComparer.Ordinal);

    public async Task<IReadOnlyList<HiddenMessage>> GetHiddenMessagesAsync(string userId, string chatId)
    {
        var hidden = await HiddenAsync(userId, chatId).ConfigureAwait(false);
        if (hidden.Count == 0) return [];
        // The hidden record holds the position only: the message item gives its seq and sender
        // (a message a timer deleted since has no item and is left out).
        var items = await db.GetManyAsync(db.Messages, hidden.Select(pos => Item.Key("chatId", chatId, "pos", pos))).ConfigureAwait(false);
        return items.Where(i => i.StrOrNull("kind") == ChatItems.EventKinds.Message)
            .Select(i => new HiddenMessage(i.Long("pos"), i.Long("seq"), i.Str("senderId"))).ToList();
    }

    public Task<MessageChange> EditMessageAsync(string messageId, string userId, string content, long now) =>
        ChangeMessageAsync(messageId, userId, async (w, original) =>
        {
            var edited = MessageRules.Edited(original, content, now);
            await db.UpdateAsync(db.Messages, Item.Key("chatId", original.ChatId, "pos", original.Pos), "SET content = :t, editedAt = :at", "attribute_exists(chatId)",
                new() { [":t"] = Item.S(content), [":at"] = Item.N(now) }).ConfigureAwait(false);
            return edited;
        }, MessageRules.Quote(content, false));

    public Task<MessageChange> DeleteMessageForEveryoneAsync(string messageId, string userId, long now) =>
        ChangeMessageAsync(messageId, userId, async (w, original) =>
        {
            await db.UpdateAsync(db.Messages, Item.Key("chatId", original.ChatId, "pos", original.Pos), "SET deleted = :yes REMOVE content, media", "attribute_exists(chatId)",
                new() { [":yes"] = Item.B(true) }).ConfigureAwait(false);
            // The attachment is no longer served to the chat once no message of it shows it.
            if (DeletedContent.MediaIdOf(original.MediaJson) is { } mediaId) await LinkMediaAsync(mediaId, original.ChatId, -1).ConfigureAwait(false);
            return MessageRules.DeletedForEveryone(original);
        }, null);

    /// <summary>Edit and delete for everyone, under <see cref="MessageRules.CheckChange"/>: the
    /// message changes, a <c>messageUpdated</c> event says so, and every reply quoting it quotes it
    /// as it now is (<paramref name="quote"/>; null: deleted), each with an event of its own.</summary>
    private async Task<MessageChange> ChangeMessageAsync(string messageId, string userId, Func<ChatWrite, MessageRecord, Task<MessageRecord>> change, string? quote)
    {
        var located = await ReadMessageItemAsync(messageId).ConfigureAwait(false);
        if (located is null) return new MessageChange(ChangeOutcome.NotFound, null);
        return await WriteChatAsync(located.ChatId, new MessageChange(ChangeOutcome.NotFound, null), async w =>
        {
            var message = await ReadMessageItemAsync(messageId).ConfigureAwait(false);
            var member = message is null ? null : await GetMemberAsync(message.ChatId, userId).ConfigureAwait(false);
            var outcome = MessageRules.CheckChange(message, member, userId);
            if (outcome != ChangeOutcome.Done) return new MessageChange(outcome, null);
            var updated = await change(w, message!).ConfigureAwait(false);
            var recipients = await MemberIdsAsync(message!.ChatId).ConfigureAwait(false);
            w.AddEvent(EventKind.MessageUpdated, recipients, data: messageId, message: updated);
            foreach (var reply in await RepliesAsync(message).ConfigureAwait(false))
            {
                if (reply.ReplyQuote is null || reply.ReplyQuote == quote) continue;
                var requoted = reply with { ReplyQuote = quote };
                var key = Item.Key("chatId", reply.ChatId, "pos", reply.Pos);
                if (quote is null) await db.UpdateAsync(db.Messages, key, "REMOVE replyQuote").ConfigureAwait(false);
                else await db.UpdateAsync(db.Messages, key, "SET replyQuote = :q", values: new() { [":q"] = Item.S(quote) }).ConfigureAwait(false);
                w.AddEvent(EventKind.MessageUpdated, recipients, data: reply.Id, message: requoted);
            }
            return new MessageChange(ChangeOutcome.Done, updated);
        }).ConfigureAwait(false);
    }

    private async Task<List<MessageRecord>> RepliesAsync(MessageRecord quoted)
    {
        var links = await db.QueryAsync(new QueryRequest
        {
            TableName = db.Records,
            KeyConditionExpression = "pk = :p",
            ExpressionAttributeValues = new() { [":p"] = Item.S("replies#" + quoted.Id) },
        }).ConfigureAwait(false);
        var keys = links.Select(l => Item.Key("chatId", quoted.ChatId, "pos", long.Parse(l.Str("sk"), System.Globalization.CultureInfo.InvariantCulture)));
        return (await db.GetManyAsync(db.Messages, keys).ConfigureAwait(false))
            .Where(i => i.StrOrNull("kind") == ChatItems.EventKinds.Message).Select(ChatItems.Message).OrderBy(r => r.Pos).ToList();
    }
}
