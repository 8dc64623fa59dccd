namespace Parley.Server.Storage.Rules;

/// <summary>Builds a <c>/sync</c> page from what a backend read: every candidate event above the
/// cursor (a backend reads up to <c>limit + 1</c> of each kind), merged in position order.</summary>
public static class SyncPages
{
    /// <summary>The clock as a store's positions count it where they are times (DynamoDB):
    /// microseconds since 1970, UTC.</summary>
    public static long ClockMicros() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / 10;

    /// <summary>Sorts the candidates by position, keeps the first <paramref name="limit"/>, and says
    /// where the next page starts: each writer's bound moves up to what <paramref name="upTo"/> (what
    /// the backend knows to be committed) allows, but not past the last kept event when more remain,
    /// and never behind <paramref name="since"/>. Positions are unique, so every candidate at or
    /// below the last kept one is in the page.</summary>
    public static (List<StoredEvent> Page, bool HasMore, StreamCursor Cursor) Cut(List<StoredEvent> candidates, StreamCursor since, StreamCursor upTo, int limit)
    {
        candidates.Sort((a, b) => a.Pos.CompareTo(b.Pos));
        var hasMore = candidates.Count > limit;
        if (hasMore) candidates.RemoveRange(limit, candidates.Count - limit);
        long? last = hasMore ? (candidates.Count > 0 ? candidates[^1].Pos : 0) : null;
        return (candidates, hasMore, since.PageEnd(upTo, last));
    }

    /// <summary>The ids of messages whose edit or delete events are in the page.</summary>
    public static string[] UpdatedMessageIds(IEnumerable<StoredEvent> page) =>
        page.Where(e => e is { Kind: EventKind.MessageUpdated, Message: not null }).Select(e => e.Message!.Id).Distinct().ToArray();

    /// <summary>An edit or delete reads back as the message as it is now; one whose message is gone
    /// for good (a disappearing message that expired) as its tombstone, so clients drop it.
    /// Returns the finished page.</summary>
    public static SyncPage Complete(List<StoredEvent> page, bool hasMore, StreamCursor cursor, IReadOnlyDictionary<string, MessageRecord> current)
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
