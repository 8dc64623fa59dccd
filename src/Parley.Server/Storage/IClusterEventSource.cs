namespace Parley.Server.Storage;

/// <summary>What the cluster reads back from a store shared by several nodes: the events committed
/// at some positions, with their recipients, as they were published live.</summary>
public interface IClusterEventSource
{
    /// <summary>The events at positions <paramref name="first"/>..<paramref name="last"/> (only those
    /// in <paramref name="only"/>, when given), oldest first.</summary>
    Task<IReadOnlyList<StoredEvent>> LoadEventsAsync(long first, long last, long[]? only);
}
