using System.Collections.Concurrent;
using Parley.Server.Realtime.Cluster;

namespace Parley.Server.Realtime;

/// <summary>The sockets this node holds, by user, and how many from each client address. In a
/// cluster (<paramref name="cluster"/>), the address counts are told to the other nodes and theirs
/// count toward the cap here.</summary>
public sealed class ConnectionRegistry(IPresenceCluster? cluster = null)
{
    private readonly ConcurrentDictionary<string, Connection[]> _byUser = new();
    private readonly ConcurrentDictionary<string, int> _byIp = new();
    /// <summary>An address's count changes and is announced under this lock, so the announcements
    /// leave in the order of the changes.</summary>
    private readonly Lock _addressGate = new();

    /// <summary>Every open connection on this node (read when metrics are scraped).</summary>
    public int Total => _byUser.Values.Sum(list => list.Length);

    public int Count(string userId) => _byUser.TryGetValue(userId, out var list) ? list.Length : 0;

    /// <summary>Sockets from the client address on every node, as far as this node has heard.</summary>
    public int CountForAddress(string ip) => (_byIp.TryGetValue(ip, out var here) ? here : 0) + (cluster?.AddressSocketsElsewhere(ip) ?? 0);

    /// <summary>The user's sockets here. An array, not a list interface: a fan-out walks it once
    /// for each member of a group, and an interface's enumerator would be an allocation each time.</summary>
    public Connection[] For(string userId) => _byUser.TryGetValue(userId, out var list) ? list : [];

    /// <summary>Every socket this node holds.</summary>
    public IReadOnlyList<Connection> All() => _byUser.Values.SelectMany(list => list).ToList();

    /// <summary>Closes this node's sockets of the user, or only those of one session when <paramref name="sessionId"/> is set.</summary>
    public void CloseSessions(string userId, string? sessionId, System.Net.WebSockets.WebSocketCloseStatus status, string reason)
    {
        foreach (var connection in For(userId))
        {
            if (sessionId is null || connection.SessionId == sessionId) connection.Close(status, reason);
        }
    }

    /// <summary>Adds the connection unless the user or the IP is at its cap (the IP's sockets on the
    /// other nodes included).</summary>
    public bool TryAdd(Connection connection, string ip, int maxPerUser, int maxPerIp)
    {
        if (!TakeAddressPlace(ip, maxPerIp)) return false;
        while (true)
        {
            var current = For(connection.UserId);
            if (current.Length >= maxPerUser)
            {
                ReleaseIp(ip);
                return false;
            }
            Connection[] next = [.. current, connection];
            if (current.Length == 0 ? _byUser.TryAdd(connection.UserId, next) : _byUser.TryUpdate(connection.UserId, next, current))
            {
                return true;
            }
        }
    }

    private bool TakeAddressPlace(string ip, int maxPerIp)
    {
        var elsewhere = cluster?.AddressSocketsElsewhere(ip) ?? 0;
        lock (_addressGate)
        {
            var here = _byIp.TryGetValue(ip, out var n) ? n : 0;
            if (here + elsewhere >= maxPerIp) return false;
            _byIp[ip] = here + 1;
            if (here + 1 >= 2) cluster?.AddressSocketsChangedHere(ip, here + 1);
            return true;
        }
    }

    public void Remove(Connection connection, string ip)
    {
        ReleaseIp(ip);
        while (_byUser.TryGetValue(connection.UserId, out var current))
        {
            var next = current.Where(c => c != connection).ToArray();
            if (next.Length == current.Length) return;
            var done = next.Length == 0
                ? _byUser.TryRemove(new KeyValuePair<string, Connection[]>(connection.UserId, current))
                : _byUser.TryUpdate(connection.UserId, next, current);
            if (done) return;
        }
    }

    private void ReleaseIp(string ip)
    {
        lock (_addressGate)
        {
            var left = (_byIp.TryGetValue(ip, out var n) ? n : 0) - 1;
            if (left <= 0) _byIp.TryRemove(ip, out _);
            else _byIp[ip] = left;
            // Down to one is said too, so the others forget it (a lone socket is not counted
            // elsewhere); down to none follows a count of one, which was never said.
            if (left >= 1) cluster?.AddressSocketsChangedHere(ip, left);
        }
    }
}
