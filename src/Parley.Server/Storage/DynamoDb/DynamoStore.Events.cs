using System.Collections.Concurrent;
using Amazon.DynamoDBv2.Model;
using Parley.Server.Storage.Rules;

namespace Parley.Server.Storage.DynamoDb;

/// <summary>
/// How events enter a chat's stream without transactions. The chat item is the chat's lock: an
/// operation reads it, takes the next positions with one conditional update (<c>lastPos</c> still what
/// it read), then stores its events at those positions. So a chat's events are in position order and
/// a message's seq follows the last one with no gap. A process killed between the two writes leaves
/// a position taken and empty: the next writer of the chat waits for it up to
/// <see cref="ClaimDeadline"/>, then fills it with a void item (which also refuses a late write to
/// it) and takes the seq back. Readers never read past a chat's <c>lastPos</c>, and a void reads as nothing.
/// </summary>
internal sealed partial class DynamoStore
{
    /// <summary>How long a taken position may stay empty before the next writer voids it. A writer
    /// that took a position and has not stored its event by <see cref="WriteDeadline"/> gives up.</summary>
    internal static readonly TimeSpan ClaimDeadline = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan WriteDeadline = TimeSpan.FromSeconds(5);

    private const string VoidKind = "v";

    /// <summary>Chats whose last position this node stored itself (so it need not look for it).</summary>
    private readonly ConcurrentDictionary<string, long> _storedHere = new(StringComparer.Ordinal);

    private static long NowMicros() => DynamoWriters.NowMicros();

    private static long NowMs() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private Dictionary<string, AttributeValue> ChatKey(string chatId) => Item.Key("chatId", chatId);

    private Task<Dictionary<string, AttributeValue>?> ReadChatItemAsync(string chatId) => db.GetAsync(db.Chats, ChatKey(chatId));

    /// <summary>Creates a chat item (false when it exists). Its number is taken from a counter first.</summary>
    private async Task<bool> CreateChatItemAsync(string chatId, bool isGroup, string? name, string? description, string? createdBy, long now)
    {
        var counter = await db.UpdateAsync(db.Records, Item.Record("counters", "chats"), "ADD n :one",
            values: new() { [":one"] = Item.N(1) }, returnNew: true).ConfigureAwait(false);
        var chatNo = counter!.Long("n");
        // The number's record first: a message id names its chat by number, so it must resolve
        // as soon as the chat exists (a number whose chat never came is never used).
        await db.PutAsync(db.Records, Item.Record("chatno#" + chatNo, "-").With("chatId", chatId)).ConfigureAwait(false);
        var item = new Dictionary<string, AttributeValue>
        {
            ["chatId"] = Item.S(chatId),
            ["chatNo"] = Item.N(chatNo),
            ["isGroup"] = Item.B(isGroup),
            ["createdAt"] = Item.N(now),
            ["lastActivity"] = Item.N(now),
            ["lastSeq"] = Item.N(0),
            ["lastPos"] = Item.N(0),
        }.With("name", name).With("description", description).With("createdBy", createdBy);
        return await db.PutNewAsync(db.Chats, item, "chatId").ConfigureAwait(false);
    }

    private readonly ConcurrentDictionary<long, string> _chatByNumber = new();

    /// <summary>The chat a number belongs to (numbers never change hands, so this caches for good).</summary>
    private async Task<string?> ChatOfNumberAsync(long chatNo)
    {
        if (_chatByNumber.TryGetValue(chatNo, out var known)) return known;
        var item = await db.GetAsync(db.Records, Item.Record("chatno#" + chatNo, "-")).ConfigureAwait(false);
        if (item?.StrOrNull("chatId") is not { } chatId) return null;
        _chatByNumber[chatNo] = chatId;
        return chatId;
    }

    /// <summary>Runs an operation on a chat in the chat's lane: <paramref name="build"/> reads what it
    /// needs and adds events (none: nothing is written); its events are then stored and published.
    /// <paramref name="missing"/> when the chat does not exist (build is not called).</summary>
    private Task<T> WriteChatAsync<T>(string chatId, T missing, Func<ChatWrite, Task<T>> build) =>
        InLaneAsync(chatId, () => WriteChatInLaneAsync(chatId, missing, build));

