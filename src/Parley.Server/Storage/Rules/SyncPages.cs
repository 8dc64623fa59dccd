namespace Parley.Server.Storage.Rules;

/// <summary>Builds a <c>/sync</c> page from what a backend read: every candidate event above the
/// cursor (a backend reads up to <c>limit + 1</c> of each kind), merged in position order.</summary>
public static class SyncPages
{
    /// <summary>Sorts the candidates, keeps the first <paramref name="limit"/>, and says where the
    /// next page starts: after the last kept event when more remain, else at
    /// <paramref name="upTo"/> (the position the backend knows to be complete), never behind
    /// <paramref name="sincePos"/>.</summary>
    public static (List<StoredEvent> Page, bool HasMore, long Cursor) Cut(List<StoredEvent> candidates, long sincePos, long upTo, int limit)
    {
        candidates.Sort((a, b) => a.Pos.CompareTo(b.Pos));
        var hasMore = candidates.Count > limit;
        if (hasMore) candidates.RemoveRange(limit, candidates.Count - limit);
        var cursor = hasMore && candidates.Count > 0 ? candidates[^1].Pos : upTo;
        return (candidates, hasMore, Math.Max(cursor, sincePos));
    }

    /// <summary>The ids of messages whose edit or delete events are in the page.</summary>
    public static string[] UpdatedMessageIds(IEnumerable<StoredEvent> page) =>
        page.Where(e => e is { Kind: EventKind.MessageUpdated, Message: not null }).Select(e => e.Message!.Id).Distinct().ToArray();

    /// <summary>An edit or delete reads back as the message as it is now; one whose message is gone
    /// for good (a disappearing message that expired) as its tombstone, so clients drop it.
    /// Returns the finished page.</summary>
    public static SyncPage Complete(List<StoredEvent> page, bool hasMore, long cursor, IReadOnlyDictionary<string, MessageRecord> current)
    {
        for (var i = 0; i < page.Count; i++)
        {
            if (page[i] is { Kind: EventKind.MessageUpdated, Message: { } stub })
            {
                page[i] = page[i] with { Message = current.GetValueOrDefault(stub.Id) ?? MessageRecord.Tombstone(stub.Id, stub.ChatId) };
            }
        }
        return new SyncPage(page, cursor, hasMore);
    }
}
