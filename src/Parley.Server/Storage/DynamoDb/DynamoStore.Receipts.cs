using Amazon.DynamoDBv2.Model;
using Parley.Server.Storage.Rules;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>
/// Receipts (delivered and read marks). A mark moves the reader's watermark on its membership item
/// and tells each sender it reached with a status event. A mark takes no position from the chat
/// item: its position comes from the chat's lane (above the chat's last position and the lane's
/// last), so it follows the messages it acknowledges and counts in the lane's settled mark like any
/// event. Where the status is kept depends on the chat:
/// <list type="bullet">
/// <item>In a 1:1 chat it reaches one sender, so the membership keeps the latest one of each kind
/// beside the watermark it moved (<c>deliveredReceipt</c>, <c>readReceipt</c>, each with its
/// position and writer): a mark is one write, and watermark and receipt move together. Sync reads
/// the other member's membership of each 1:1 chat (a status only ever moves forward, so the latest
/// stands for every earlier one).</item>
/// <item>In a group it may reach several senders: their statuses go into one item of the chat's
/// receipt stream (<c>pk = "rcptchat#" + chatId</c>, <c>sk</c> = last position and writer; each
/// sender's status has a position of its own, consecutive ones in the item's order). So a mark
/// writes two items, however many messages and senders it covers. Sync reads the receipt streams
/// of the user's groups and keeps the statuses addressed to the user.</item>
/// </list>
/// </summary>
internal sealed partial class DynamoStore
{
    private const string ChatReceiptsPrefix = "rcptchat#";

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
        var (reached, ownAfter) = await ReachedAsync(chatId, userId, lastPos, chat.Long("lastSeq"), from, target).ConfigureAwait(false);
        var statuses = StatusRules.PerSender(reached, chatId, userId, read, now);
        var previous = (Pos: lastPos, Writer: chat.LongOrNull("lastWriter"));
        var kind = read ? "read" : "delivered";
        var key = Item.Key("chatId", chatId, "userId", userId);
        var values = new Dictionary<string, AttributeValue> { [":t"] = Item.N(target), [":now"] = Item.N(now) };
        var sets = $"{kind}Seq = :t, {kind}At = :now";
        if (read)
        {
            // Own messages after the mark: those counted now, plus those the chat counts from here on.
            sets += ", ownAfterRead = :own, sentAtRead = :sent";
            values[":own"] = Item.N(ownAfter);
            values[":sent"] = Item.N(chat.Long(ChatItems.SentBy(userId)));
            if (me.DeliveredSeq < target) sets += ", deliveredSeq = :t, deliveredAt = :now";
        }

        // A 1:1 chat's receipt goes on the membership, in the same write as the watermark (its
        // messages have one sender besides the reader, so there is one status at most).
        EventDraft? onMembership = null;
        if (!chat.Bool("isGroup") && statuses.Count > 0)
        {
            var (sender, status) = statuses[0];
            onMembership = new EventDraft { Kind = EventKind.Status, Recipients = [sender], Target = sender, Status = status, Pos = NextPosition(lane, lastPos) };
            sets += $", {kind}Receipt = :receipt, {kind}ReceiptPos = :receiptPos, {kind}ReceiptWriter = :writer";
            values[":receipt"] = Item.S(StoredRows.StatusJson(status));
            values[":receiptPos"] = Item.N(onMembership.Pos);
            values[":writer"] = Item.N(lane.Writer);
            statuses = [];
        }

        // A group's receipts first, in one item, published once stored: a process killed (or a
        // write refused) before the watermark moves leaves receipts the next mark repeats (a status
        // is the same news twice), never a moved watermark nobody was told of.
        if (statuses.Count > 0)
        {
            var first = NextPosition(lane, lastPos);
            var drafts = statuses.Select((s, i) => new EventDraft
            {
                Kind = EventKind.Status, Recipients = [s.SenderId], Target = s.SenderId, Status = s.Status, Pos = first + i,
            }).ToList();
            var item = Item.Record(ChatReceiptsPrefix + chatId, ReceiptKey(drafts[^1].Pos, lane.Writer))
                .With("writer", lane.Writer).With("reader", userId).With("status", kind).With("at", now)
                .With("targets", string.Join('\n', statuses.Select(s => s.SenderId + " " + s.Status.MessageId)));
            await db.PutAsync(db.Records, item).ConfigureAwait(false);
            Volatile.Write(ref lane.Position, drafts[^1].Pos);
            // Each follows the chat's last event, so a node hands it on only after that one.
            foreach (var draft in drafts) Publish(chatId, draft, lane.Writer, previous);
        }

