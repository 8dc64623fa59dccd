namespace Parley.Server.Storage;

/// <summary>What the cluster needs of a store shared by several nodes: where each of this node's
/// writers started, and a way to make a writer's positions visible to every node's cursor before
/// they are announced.</summary>
public interface IClusterEventSource
{
    /// <summary>Where this node's <paramref name="writer"/> started: its first announced run begins
    /// after this position. Fresh: the writer is new, with no events below it.</summary>
    (long Pos, bool Fresh) WriterStart(int writer);

    /// <summary>Makes every position of this node's <paramref name="writer"/> up to <paramref name="last"/>
    /// part of what <see cref="IEventLog.CurrentCursorAsync"/> answers on every node, before those
    /// positions are announced: a socket that opens on another node after the announcement's
    /// recipients were looked up then finds the events in its backlog. Done already where commits
    /// raise the cursor themselves.</summary>
    ValueTask SettleAsync(int writer, long last);
}

/// <summary>A store whose events other nodes read back by writer and position, with their recipients
/// as they were published live; announcements then carry positions only. A store that cannot
/// (DynamoDB has no index by writer) has its events carried in the announcements themselves.</summary>
public interface IClusterEventReader : IClusterEventSource
{
    /// <summary>The events of <paramref name="writer"/> at positions <paramref name="first"/>..<paramref name="last"/>
    /// (only those in <paramref name="only"/>, when given), oldest first.</summary>
    Task<IReadOnlyList<StoredEvent>> LoadEventsAsync(int writer, long first, long last, long[]? only);
}
