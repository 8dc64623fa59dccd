namespace Parley.Server.Storage;

/// <summary>Where a store publishes committed events. It has no dependencies, so the store can
/// depend on it while the consumers (local fan-out, a cross-node bus) depend on the store.</summary>
public sealed class EventStream : IEventPublisher
{
    private readonly Lock _gate = new();
    private Action<StoredEvent>[] _subscribers = [];

    public void Subscribe(Action<StoredEvent> subscriber)
    {
        lock (_gate) _subscribers = [.. _subscribers, subscriber];
    }

    public void Publish(StoredEvent e)
    {
        foreach (var subscriber in _subscribers) subscriber(e);
    }
}
