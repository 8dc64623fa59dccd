using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Parley.Server.Common;
using Parley.Server.Configuration;
using Parley.Server.Realtime.Cluster;
using Parley.Server.Storage;

namespace Parley.Server.Realtime;

/// <summary>Who is online: a user is online while they hold at least one socket, and goes offline
/// a grace period after the last one closes (so a phone switching networks does not flap).
/// Held in memory only; <c>lastSeen</c> is written to the store when a user goes offline.
/// In a cluster (<paramref name="cluster"/>), a user is online while any node holds them, and
/// <see cref="Changed"/> fires only when that whole picture changes.</summary>
public sealed class Presence(IOptions<ParleyOptions> options, TimeProvider clock, IAccountStore store, IPresenceCluster? cluster = null)
{
    private readonly ConcurrentDictionary<string, int> _sockets = new();
    private readonly ConcurrentDictionary<string, long> _lastSeen = new();
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _pendingOffline = new();
    /// <summary>Each change is decided and queued for announcement (<see cref="Changed"/>) under this
    /// lock, so the announcements leave in the order of the changes: a socket opening here while
    /// another node's departure is being applied cannot have its "online" overtaken by that stale
    /// "offline", which would leave contacts seeing the user offline while they are online.</summary>
    private readonly Lock _gate = new();

    /// <summary>Raised with (userId, online, lastSeen) when a user comes online or goes offline.</summary>
    public event Action<string, bool, long>? Changed;

    public bool IsOnline(string userId) => IsOnlineHere(userId) || cluster?.IsOnlineElsewhere(userId) == true;

    private bool IsOnlineHere(string userId) => _sockets.TryGetValue(userId, out var count) && count > 0 || _pendingOffline.ContainsKey(userId);

    /// <summary>The user's sockets on other nodes (none without a cluster).</summary>
    public int SocketsElsewhere(string userId) => cluster?.SocketsElsewhere(userId) ?? 0;

    public long LastSeen(UserRecord user) => _lastSeen.TryGetValue(user.Id, out var seen) ? Math.Max(seen, user.LastSeen) : user.LastSeen;

    public void SocketOpened(string userId)
    {
        lock (_gate)
        {
            var wasOnline = IsOnline(userId);
            var wasHere = IsOnlineHere(userId);
            var count = _sockets.AddOrUpdate(userId, 1, (_, n) => n + 1);
            if (_pendingOffline.TryRemove(userId, out var pending)) pending.Cancel();
            if (!wasHere) cluster?.PresenceChangedHere(userId, true, clock.NowMs());
            if (count >= 2) cluster?.SocketsChangedHere(userId, count);
            if (!wasOnline) Changed?.Invoke(userId, true, clock.NowMs());
        }
    }

    public void SocketClosed(string userId)
    {
        lock (_gate)
        {
            var remaining = _sockets.AddOrUpdate(userId, 0, (_, n) => Math.Max(0, n - 1));
            if (remaining > 0)
            {
                cluster?.SocketsChangedHere(userId, remaining);
                return;
            }
            var cancel = new CancellationTokenSource();
            _pendingOffline[userId] = cancel;
            _ = GoOfflineLater(userId, cancel);
        }
    }

    private async Task GoOfflineLater(string userId, CancellationTokenSource cancel)
    {
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(options.Value.Realtime.PresenceGraceSeconds), clock, cancel.Token);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        long now;
        lock (_gate)
        {
            if (!_pendingOffline.TryRemove(new KeyValuePair<string, CancellationTokenSource>(userId, cancel))) return;
            if (_sockets.TryGetValue(userId, out var count) && count > 0) return;
            _sockets.TryRemove(new KeyValuePair<string, int>(userId, 0));
            now = clock.NowMs();
            _lastSeen[userId] = now;
            cluster?.PresenceChangedHere(userId, false, now);
            if (cluster?.IsOnlineElsewhere(userId) != true) Changed?.Invoke(userId, false, now);
        }
        await store.SetLastSeenAsync(userId, now);
    }

    /// <summary>The cluster saw the user come online on another node while offline everywhere
    /// else, or go offline on the last other node: announced here unless this node holds them.</summary>
    public void RemoteChanged(string userId, bool online, long lastSeen)
    {
        lock (_gate)
        {
            if (IsOnlineHere(userId)) return;
            if (!online) _lastSeen.AddOrUpdate(userId, lastSeen, (_, seen) => Math.Max(seen, lastSeen));
            Changed?.Invoke(userId, online, lastSeen);
        }
    }
}
