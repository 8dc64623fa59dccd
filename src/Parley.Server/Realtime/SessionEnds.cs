using System.Globalization;
using System.Net.WebSockets;
using Parley.Server.Auth;
using Parley.Server.Realtime.Bus;
using Parley.Server.Storage;

namespace Parley.Server.Realtime;

/// <summary>Carries the end of a session (or of all a user's sessions) to every node at once: each
/// refuses its access tokens from then on and closes its sockets (1008). The store holds the
/// revocation too, so a node that misses the message still learns it from its regular read
/// (<see cref="SessionRevocationSync"/>). Wire body: <c>userId\nsessionId\nrevokedAt</c>.</summary>
public sealed class SessionEnds
{
    private const string Reason = "Session revoked";
    private readonly SessionRevocations _revocations;
    private readonly ConnectionRegistry _sockets;
    private readonly IClusterBus _bus;

    public SessionEnds(SessionRevocations revocations, ConnectionRegistry sockets, IClusterBus bus)
    {
        _revocations = revocations;
        _sockets = sockets;
        _bus = bus;
        revocations.Revoked += OnRevokedHere;
        bus.Subscribe(BusChannels.SessionEnded, OnMessage);
    }

    private void OnRevokedHere(string userId, string? sessionId, long revokedAt)
    {
        _sockets.CloseSessions(userId, sessionId, WebSocketCloseStatus.PolicyViolation, Reason);
        _bus.SendToAll(BusChannels.SessionEnded, string.Create(CultureInfo.InvariantCulture, $"{userId}\n{sessionId}\n{revokedAt}"));
    }

    private void OnMessage(BusMessage message)
    {
        var parts = message.Body.Split('\n');
        if (parts.Length != 3 || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var revokedAt)) return;
        var sessionId = parts[1].Length == 0 ? null : parts[1];
        _revocations.Apply(new SessionRevocation(parts[0], sessionId, revokedAt));
        _sockets.CloseSessions(parts[0], sessionId, WebSocketCloseStatus.PolicyViolation, Reason);
    }
}
