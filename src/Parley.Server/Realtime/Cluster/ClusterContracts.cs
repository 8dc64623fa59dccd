namespace Parley.Server.Realtime.Cluster;

/// <summary>What <see cref="Presence"/> tells the cluster and asks it: this node's socket counts,
/// and whether a user is online on another node.</summary>
public interface IPresenceCluster
{
    void SocketOpened(string userId);
    void SocketClosed(string userId);
    /// <summary>The user came online or went offline on this node (after the grace period).</summary>
    void PresenceChangedHere(string userId, bool online, long lastSeen);
    bool IsOnlineElsewhere(string userId);
}

/// <summary>Carries ephemeral frames (typing) to the users' sockets on other nodes. When one is
/// registered, <see cref="LocalFanOut"/> also takes committed events from the cluster's ordered
/// delivery instead of straight from the store.</summary>
public interface IClusterRelay
{
    void Broadcast(IReadOnlyCollection<string> userIds, byte[] frame);
}
