using Amazon.DynamoDBv2.Model;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>
/// Disappearing messages: each is listed under <c>pk = "expiry"</c> by when it runs out, so a sweep
/// reads only what is due. Taking a listing is a conditional delete, so each expired message is
/// handed to one node. Its item becomes a tombstone (its position stays taken, its content goes).
/// </summary>
internal sealed partial class DynamoStore
{
    private const string ExpiredKind = "x";

    private static string ExpiryKey(long expiresAtMs, string chatId, long pos) => $"{Pad(expiresAtMs)}#{Pad(pos)}#{chatId}";

    private Task ListExpiryAsync(long expiresAtMs, string chatId, long pos) =>
        db.PutAsync(db.Records, Item.Record("expiry", ExpiryKey(expiresAtMs, chatId, pos)).With("chatId", chatId).With("pos", pos));

    public async Task<ExpiredMessages> ExpireMessagesAsync(long now, int max)
    {
        var due = await db.QueryAsync(new QueryRequest
        {
            TableName = db.Records,
            KeyConditionExpression = "pk = :p AND sk < :now",
            ExpressionAttributeValues = new() { [":p"] = Item.S("expiry"), [":now"] = Item.S(Pad(now + 1)) },
        }, max).ConfigureAwait(false);
        var count = 0;
        var forgotten = new List<string>();
        foreach (var listing in due)
        {
            if (await db.DeleteAsync(db.Records, Item.Record("expiry", listing.Str("sk")), "attribute_exists(pk)").ConfigureAwait(false) is null) continue;
            var chatId = listing.Str("chatId");
            var pos = listing.Long("pos");
            var gone = await WriteChatAsync(chatId, (string?)null, async w =>
            {
                var key = Item.Key("chatId", chatId, "pos", pos);
                var item = await db.GetAsync(db.Messages, key).ConfigureAwait(false);
                if (item?.StrOrNull("kind") != ChatItems.EventKinds.Message) return null;
                var message = ChatItems.Message(item);
                var tombstone = new Dictionary<string, AttributeValue>
                {
                    ["chatId"] = item["chatId"], ["pos"] = item["pos"], ["kind"] = Item.S(ExpiredKind), ["id"] = item["id"],
                    ["prevPos"] = Item.N(item.Long("prevPos")), ["writer"] = Item.N(item.Long("writer")),
                };
                await db.PutAsync(db.Messages, tombstone).ConfigureAwait(false);
                var memberItems = await MemberItemsAsync(chatId).ConfigureAwait(false);
                var recipients = memberItems.Select(i => i.Str("userId")).ToList();
                // Those who had not read it count it unread no more (unread = last seq - read mark - not unread above it).
                foreach (var member in memberItems.Where(i => i.Long("readSeq") < message.Seq && i.Str("userId") != message.SenderId))
                {
                    await CountOwnMessageAsync(chatId, member.Str("userId")).ConfigureAwait(false);
                }
                // Replies keep no quote of it; their readers get the reply again without it.
                foreach (var reply in await RepliesAsync(message).ConfigureAwait(false))
                {
                    await db.UpdateAsync(db.Messages, Item.Key("chatId", chatId, "pos", reply.Pos), "SET replyQuote = :q",
                        values: new() { [":q"] = Item.S("") }).ConfigureAwait(false);
                    w.AddEvent(EventKind.MessageUpdated, recipients, data: reply.Id, message: reply with { ReplyQuote = "" });
                }
                // The chat list shows the newest message that is left.
                if (w.ChatItem.Long("lastMsgPos") == pos) w.ChatChanges["lastMsgPos"] = Item.N(await NewestMessageBelowAsync(chatId, pos).ConfigureAwait(false));
                w.AddEvent(EventKind.MessageUpdated, recipients, data: message.Id, message: MessageRecord.Tombstone(message.Id, chatId));
                // Its attachment, if any ("": none); null above means nothing expired here.
                return message.MediaJson ?? "";
            }).ConfigureAwait(false);
            if (gone is null) continue;
            count++;
            if (gone.Length > 0 && DeletedContent.MediaIdOf(gone) is { } mediaId)
            {
                await LinkMediaAsync(mediaId, chatId, -1).ConfigureAwait(false);
                if (await ForgetUnusedMediaAsync(mediaId).ConfigureAwait(false)) forgotten.Add(mediaId);
            }
        }
        return new ExpiredMessages(count, forgotten);
    }

    private async Task<long> NewestMessageBelowAsync(string chatId, long pos)
    {
        var request = new QueryRequest
        {
            TableName = db.Messages,
            KeyConditionExpression = "chatId = :c AND pos < :pos",
            FilterExpression = "kind = :m",
            ExpressionAttributeValues = new() { [":c"] = Item.S(chatId), [":pos"] = Item.N(pos), [":m"] = Item.S(ChatItems.EventKinds.Message) },
            ScanIndexForward = false,
            ProjectionExpression = "pos",
        };
        var newest = await QueryUntilAsync(request, 1, _ => true).ConfigureAwait(false);
        return newest.Count == 0 ? 0 : newest[0].Long("pos");
    }

    /// <summary>Forgets an upload no chat and no profile shows any more; true when it went.</summary>
    private async Task<bool> ForgetUnusedMediaAsync(string mediaId)
    {
        foreach (var partition in new[] { "mediachat#" + mediaId, "photo#" + mediaId })
        {
            var uses = await db.QueryAsync(new QueryRequest
            {
                TableName = db.Records,
                KeyConditionExpression = "pk = :p",
                ExpressionAttributeValues = new() { [":p"] = Item.S(partition) },
            }, 1).ConfigureAwait(false);
            if (uses.Count > 0) return false;
        }
        return await db.DeleteAsync(db.Records, MediaKey(mediaId), "attribute_exists(pk)").ConfigureAwait(false) is not null;
    }
}
