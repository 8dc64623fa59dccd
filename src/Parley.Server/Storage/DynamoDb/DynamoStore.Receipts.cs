using Amazon.DynamoDBv2.Model;
using Parley.Server.Storage.Rules;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>
/// Receipts (delivered and read marks). A mark moves the reader's watermark on its membership item,
/// and tells each sender it reached with a status event kept in the sender's own receipt stream
/// (<c>pk = "rcpt#" + senderId</c>, <c>sk</c> = position and writer), not in the chat's stream: so a
/// mark takes no position from the chat item and writes two items, whatever it covers, for one sender.
/// Its position comes from the chat's lane (above the chat's last position and the lane's last), so
/// it follows the messages it acknowledges and counts in the lane's settled mark like any event;
/// sync reads the stream beside the user's chats.
/// </summary>
internal sealed partial class DynamoStore
{
    private const string ReceiptsPrefix = "rcpt#";

    public Task<bool> AdvanceWatermarkAsync(string chatId, string userId, long upToSeq, bool read, long now) =>
        InLaneAsync(chatId, () => AdvanceInLaneAsync(chatId, userId, upToSeq, read, now));

    private async Task<bool> AdvanceInLaneAsync(string chatId, string userId, long upToSeq, bool read, long now)
    {
        var lane = _writers.LaneOf(chatId);
        EnsureLease(lane);
        if (await ReadChatItemAsync(chatId).ConfigureAwait(false) is not { } chat) return false;
        var me = await GetMemberAsync(chatId, userId).ConfigureAwait(false);
        if (me is null) return false;
        var from = read ? me.ReadSeq : me.DeliveredSeq;
        var lastPos = chat.Long("lastPos");
        if (StatusRules.Target(upToSeq, chat.Long("lastSeq"), from) is not { } target) return false;
        var (reached, ownAfter) = await ReachedAsync(chatId, userId, lastPos, from, target).ConfigureAwait(false);

        // The receipts first, each published once stored: a process killed (or a write refused)
        // before the watermark moves leaves receipts the next mark repeats (a status is the same
        // news twice), never a moved watermark nobody was told of.
        var previous = (Pos: lastPos, Writer: chat.LongOrNull("lastWriter"));
        foreach (var (sender, status) in StatusRules.PerSender(reached, chatId, userId, read, now))
        {
            var draft = new EventDraft { Kind = EventKind.Status, Recipients = [sender], Target = sender, Status = status };
            draft.Pos = NextPosition(lane, lastPos);
            var item = Item.Record(ReceiptsPrefix + sender, ReceiptKey(draft.Pos, lane.Writer))
                .With("chatId", chatId).With("pos", draft.Pos).With("writer", lane.Writer).With("data", StoredRows.StatusJson(status));
            await db.PutAsync(db.Records, item).ConfigureAwait(false);
            Volatile.Write(ref lane.Position, draft.Pos);
            // It follows the chat's last event, so a node hands it on only after that one.
            Publish(chatId, draft, lane.Writer, previous);
        }

        var key = Item.Key("chatId", chatId, "userId", userId);
        var values = new Dictionary<string, AttributeValue> { [":t"] = Item.N(target), [":now"] = Item.N(now) };
        Dictionary<string, AttributeValue>? moved;
        if (read)
        {
            values[":own"] = Item.N(ownAfter);
            var delivered = me.DeliveredSeq < target ? ", deliveredSeq = :t, deliveredAt = :now" : "";
            moved = await db.UpdateAsync(db.ChatMembers, key, "SET readSeq = :t, readAt = :now, ownAfterRead = :own" + delivered,
                "readSeq < :t", values).ConfigureAwait(false);
        }
        else
        {
            moved = await db.UpdateAsync(db.ChatMembers, key, "SET deliveredSeq = :t, deliveredAt = :now", "deliveredSeq < :t", values).ConfigureAwait(false);
        }
        return moved is not null;
    }

    /// <summary>The chat's messages in (from, target] (newest first), and how many of the reader's own
    /// are above target (they stay "own after read"); read from the newest down to the first at or below from.</summary>
    private async Task<(List<ReachedMessage> Reached, long OwnAfter)> ReachedAsync(string chatId, string userId, long lastPos, long from, long target)
    {
        var reached = new List<ReachedMessage>();
        long ownAfter = 0;
        var request = new QueryRequest
        {
            TableName = db.Messages,
            KeyConditionExpression = "chatId = :c AND pos <= :top",
            FilterExpression = "kind = :m",
            ExpressionAttributeValues = new() { [":c"] = Item.S(chatId), [":top"] = Item.N(lastPos), [":m"] = Item.S(ChatItems.EventKinds.Message) },
            ScanIndexForward = false,
            ProjectionExpression = "id, senderId, seq",
        };
        await QueryUntilAsync(request, 1, item =>
        {
            var seq = item.Long("seq");
            if (seq <= from) return true;
            if (seq > target)
            {
                if (item.Str("senderId") == userId) ownAfter++;
            }
            else
            {
                reached.Add(new ReachedMessage(item.Str("id"), item.Str("senderId"), seq));
            }
            return false;
        }).ConfigureAwait(false);
        return (reached, ownAfter);
    }

    /// <summary>A receipt's sort key: its position (padded, so keys order as numbers) and writer
    /// (two writers may give a user receipts at the same position).</summary>
    private static string ReceiptKey(long pos, int writer) => Pad(pos) + "#" + writer.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The user's receipts after the cursor's floor, oldest first, for sync (see <see cref="SyncAsync"/>).</summary>
    private QueryRequest ReceiptsAfter(string userId, long floor) => new()
    {
        TableName = db.Records,
        KeyConditionExpression = "pk = :p AND sk >= :from",
        ExpressionAttributeValues = new() { [":p"] = Item.S(ReceiptsPrefix + userId), [":from"] = Item.S(Pad(floor + 1)) },
    };

    private static StoredEvent ReadReceipt(Dictionary<string, AttributeValue> item) =>
        StoredRows.Event(item.Long("pos"), EventKind.Status, item.Str("chatId"), item.StrOrNull("data"), []) with { Writer = (int)item.Long("writer") };

    /// <summary>A deleted account's receipt stream goes with it.</summary>
    private async Task DeleteReceiptsAsync(string userId)
    {
        foreach (var receipt in await QueryRecordsAsync(ReceiptsPrefix + userId).ConfigureAwait(false))
        {
            await db.DeleteAsync(db.Records, Item.Record(receipt.Str("pk"), receipt.Str("sk"))).ConfigureAwait(false);
        }
    }
}
