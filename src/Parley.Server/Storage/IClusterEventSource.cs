namespace Parley.Server.Storage;

/// <summary>What the cluster reads back from a store shared by several nodes: the events a writer
/// committed at some positions, with their recipients, as they were published live.</summary>
public interface IClusterEventSource
{
    /// <summary>The events of <paramref name="writer"/> at positions <paramref name="first"/>..<paramref name="last"/>
    /// (only those in <paramref name="only"/>, when given), oldest first.</summary>
    Task<IReadOnlyList<StoredEvent>> LoadEventsAsync(int writer, long first, long last, long[]? only);

    /// <summary>Where this node's <paramref name="writer"/> started: its first announced run begins
    /// after this position. Fresh: the writer is new, with no events below it.</summary>
    (long Pos, bool Fresh) WriterStart(int writer);
}
