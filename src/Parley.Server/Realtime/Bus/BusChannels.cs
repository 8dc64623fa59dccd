using System.Security.Cryptography;
using System.Text;

namespace Parley.Server.Realtime.Bus;

/// <summary>Every name the bus uses on the wire: topics, PostgreSQL channels and tables, Redis
/// channels and keys.</summary>
public static class BusChannels
{
    // Topics (what a message is about).
    /// <summary>Committed events another node stored (<c>Cluster/ClusterDelivery</c>).</summary>
    public const string Events = "events";
    /// <summary>An ephemeral frame (typing) for some of the receiving node's users.</summary>
    public const string Relay = "relay";
    /// <summary>A user came online or went offline on the sending node.</summary>
    public const string Presence = "presence";
    /// <summary>How many sockets a user holds on the sending node, sent when it becomes two or more
    /// and when it falls back to one (one is what being online there already says).</summary>
    public const string Sockets = "sockets";
    /// <summary>How many sockets the sending node holds from one client address, sent when it
    /// becomes two or more and when it falls back below two.</summary>
    public const string AddressSockets = "address-sockets";
    /// <summary>A session, or all of a user's, ended: refuse its tokens and close its sockets.</summary>
    public const string SessionEnded = "session-ended";
    /// <summary>The sending node is leaving.</summary>
    public const string Leaving = "leaving";
    /// <summary>A user blocked or unblocked another: cached block lists of both are stale.</summary>
    public const string BlocksChanged = "blocks";

    /// <summary>Separates topic, sender and body in a wire message.</summary>
    public const char Separator = '\u001f';

    // PostgreSQL.
    public const string PgAll = "parley_all";
    /// <summary>A node's channel: its id may be anything, a channel name may not, so it is hashed.</summary>
    public static string PgNode(string nodeId) => "parley_" + Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(nodeId)));
    public const string PgNodesTable = "bus_nodes";
    public const string PgClaimsTable = "bus_claims";
    /// <summary>The listening connection's application_name, so operators can tell it from the pool's.</summary>
    public static string PgListenerName(string nodeId) => "parley-listener " + nodeId;

    // Redis.
    public const string RedisAll = "parley:all";
    public static string RedisNode(string nodeId) => "parley:node:" + nodeId;
    /// <summary>A sorted set of live nodes, scored by when their registration expires (Unix ms).</summary>
    public const string RedisNodes = "parley:nodes";
    /// <summary>The set of users a node holds.</summary>
    public static string RedisClaims(string nodeId) => "parley:claims:" + nodeId;

    public static string Encode(string topic, string fromNode, string body) => string.Concat(topic, Separator.ToString(), fromNode, Separator.ToString(), body);

    public static BusMessage? Decode(string wire)
    {
        var first = wire.IndexOf(Separator, StringComparison.Ordinal);
        if (first < 0) return null;
        var second = wire.IndexOf(Separator, first + 1);
        if (second < 0) return null;
        return new BusMessage(wire[..first], wire[(first + 1)..second], wire[(second + 1)..]);
    }
}
