using System.Collections.Concurrent;
using System.Globalization;
using Parley.Server.Common;
using Parley.Server.Realtime.Bus;

namespace Parley.Server.Realtime.Cluster;

/// <summary>Who is online on the other nodes. Each node tells all the others when a user comes
/// online or goes offline there (<c>online:lastSeen:userId</c>); a user counts as online while any
/// node holds them, and <see cref="ElsewhereChanged"/> fires only when that whole picture changes.
/// After the bus reconnects, or on start, the picture is reloaded from the other nodes' claims.
/// A node that holds two or more of a user's sockets also says how many (<c>count:userId</c>), so
/// the per-user socket limit holds across nodes; a node online for the user says one. A node that
/// holds two or more sockets from one client address says that too (<c>count:address</c>), for the
/// per-address limit.</summary>
internal sealed class ClusterPresence : IPresenceCluster
{
    private readonly IClusterBus _bus;
    private readonly TimeProvider _clock;
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<string, string[]> _elsewhere = new();
    /// <summary>Sockets of a user on another node, where that node said two or more.</summary>
    private readonly ConcurrentDictionary<(string UserId, string NodeId), int> _sockets = new();
    /// <summary>Sockets from a client address on other nodes, by node, where that node said two or
    /// more (under <see cref="_gate"/>).</summary>
    private readonly Dictionary<string, Dictionary<string, int>> _addressSockets = new();

    public ClusterPresence(IClusterBus bus, TimeProvider clock)
    {
        _bus = bus;
        _clock = clock;
        bus.Subscribe(BusChannels.Presence, OnPresence);
        bus.Subscribe(BusChannels.Sockets, OnSockets);
        bus.Subscribe(BusChannels.AddressSockets, OnAddressSockets);
        bus.NodeLeft += DropNode;
        bus.Reconnected += () => _ = ReloadSafelyAsync();
    }

    /// <summary>Raised with (userId, online, lastSeen) when a user comes online on some other node
    /// while offline on all others, or goes offline on the last other node that held them.</summary>
    public event Action<string, bool, long>? ElsewhereChanged;

    public bool IsOnlineElsewhere(string userId) => _elsewhere.ContainsKey(userId);

    public int NodesElsewhere(string userId) => _elsewhere.TryGetValue(userId, out var nodes) ? nodes.Length : 0;

    public void PresenceChangedHere(string userId, bool online, long lastSeen) =>
        _bus.SendToAll(BusChannels.Presence, string.Create(CultureInfo.InvariantCulture, $"{(online ? 1 : 0)}:{lastSeen}:{userId}"));

    public void SocketsChangedHere(string userId, int count) => SendCount(BusChannels.Sockets, count, userId);

    public int SocketsElsewhere(string userId)
    {
        if (!_elsewhere.TryGetValue(userId, out var nodes)) return 0;
        var total = 0;
        foreach (var nodeId in nodes) total += _sockets.TryGetValue((userId, nodeId), out var count) ? count : 1;
        return total;
    }

    public void AddressSocketsChangedHere(string address, int count) => SendCount(BusChannels.AddressSockets, count, address);

    /// <summary>A socket count of this node's, as <c>count:key</c> (the key last: an IPv6 address
    /// has colons of its own).</summary>
    private void SendCount(string topic, int count, string key) =>
        _bus.SendToAll(topic, string.Create(CultureInfo.InvariantCulture, $"{count}:{key}"));

    /// <summary>Reads what <see cref="SendCount"/> wrote; false for a malformed body.</summary>
    private static bool TryReadCount(BusMessage message, out int count, out string key)
    {
        var parts = message.Body.Split(':', 2);
        key = parts.Length == 2 ? parts[1] : "";
        count = 0;
        return parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out count);
    }

    public int AddressSocketsElsewhere(string address)
    {
        lock (_gate)
        {
            return _addressSockets.TryGetValue(address, out var byNode) ? byNode.Values.Sum() : 0;
        }
    }

    private void OnAddressSockets(BusMessage message)
    {
        if (!TryReadCount(message, out var count, out var address)) return;
        lock (_gate)
        {
            if (count >= 2)
            {
                if (!_addressSockets.TryGetValue(address, out var byNode)) _addressSockets[address] = byNode = [];
                byNode[message.FromNode] = count;
            }
            else if (_addressSockets.TryGetValue(address, out var byNode) && byNode.Remove(message.FromNode) && byNode.Count == 0)
            {
                _addressSockets.Remove(address);
            }
        }
    }

    private void OnSockets(BusMessage message)
    {
        if (!TryReadCount(message, out var count, out var userId)) return;
        lock (_gate)
        {
            if (count >= 2) _sockets[(userId, message.FromNode)] = count;
            else _sockets.TryRemove((userId, message.FromNode), out _);
        }
    }

    private void OnPresence(BusMessage message)
    {
        var parts = message.Body.Split(':', 3);
        if (parts.Length == 3 && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var lastSeen))
        {
            Apply(message.FromNode, parts[2], parts[0] == "1", lastSeen);
        }
    }

    private void Apply(string nodeId, string userId, bool online, long lastSeen)
    {
        bool flipped;
        lock (_gate)
        {
            var before = _elsewhere.TryGetValue(userId, out var nodes) ? nodes : [];
            var after = online
                ? (before.Contains(nodeId) ? before : [.. before, nodeId])
                : before.Where(n => n != nodeId).ToArray();
            if (after.Length == 0) _elsewhere.TryRemove(userId, out _);
            else _elsewhere[userId] = after;
            if (!online) _sockets.TryRemove((userId, nodeId), out _);
            flipped = (before.Length == 0) != (after.Length == 0);
        }
        if (flipped) ElsewhereChanged?.Invoke(userId, online, lastSeen);
    }

    /// <summary>Forgets a node that left or stopped heartbeating.</summary>
    private void DropNode(string nodeId)
    {
        lock (_gate)
        {
            foreach (var (address, byNode) in _addressSockets.ToList())
            {
                if (byNode.Remove(nodeId) && byNode.Count == 0) _addressSockets.Remove(address);
            }
        }
        var now = _clock.NowMs();
        foreach (var (userId, nodes) in _elsewhere)
        {
            if (nodes.Contains(nodeId)) Apply(nodeId, userId, false, now);
        }
    }

    /// <summary>Loads who is online on the other nodes from their claims.</summary>
    public async Task ReloadAsync()
    {
        var claims = await _bus.ClaimsElsewhereAsync().ConfigureAwait(false);
        // Counts may have been lost with the messages: each node counts as one socket until it says
        // more, so a stale count never keeps a user out.
        _sockets.Clear();
        lock (_gate) _addressSockets.Clear();
        var loaded = claims.GroupBy(c => c.UserId).ToDictionary(g => g.Key, g => g.Select(c => c.NodeId).Distinct().ToArray());
        var now = _clock.NowMs();
        foreach (var (userId, nodes) in _elsewhere)
        {
            foreach (var nodeId in nodes.Where(n => !loaded.TryGetValue(userId, out var l) || !l.Contains(n)).ToList())
            {
                Apply(nodeId, userId, false, now);
            }
        }
        foreach (var (userId, nodes) in loaded)
        {
            foreach (var nodeId in nodes) Apply(nodeId, userId, true, now);
        }
    }

    private async Task ReloadSafelyAsync()
    {
        try
        {
            await ReloadAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The next presence notice or heartbeat corrects it.
        }
    }
}
