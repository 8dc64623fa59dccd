using System.Diagnostics.Metrics;

namespace Parley.Server.Operations;

/// <summary>Parley's own meters (System.Diagnostics.Metrics, meter "Parley"), exported at
/// <c>/metrics</c> in the Prometheus format. Counting is a few atomic adds: safe on hot paths.</summary>
public sealed class ParleyMetrics : IDisposable
{
    public const string MeterName = "Parley";

    private readonly Meter _meter;
    private readonly Counter<long> _messagesStored;
    private readonly Counter<long> _messagesDelivered;
    private readonly Counter<long> _sendQueueDrops;
    private readonly Counter<long> _slowConsumersClosed;
    private readonly Counter<long> _syncPages;
    private readonly Counter<long> _pushSent;
    private readonly Counter<long> _pushFailed;
    private readonly Counter<long> _pushDropped;
    private readonly Counter<long> _memoryTrims;

    public ParleyMetrics(IMeterFactory meters, Realtime.ConnectionRegistry sockets, Storage.EventStream events)
    {
        _meter = meters.Create(MeterName);
        _messagesStored = _meter.CreateCounter<long>("parley.messages.stored", "{message}", "Messages stored (sent by users or the server).");
        _messagesDelivered = _meter.CreateCounter<long>("parley.messages.delivered", "{message}", "Message frames handed to WebSocket connections.");
        _meter.CreateObservableGauge("parley.sockets.open", () => sockets.Total, "{socket}", "Open WebSocket connections on this node.");
        _sendQueueDrops = _meter.CreateCounter<long>("parley.send_queue.drops", "{frame}", "Frames dropped because a connection's send queue was full.");
        _slowConsumersClosed = _meter.CreateCounter<long>("parley.slow_consumers.closed", "{socket}", "Connections closed for not reading fast enough.");
        _syncPages = _meter.CreateCounter<long>("parley.sync.pages", "{page}", "Pages of missed events served (/sync and /ws?since=).");
        _pushSent = _meter.CreateCounter<long>("parley.push.sent", "{notification}", "Notifications a push service accepted.");
        _pushFailed = _meter.CreateCounter<long>("parley.push.failed", "{notification}", "Notifications refused for good or whose subscription is gone.");
        _pushDropped = _meter.CreateCounter<long>("parley.push.dropped", "{notification}", "Notifications dropped because the push queue was full.");
        _memoryTrims = _meter.CreateCounter<long>("parley.memory.trims", "{collection}", "Compacting collections run once the node went quiet, giving back what a busy spell left the collector holding.");
        // This node's commits (each node counts what it stored).
        events.Subscribe(e =>
        {
            if (e.Kind == Storage.EventKind.Message) _messagesStored.Add(1);
        });
    }

    public void MessagesDelivered(int sockets) => _messagesDelivered.Add(sockets);
    public void SendQueueDrop() => _sendQueueDrops.Add(1);
    public void SlowConsumerClosed() => _slowConsumersClosed.Add(1);
    public void SyncPage() => _syncPages.Add(1);
    public void PushSent() => _pushSent.Add(1);
    public void PushFailed() => _pushFailed.Add(1);
    public void PushDropped() => _pushDropped.Add(1);
    public void MemoryTrimmed() => _memoryTrims.Add(1);

    public void Dispose() => _meter.Dispose();
}
