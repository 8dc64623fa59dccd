namespace Parley.Server.Realtime.Bus;

/// <summary>
/// What the nodes of a cluster say to each other: commit announcements, typing, presence, closing
/// a user's (or one session's) sockets. One node needs none of it: the in-memory bus is the default
/// and does nothing. A local recipient never goes through the bus, and the bus never sits inside a
/// store transaction. Bodies are opaque text to the bus (what a cursor or an event contains is the
/// sender's and receiver's business), kept below <see cref="MaxBodyBytes"/>.
/// <para>
/// A node claims the users whose sockets it holds. <see cref="ClaimAsync"/> completes once the
/// claim is visible to every node: any <see cref="LocateAsync"/> that starts afterwards, anywhere,
/// finds this node for that user. That is the barrier that lets a socket count as open, and lets a
/// read from the store happen, without losing what is committed meanwhile.
/// </para>
/// </summary>
public interface IClusterBus
{
    /// <summary>Bodies stay below this many UTF-8 bytes (PostgreSQL's NOTIFY payload limit is 8,000).</summary>
    const int MaxBodyBytes = 7000;

    string NodeId { get; }

    /// <summary>False for the in-memory bus: there are no other nodes.</summary>
    bool Clustered { get; }

    /// <summary>Registers a handler for a topic (see <see cref="BusChannels"/>); before the bus starts.
    /// Handlers run one message at a time, in arrival order, and must not block.</summary>
    void Subscribe(string topic, Action<BusMessage> handler);

    /// <summary>This node now holds a socket of the user; completes when the claim is visible to all nodes.</summary>
    ValueTask ClaimAsync(string userId);

    /// <summary>This node no longer holds any socket of the user.</summary>
    void Release(string userId);

    /// <summary>Completes when any pending claim on the user is visible to all nodes (at once when none is pending).</summary>
    ValueTask WaitClaimedAsync(string userId);

    /// <summary>Every other live node, with those of <paramref name="userIds"/> it holds (possibly none).</summary>
    Task<IReadOnlyDictionary<string, string[]>> LocateAsync(IReadOnlyCollection<string> userIds);

    /// <summary>Who the other live nodes hold: for presence, on start and after messages may have been lost.</summary>
    Task<IReadOnlyList<(string NodeId, string UserId)>> ClaimsElsewhereAsync();

    /// <summary>Queues a message to one node. Sent in order, best effort.</summary>
    void Send(string nodeId, string topic, string body);

    /// <summary>Queues a message to every other node.</summary>
    void SendToAll(string topic, string body);

    /// <summary>Raised with a node's id when it left or stopped heartbeating.</summary>
    event Action<string>? NodeLeft;

    /// <summary>Raised after the bus reconnected: messages sent meanwhile may be lost.</summary>
    event Action? Reconnected;

    /// <summary>Raised when this node could not stay registered long enough that the others stopped
    /// routing to it: its sockets should be closed so their clients resume from the store.</summary>
    event Action<string>? Lost;
}

/// <summary>One message from another node.</summary>
public sealed record BusMessage(string Topic, string FromNode, string Body);