    /// <summary>Runs <paramref name="work"/> in the chat's lane, after every operation on the lane
    /// that was asked for before it (its place is taken before this method first waits).</summary>
    private async Task<T> InLaneAsync<T>(string chatId, Func<Task<T>> work)
    {
        using var turn = await _writers.LaneOf(chatId).Gate.EnterAsync().ConfigureAwait(false);
        return await work().ConfigureAwait(false);
    }

    /// <summary><see cref="WriteChatAsync"/> for a caller already in the chat's lane.</summary>
    private async Task<T> WriteChatInLaneAsync<T>(string chatId, T missing, Func<ChatWrite, Task<T>> build)
    {
        var lane = _writers.LaneOf(chatId);
        while (true)
        {
            EnsureLease(lane);
            var chatItem = await ReadChatItemAsync(chatId).ConfigureAwait(false);
            if (chatItem is null) return missing;
            var (lastPos, lastSeq, ready) = await SettlePreviousAsync(chatId, chatItem).ConfigureAwait(false);
            if (!ready) continue;
            var write = new ChatWrite(chatItem);
            var result = await build(write).ConfigureAwait(false);
            if (write.Events.Count == 0 && write.ChatChanges.Count == 0)
            {
                foreach (var then in write.Then) await then().ConfigureAwait(false);
                return result;
            }
            if (await StoreAsync(lane, chatId, chatItem, lastPos, lastSeq, write).ConfigureAwait(false)) return result;
        }
    }

    /// <summary>Refuses a write from a lane that holds no writer lease (lost, or about to run out).</summary>
    private static void EnsureLease(DynamoWriters.Lane lane)
    {
        if (lane.Writer < 0 || !DynamoWriters.HoldsLease(lane))
        {
            throw new InvalidOperationException("This node holds no DynamoDB writer lease at the moment; the write was not made.");
        }
    }

    /// <summary>The next position a lane gives an event of a chat whose last position is
    /// <paramref name="lastPos"/>: the clock, but above the chat's last and the lane's last.</summary>
    private static long NextPosition(DynamoWriters.Lane lane, long lastPos) =>
        Math.Max(Math.Max(lastPos + 1, NowMicros()), Volatile.Read(ref lane.Position) + 1);

    /// <summary>Makes sure the chat's last taken position holds its event (or a void), so the next
    /// positions follow stored ones. Returns the chat's last position and seq as they stand (after a
    /// void, the seq the void gave back), or not ready when the caller must read the chat again.</summary>
    private async Task<(long LastPos, long LastSeq, bool Ready)> SettlePreviousAsync(string chatId, Dictionary<string, AttributeValue> chat)
    {
        var lastPos = chat.Long("lastPos");
        var lastSeq = chat.Long("lastSeq");
        if (lastPos == 0 || (_storedHere.TryGetValue(chatId, out var stored) && stored == lastPos)) return (lastPos, lastSeq, true);
        var key = Item.Key("chatId", chatId, "pos", lastPos);
        if (await db.GetAsync(db.Messages, key, "pos").ConfigureAwait(false) is not null) return (lastPos, lastSeq, true);
        if (NowMs() - chat.Long("claimAt") < (long)ClaimDeadline.TotalMilliseconds)
        {
            await Task.Delay(50).ConfigureAwait(false);
            return (0, 0, false);
        }
        var voidItem = new Dictionary<string, AttributeValue>
        {
            ["chatId"] = Item.S(chatId),
            ["pos"] = Item.N(lastPos),
            ["kind"] = Item.S(VoidKind),
            ["prevPos"] = Item.N(chat.Long("basePos")),
        };
        if (!await db.PutNewAsync(db.Messages, voidItem, "chatId").ConfigureAwait(false)) return (lastPos, lastSeq, true);
        // The void took the last position; earlier ones of the same claim may hold messages.
        var claimed = await db.QueryAsync(new QueryRequest
        {
            TableName = db.Messages,
            KeyConditionExpression = "chatId = :c AND pos BETWEEN :from AND :to",
            ExpressionAttributeValues = new() { [":c"] = Item.S(chatId), [":from"] = Item.N(chat.Long("basePos") + 1), [":to"] = Item.N(lastPos) },
            ProjectionExpression = "seq",
        }).ConfigureAwait(false);
        var seq = Math.Max(chat.Long("baseSeq"), claimed.Count == 0 ? 0 : claimed.Max(i => i.Long("seq")));
        GiveBackSentCounts(chat, claimed.Count(i => i.LongOrNull("seq") is not null));
        return (lastPos, seq, true);
    }