        var moved = await db.UpdateAsync(db.ChatMembers, key, "SET " + sets, $"{kind}Seq < :t", values).ConfigureAwait(false);
        if (moved is not null && onMembership is not null)
        {
            Volatile.Write(ref lane.Position, onMembership.Pos);
            Publish(chatId, onMembership, lane.Writer, previous);
        }
        return moved is not null;
    }

    /// <summary>The chat's messages in (from, target] (newest first), and how many of the reader's own
    /// are above target (they stay "own after read"); read from the newest down to the first at or below from.</summary>
    private async Task<(List<ReachedMessage> Reached, long OwnAfter)> ReachedAsync(string chatId, string userId, long lastPos, long lastSeq, long from, long target)
    {
        var reached = new List<ReachedMessage>();
        long othersAfter = 0;
        var request = new QueryRequest
        {
            TableName = db.Messages,
            KeyConditionExpression = "chatId = :c AND pos <= :top",
            FilterExpression = "kind = :m",
            ExpressionAttributeValues = new() { [":c"] = Item.S(chatId), [":top"] = Item.N(lastPos), [":m"] = Item.S(ChatItems.EventKinds.Message) },
            ScanIndexForward = false,
            ProjectionExpression = "id, senderId, seq",
            // Pages about as long as the messages above the watermark (and a few events): a page
            // is paid for whole, so an unbounded one would read the chat's history at every mark.
            Limit = (int)Math.Clamp(lastSeq - from + 4, 4, 100),
        };
        await QueryUntilAsync(request, 1, item =>
        {
            var seq = item.Long("seq");
            if (seq <= from) return true;
            if (seq > target)
            {
                if (item.Str("senderId") != userId) othersAfter++;
            }
            else
            {
                reached.Add(new ReachedMessage(item.Str("id"), item.Str("senderId"), seq));
            }
            return false;
        }).ConfigureAwait(false);
        // Above the mark, what is not unread: own messages and the holes expired messages left.
        return (reached, Math.Max(0, lastSeq - target - othersAfter));
    }

    /// <summary>A receipt item's sort key: its last position (padded, so keys order as numbers) and
    /// writer (two writers may store a chat's receipts at the same position).</summary>
    private static string ReceiptKey(long pos, int writer) => Pad(pos) + "#" + writer.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A group's receipt items with a position after <paramref name="after"/> (keyed by
    /// their last), oldest first, in pages of <paramref name="page"/>, for sync (see <see cref="SyncAsync"/>).</summary>
    private QueryRequest GroupReceipts(string chatId, long after, int page) => new()
    {
        TableName = db.Records,
        KeyConditionExpression = "pk = :p AND sk > :after",
        ExpressionAttributeValues = new() { [":p"] = Item.S(ChatReceiptsPrefix + chatId), [":after"] = Item.S(Pad(after) + "~") },
        Limit = page,
    };

    /// <summary>The status of one group receipt item addressed to <paramref name="userId"/>, if
    /// any (an item names each sender once): its n-th of k targets has position last - (k - 1) + n.</summary>
    private static StoredEvent? GroupReceiptFor(Dictionary<string, AttributeValue> item, string chatId, string userId)
    {
        var targets = item.Str("targets").Split('\n');
        for (var i = 0; i < targets.Length; i++)
        {
            var space = targets[i].IndexOf(' ');
            if (space < 0 || targets[i][..space] != userId) continue;
            var first = long.Parse(item.Str("sk").Split('#')[0], System.Globalization.CultureInfo.InvariantCulture) - (targets.Length - 1);
            var status = new StatusData(chatId, targets[i][(space + 1)..], item.Str("reader"), item.Str("status"), item.Long("at"));
            return new StoredEvent(first + i, EventKind.Status, chatId, [], Status: status) { Writer = (int)item.Long("writer") };
        }
        return null;
    }

    /// <summary>The receipts a 1:1 membership keeps (its member's latest delivered and read status),
    /// as events for the chat's other member.</summary>
    private static IEnumerable<StoredEvent> MembershipReceipts(Dictionary<string, AttributeValue> member)
    {
        foreach (var kind in (string[])["delivered", "read"])
        {
            if (member.StrOrNull(kind + "Receipt") is not { } data) continue;
            yield return StoredRows.Event(member.Long(kind + "ReceiptPos"), EventKind.Status, member.Str("chatId"), data, [])
                with { Writer = (int)member.Long(kind + "ReceiptWriter") };
        }
    }
}
