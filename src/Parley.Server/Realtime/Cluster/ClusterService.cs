using System.Net.WebSockets;
using Parley.Server.Realtime.Bus;
using Parley.Server.Storage;

namespace Parley.Server.Realtime.Cluster;

/// <summary>
/// Runs this node's part of the cluster. On start, before the server takes requests: joins the bus,
/// loads who is online elsewhere, and starts ordered delivery from the store's committed position.
/// On stop, in order: the sockets (closed with 1001 when the host began stopping) are let go, this
/// node's last announcements and the bus's queue are sent, the node leaves the bus; only then does
/// the host dispose the store. If the bus stays away longer than registrations live, or events may
/// have been lost for good, this node's sockets are closed so their clients resume from the store.
/// </summary>
internal sealed class ClusterService(
    RemoteBus bus, ClusterPresence presence, ClusterDelivery delivery, Presence localPresence, LocalFanOut fanOut,
    ConnectionRegistry registry, IParleyStore store, ILogger<ClusterService> logger)
    : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();
    private Task? _delivery;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        presence.ElsewhereChanged += localPresence.RemoteChanged;
        delivery.Lost += CloseAll;
        bus.Lost += CloseAll;
        bus.Subscribe(BusChannels.Relay, message =>
        {
            if (ClusterRelay.Parse(message.Body) is var (users, frame)) fanOut.BroadcastLocal(users, frame);
        });
        await bus.StartAsync(cancellationToken);
        await presence.ReloadAsync();
        // Read after joining the bus: every commit after this cursor is announced to this node.
        var start = await store.CurrentCursorAsync();
        delivery.Start(start);
        _delivery = Task.Run(() => delivery.RunAsync(_stopping.Token), CancellationToken.None);
        BusLog.Started(logger, bus.NodeId, bus.Name, start.ToString());
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // The sockets were asked to close (1001) when the host began stopping; give them a moment
        // so their last presence and claims go out over the bus.
        for (var i = 0; i < 50 && registry.Total > 0 && !cancellationToken.IsCancellationRequested; i++)
        {
            await Task.Delay(100, CancellationToken.None);
        }
        await _stopping.CancelAsync();
        if (_delivery is not null) await _delivery.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await delivery.DrainAsync();
        await bus.StopAsync(cancellationToken);
        await bus.DisposeAsync();
        BusLog.Stopped(logger, bus.NodeId);
    }

    private void CloseAll(string reason)
    {
        var connections = registry.All();
        BusLog.ClosingAll(logger, connections.Count, reason);
        foreach (var connection in connections) connection.Close(WebSocketCloseStatus.EndpointUnavailable, "Reconnect and resume");
    }
}