    /// <summary>A voided claim of a 1:1 chat stored its events in order up to where it was cut short:
    /// its messages past the first <paramref name="stored"/> never came, so their senders' counts
    /// (<see cref="ChatItems.SentBy"/>) go back down in the chat item as read, which the next write
    /// of the chat stores, as it does the seq given back.</summary>
    private static void GiveBackSentCounts(Dictionary<string, AttributeValue> chat, int stored)
    {
        if (chat.StrOrNull("claimSenders") is not { } claimSenders) return;
        foreach (var sender in claimSenders.Split('\n').Skip(stored))
        {
            chat[ChatItems.SentBy(sender)] = Item.N(Math.Max(0, chat.Long(ChatItems.SentBy(sender)) - 1));
        }
        chat.Remove("claimSenders");
    }

    /// <summary>Takes the positions of <paramref name="write"/>'s events and stores them; false when
    /// another writer changed the chat first (nothing written: the caller starts again).</summary>
    private async Task<bool> StoreAsync(DynamoWriters.Lane lane, string chatId, Dictionary<string, AttributeValue> chatItem, long lastPos, long lastSeq, ChatWrite write)
    {
        var started = NowMs();
        var timing = StoreInstruments.BatchStarting();
        var first = NextPosition(lane, lastPos);
        var seq = lastSeq;
        var prevPos = lastPos;
        var prevWriter = chatItem.LongOrNull("lastWriter");
        for (var i = 0; i < write.Events.Count; i++)
        {
            var draft = write.Events[i];
            draft.Pos = first + i;
            if (draft.Kind == EventKind.Message && draft.Message is { } m)
            {
                seq++;
                draft.Message = m with { Id = ChatItems.MessageId(write.ChatNo, draft.Pos), Seq = seq, Pos = draft.Pos };
            }
        }
        var last = write.Events.Count == 0 ? lastPos : write.Events[^1].Pos;
        var values = new Dictionary<string, AttributeValue>
        {
            [":last"] = Item.N(last),
            [":seq"] = Item.N(seq),
            [":base"] = Item.N(lastPos),
            [":baseSeq"] = Item.N(lastSeq),
            [":at"] = Item.N(started),
            [":writer"] = Item.N(lane.Writer),
            [":read"] = Item.N(chatItem.Long("lastPos")),
        };
        // Every write gives the chat item a new revision, and stores only over the revision it read:
        // a write that read the chat before another one (even one that took no position) starts
        // again from a fresh read, and so reads again what it builds from (a sender's name, the timer).
        values[":rev"] = Item.N(Random.Shared.NextInt64());
        var readRevision = chatItem.TryGetValue(ChatItems.Revision, out var revision) ? revision : null;
        if (readRevision is not null) values[":readRev"] = readRevision;
        var condition = "lastPos = :read AND " + (readRevision is null ? $"attribute_not_exists({ChatItems.Revision})" : $"{ChatItems.Revision} = :readRev");
        var sets = $"lastPos = :last, lastSeq = :seq, basePos = :base, baseSeq = :baseSeq, claimAt = :at, lastWriter = :writer, {ChatItems.Revision} = :rev";
        if (write.Events.LastOrDefault(e => e.Kind == EventKind.Message) is { Message: { } newest })
        {
            sets += ", lastMsgPos = :msg, lastActivity = :activity";
            values[":msg"] = Item.N(newest.Pos);
            values[":activity"] = Item.N(Math.Max(chatItem.Long("lastActivity"), newest.Timestamp));
        }
        var changes = new Dictionary<string, AttributeValue>(write.ChatChanges);
        var removes = "";
        if (!write.Chat.IsGroup)
        {
            var senders = write.Events.Where(e => e.Kind == EventKind.Message && e.Message is not null).Select(e => e.Message!.SenderId).ToList();
            foreach (var sender in senders.Distinct())
            {
                changes[ChatItems.SentBy(sender)] = Item.N(chatItem.Long(ChatItems.SentBy(sender)) + senders.Count(s => s == sender));
            }
            if (senders.Count > 0) changes["claimSenders"] = Item.S(string.Join('\n', senders));
            else removes = " REMOVE claimSenders";
        }
        var names = new Dictionary<string, string>();
        var n = 0;
        foreach (var (name, value) in changes)
        {
            sets += $", #c{n} = :c{n}";
            names[$"#c{n}"] = name;
            values[$":c{n}"] = value;
            n++;
        }
        if (await db.UpdateAsync(db.Chats, ChatKey(chatId), "SET " + sets + removes, condition, values, names).ConfigureAwait(false) is null)
        {
            return false;
        }
        foreach (var draft in write.Events)
        {
            if (NowMs() - started > WriteDeadline.TotalMilliseconds)
            {
                throw new TimeoutException("Storing a chat event took too long; the position it took is left for the chat's next writer to void.");
            }
            var item = EventItem(chatId, draft, prevPos, lane.Writer);
            if (!await db.PutNewAsync(db.Messages, item, "chatId").ConfigureAwait(false))
            {
                throw new TimeoutException("A chat event came too late: its position was voided by the chat's next writer.");
            }
            prevPos = draft.Pos;
        }
        StoreInstruments.BatchCommitted(timing, Math.Max(1, write.Events.Count));
        Volatile.Write(ref lane.Position, last);
        _storedHere[chatId] = last;
        if (_storedHere.Count > 100_000) _storedHere.Clear();
        foreach (var then in write.Then) await then().ConfigureAwait(false);
        var previous = (Pos: lastPos, Writer: prevWriter);
        foreach (var draft in write.Events)
        {
            Publish(chatId, draft, lane.Writer, previous);
            previous = (draft.Pos, lane.Writer);
        }
        return true;
    }

