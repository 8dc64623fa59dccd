using Amazon.DynamoDBv2.Model;
using Parley.Server.Storage.Rules;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>
/// Resume and sync, fanned out on read: a user's missed events are read chat by chat (the chats they
/// are in from when they joined, and those they left up to when they left), only from chats whose
/// last position is past the cursor, and the receipts for the user (DynamoStore.Receipts).
/// Each writer's events count up to what it has settled (<see cref="DynamoWriters.SettledAsync()"/>);
/// an event beyond that is held back, and with it everything at or above its position, so the
/// cursor never passes an event not yet returned.
/// </summary>
internal sealed partial class DynamoStore
{
    public Task<StreamCursor> CurrentCursorAsync() => _writers.SettledAsync();

    public async Task<SyncPage> SyncAsync(string userId, StreamCursor since, int limit)
    {
        var upTo = await _writers.SettledAsync().ConfigureAwait(false);
        var (spans, directChats, groups) = await SyncSpansAsync(userId, since.Floor).ConfigureAwait(false);
        var candidates = new List<StoredEvent>();
        var held = long.MaxValue;
        // Whether an event belongs in the page: not covered by the cursor, and settled by its
        // writer; one that is not yet holds back everything from its position on.
        bool Wanted(long pos, int writer)
        {
            if (pos >= held || since.Covers(writer, pos)) return false;
            if (pos <= upTo.Bound(writer)) return true;
            held = pos;
            return false;
        }
        foreach (var (chatId, from, to) in spans)
        {
            var request = new QueryRequest
            {
                TableName = db.Messages,
                KeyConditionExpression = "chatId = :c AND pos BETWEEN :from AND :to",
                ExpressionAttributeValues = new() { [":c"] = Item.S(chatId), [":from"] = Item.N(from + 1), [":to"] = Item.N(to) },
                Limit = Math.Min(limit + 1, 200),
            };
            await QueryUntilAsync(request, limit + 1, item =>
            {
                if (!IsEvent(item) || !Wanted(item.Long("pos"), (int)item.Long("writer"))) return false;
                if (item.StrOrNull("target") is { } target && target != userId) return false;
                candidates.Add(ReadEvent(item));
                return true;
            }).ConfigureAwait(false);
        }
        foreach (var (chatId, from, to) in groups)
        {
            await QueryUntilAsync(GroupReceipts(chatId, from, Math.Min(limit + 1, 200)), limit + 1, item =>
            {
                if (GroupReceiptFor(item, chatId, userId) is not { } receipt || receipt.Pos <= from || receipt.Pos > to
                    || !Wanted(receipt.Pos, receipt.Writer.GetValueOrDefault())) return false;
                candidates.Add(receipt);
                return true;
            }).ConfigureAwait(false);
        }
        foreach (var receipt in await DirectReceiptsAsync(userId, directChats).ConfigureAwait(false))
        {
            if (Wanted(receipt.Pos, receipt.Writer.GetValueOrDefault())) candidates.Add(receipt);
        }
        if (held != long.MaxValue)
        {
            candidates.RemoveAll(e => e.Pos >= held);
            upTo = StreamCursor.Of(Math.Min(upTo.Floor, held - 1), upTo.Entries.Select(e => (e.Writer, Math.Min(e.Pos, held - 1))));
        }
        var (page, hasMore, cursor) = SyncPages.Cut(candidates, since, upTo, limit);
        var current = new Dictionary<string, MessageRecord>();
        foreach (var id in SyncPages.UpdatedMessageIds(page))
        {
            if (await ReadMessageItemAsync(id).ConfigureAwait(false) is { } message) current[id] = message;
        }
        return SyncPages.Complete(page, hasMore, cursor, current) with { HeldBackAt = held == long.MaxValue ? 0 : held };
    }

    /// <summary>The position ranges (after From, up to To) of each chat the user may have missed
    /// events in: memberships from when they joined, past ones up to when they ended, skipping
    /// chats with nothing past <paramref name="floor"/>; the user's 1:1 chats, whose receipts to
    /// the user are kept on the other member's membership; and the ranges of the user's groups'
    /// receipt streams (receipts take positions above the chat's last, so not bounded by it).</summary>
    private async Task<(List<(string ChatId, long From, long To)> Spans, List<string> DirectChats, List<(string ChatId, long From, long To)> Groups)> SyncSpansAsync(
        string userId, long floor)
    {
        var chatIds = await GetChatIdsAsync(userId).ConfigureAwait(false);
        var members = await db.GetManyAsync(db.ChatMembers, chatIds.Select(id => Item.Key("chatId", id, "userId", userId))).ConfigureAwait(false);
        var past = await db.QueryAsync(new QueryRequest
        {
            TableName = db.Records,
            KeyConditionExpression = "pk = :p",
            FilterExpression = "leftPos > :floor",
            ExpressionAttributeValues = new() { [":p"] = Item.S("past#" + userId), [":floor"] = Item.N(floor) },
        }).ConfigureAwait(false);
        var wanted = members.Select(m => (ChatId: m.Str("chatId"), From: m.Long("joinedPos"), To: long.MaxValue))
            .Concat(past.Select(p => (ChatId: p.Str("chatId"), From: p.Long("joinedPos"), To: p.Long("leftPos"))))
            .ToList();
        var chats = (await db.GetManyAsync(db.Chats, wanted.Select(w => w.ChatId).Distinct().Select(ChatKey), "chatId, lastPos, isGroup").ConfigureAwait(false))
            .ToDictionary(c => c.Str("chatId"));
        var spans = new List<(string, long, long)>();
        foreach (var (chatId, from, to) in wanted)
        {
            if (!chats.TryGetValue(chatId, out var chat)) continue;
            var start = Math.Max(from, floor);
            var end = Math.Min(to, chat.Long("lastPos"));
            if (end > start) spans.Add((chatId, start, end));
        }
        var direct = members.Select(m => m.Str("chatId")).Where(id => chats.TryGetValue(id, out var chat) && !chat.Bool("isGroup")).ToList();
        var groups = wanted.Where(w => chats.TryGetValue(w.ChatId, out var chat) && chat.Bool("isGroup") && w.To > Math.Max(w.From, floor))
            .Select(w => (w.ChatId, Math.Max(w.From, floor), w.To)).ToList();
        return (spans, direct, groups);
    }

    /// <summary>The receipts the other members of the user's 1:1 chats keep for the user.</summary>
    private async Task<List<StoredEvent>> DirectReceiptsAsync(string userId, List<string> directChats)
    {
        var keys = directChats.Select(chatId => (ChatId: chatId, Other: Chats.ChatIds.OtherMember(chatId, userId)))
            .Where(c => c.Other is not null).Select(c => Item.Key("chatId", c.ChatId, "userId", c.Other!));
        var others = await db.GetManyAsync(db.ChatMembers, keys).ConfigureAwait(false);
        return others.SelectMany(MembershipReceipts).ToList();
    }
}
