using System.Globalization;
using System.Net.WebSockets;
using Parley.Server.Realtime.Bus;

namespace Parley.Server.Realtime;

/// <summary>Closes a user's sockets, or only one session's, on every node: here at once, and on
/// the others through the bus (<c>status\nuserId\nsessionId\nreason</c>).</summary>
public sealed class SocketCloser
{
    private readonly ConnectionRegistry _registry;
    private readonly IClusterBus _bus;

    public SocketCloser(ConnectionRegistry registry, IClusterBus bus)
    {
        _registry = registry;
        _bus = bus;
        bus.Subscribe(BusChannels.CloseSockets, OnMessage);
    }

    /// <param name="sessionId">Only the sockets opened with this session's tokens; null for all of the user's.</param>
    public void CloseEverywhere(string userId, string? sessionId, WebSocketCloseStatus status, string reason)
    {
        CloseHere(userId, sessionId, status, reason);
        _bus.SendToAll(BusChannels.CloseSockets, string.Create(CultureInfo.InvariantCulture, $"{(int)status}\n{userId}\n{sessionId}\n{reason}"));
    }

    private void OnMessage(BusMessage message)
    {
        var parts = message.Body.Split('\n', 4);
        if (parts.Length == 4 && int.TryParse(parts[0], CultureInfo.InvariantCulture, out var status))
        {
            CloseHere(parts[1], parts[2].Length == 0 ? null : parts[2], (WebSocketCloseStatus)status, parts[3]);
        }
    }

    private void CloseHere(string userId, string? sessionId, WebSocketCloseStatus status, string reason)
    {
        foreach (var connection in _registry.For(userId))
        {
            if (sessionId is null || connection.SessionId == sessionId) connection.Close(status, reason);
        }
    }
}