    private static Dictionary<string, AttributeValue> EventItem(string chatId, EventDraft draft, long prevPos, int writer)
    {
        var item = draft.Kind == EventKind.Message && draft.Message is { } message
            ? ChatItems.MessageItem(message).With("expiresAtMs", draft.ExpiresAtMs)
            : new Dictionary<string, AttributeValue> { ["chatId"] = Item.S(chatId), ["pos"] = Item.N(draft.Pos) };
        item["kind"] = Item.S(ChatItems.EventKinds.Of(draft.Kind));
        item["prevPos"] = Item.N(prevPos);
        item["writer"] = Item.N(writer);
        return item.With("target", draft.Target).With("data", draft.Data);
    }

    private void Publish(string chatId, EventDraft draft, int writer, (long Pos, long? Writer) previous)
    {
        try
        {
            var e = new StoredEvent(draft.Pos, draft.Kind, chatId, draft.Recipients, draft.Message, draft.Status)
            {
                OriginConnectionId = draft.OriginConnectionId,
                Writer = writer,
                PrevPos = previous.Pos,
                PrevWriter = previous.Writer is { } w ? (int)w : null,
            };
            _publisher.Publish(e);
        }
        catch (Exception ex)
        {
            StorageLog.PublishFailed(logger, ex);
        }
    }

    /// <summary>Whether an item of a chat's stream is an event a reader gets: not a void, nor what
    /// is left of an expired message (its deletion is an event of its own).</summary>
    private static bool IsEvent(Dictionary<string, AttributeValue> item) => item.StrOrNull("kind") is not (null or VoidKind or ExpiredKind);

    /// <summary>An event item read back (for sync), without recipients.</summary>
    private static StoredEvent ReadEvent(Dictionary<string, AttributeValue> item)
    {
        var kind = item.Str("kind");
        var eventKind = ChatItems.EventKinds.Parse(kind);
        var e = eventKind == EventKind.Message
            ? StoredRows.MessageEvent(ChatItems.Message(item), [])
            : StoredRows.Event(item.Long("pos"), eventKind, item.Str("chatId"), item.StrOrNull("data"), []);
        return e with { Writer = (int)item.Long("writer") };
    }
}
