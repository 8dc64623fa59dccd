namespace Parley.Server.Realtime.Cluster;

/// <summary>What <see cref="Presence"/> tells the cluster and asks it: presence changes on this
/// node, and whether a user is online on another node.</summary>
public interface IPresenceCluster
{
    /// <summary>The user came online or went offline on this node (after the grace period).</summary>
    void PresenceChangedHere(string userId, bool online, long lastSeen);
    bool IsOnlineElsewhere(string userId);
    /// <summary>How many other nodes hold a socket of the user.</summary>
    int NodesElsewhere(string userId);
    /// <summary>The user holds <paramref name="count"/> sockets on this node: said when it becomes
    /// two or more, and when it falls back to one.</summary>
    void SocketsChangedHere(string userId, int count);
    /// <summary>How many sockets the user holds on the other nodes, as far as this node has heard.</summary>
    int SocketsElsewhere(string userId);
    /// <summary>This node holds <paramref name="count"/> sockets from the client address: said when it
    /// becomes two or more, and when it falls back below two.</summary>
    void AddressSocketsChangedHere(string address, int count);
    /// <summary>How many sockets the other nodes hold from the address, as far as this node has heard.
    /// A node's lone socket from an address is not announced, so the per-address cap holds across
    /// the cluster to within one socket per other node.</summary>
    int AddressSocketsElsewhere(string address);
}

/// <summary>Carries ephemeral frames (typing) to the users' sockets on other nodes.</summary>
public interface IClusterRelay
{
    void Broadcast(IReadOnlyCollection<string> userIds, byte[] frame);
}
