using System.Collections.Concurrent;

namespace Parley.Server.Realtime;

/// <summary>The sockets this node holds, by user.</summary>
public sealed class ConnectionRegistry
{
    private readonly ConcurrentDictionary<string, Connection[]> _byUser = new();
    private readonly ConcurrentDictionary<string, int> _byIp = new();

    /// <summary>Every open connection on this node (read when metrics are scraped).</summary>
    public int Total => _byUser.Values.Sum(list => list.Length);

    public int Count(string userId) => _byUser.TryGetValue(userId, out var list) ? list.Length : 0;

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

    /// <summary>Adds the connection unless the user or the IP is at its cap.</summary>
    public bool TryAdd(Connection connection, string ip, int maxPerUser, int maxPerIp)
    {
        var ipCount = _byIp.AddOrUpdate(ip, 1, (_, n) => n + 1);
        if (ipCount > maxPerIp)
        {
            ReleaseIp(ip);
            return false;
        }
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
        if (_byIp.AddOrUpdate(ip, 0, (_, n) => n - 1) <= 0) _byIp.TryRemove(new KeyValuePair<string, int>(ip, 0));
    }
}
