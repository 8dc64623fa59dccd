using Parley.Server.Common;
using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Npgsql;
using Parley.Server.Configuration;
using Parley.Server.Storage.Postgres;

namespace Parley.Server.Realtime.Cluster;

/// <summary>
/// This node's place in the cluster: its id and channel, its row in <c>nodes</c>, and its users'
/// rows in <c>connections</c> (which node holds sockets of which user, heartbeated, with an
/// expiry), plus what it knows of the other nodes' users for presence and typing.
/// <para>
/// A user's row is written (in a transaction that first takes a share lock on the stream row)
/// before their events are read back for them: an event-creating transaction either committed
/// before the row (and the read-back finds its events) or started after it (and, looking up the
/// recipients' nodes just before its commit, finds the row and notifies this node). So a client
/// that connects with <c>since</c> sees every event exactly once, from the store or live.
/// </para>
/// </summary>
internal sealed class ClusterNode : IPresenceCluster
{
    public const string AllChannel = "parley_all";

    private readonly PostgresDatabase _db;
    private readonly ClusterOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _local = [];
    private readonly HashSet<string> _dirty = [];
    private readonly Dictionary<string, TaskCompletionSource> _registering = [];
    private readonly Channel<bool> _wake = System.Threading.Channels.Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ConcurrentDictionary<string, string[]> _elsewhere = new();
    private int _heartbeats;

    public ClusterNode(PostgresDatabase db, IOptions<ParleyOptions> options, TimeProvider clock, ILogger<ClusterNode> logger)
    {
        _db = db;
        _options = options.Value.Cluster;
        _clock = clock;
        _logger = logger;
        NodeId = string.IsNullOrWhiteSpace(options.Value.NodeId) ? Guid.NewGuid().ToString("N") : options.Value.NodeId;
    }

    public string NodeId { get; }

    /// <summary>This node's notification channel: <c>parley_</c> and the md5 of its id (computed the
    /// same way in SQL by the nodes that notify it).</summary>
    public string Channel { get; private set; } = "";

    /// <summary>Raised with (userId, online, lastSeen) when a user comes online on some other node
    /// while offline on all others, or goes offline on the last other node that held them.</summary>
    public event Action<string, bool, long>? ElsewhereChanged;

    internal NpgsqlDataSource DataSource => _db.DataSource;

    private double Ttl => Math.Max(_options.ConnectionTtlSeconds, 2 * _options.HeartbeatSeconds);

    internal async Task StartAsync(CancellationToken ct)
    {
        await using var connection = await DataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        Channel = await connection.QueryFirstAsync(r => r.GetString(0), "SELECT 'parley_' || md5($1)", NodeId).ConfigureAwait(false) ?? "";
        await connection.ExecuteAsync(
            """
            DELETE FROM connections WHERE node_id = $1;
            """, NodeId).ConfigureAwait(false);
        await HeartbeatAsync().ConfigureAwait(false);
    }

    // ---- this node's sockets -------------------------------------------------------------------

    public void SocketOpened(string userId)
    {
        lock (_gate)
        {
            var count = _local.GetValueOrDefault(userId) + 1;
            _local[userId] = count;
            _dirty.Add(userId);
            if (count == 1 && !_registering.ContainsKey(userId))
            {
                _registering[userId] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
        _wake.Writer.TryWrite(true);
    }

    public void SocketClosed(string userId)
    {
        lock (_gate)
        {
            var count = _local.GetValueOrDefault(userId) - 1;
            if (count <= 0) _local.Remove(userId);
            else _local[userId] = count;
            _dirty.Add(userId);
        }
        _wake.Writer.TryWrite(true);
    }

    internal string[] LocalUsers()
    {
        lock (_gate) return [.. _local.Keys];
    }

    /// <summary>Waits until this node's claim on the user's events is committed (see the class summary).</summary>
    internal async ValueTask WaitRegisteredAsync(string userId)
    {
        Task? pending;
        lock (_gate) pending = _registering.GetValueOrDefault(userId)?.Task;
        if (pending is not null) await pending.WaitAsync(TimeSpan.FromSeconds(15)).ConfigureAwait(false);
    }

    /// <summary>Writes changed socket counts, many users per transaction, until stopped.</summary>
    internal async Task RunRegistrationsAsync(CancellationToken stopping)
    {
        try
        {
            while (await _wake.Reader.WaitToReadAsync(stopping).ConfigureAwait(false))
            {
                _wake.Reader.TryRead(out _);
                string[] users;
                int[] counts;
                TaskCompletionSource?[] waiters;
                lock (_gate)
                {
                    users = [.. _dirty];
                    _dirty.Clear();
                    counts = users.Select(u => _local.GetValueOrDefault(u)).ToArray();
                    waiters = users.Select(u => _registering.GetValueOrDefault(u)).ToArray();
                }
                if (users.Length == 0) continue;
                try
                {
                    await WriteConnectionsAsync(users, counts, stopping).ConfigureAwait(false);
                    lock (_gate)
                    {
                        for (var i = 0; i < users.Length; i++)
                        {
                            if (waiters[i] is { } waiter && _registering.GetValueOrDefault(users[i]) == waiter) _registering.Remove(users[i]);
                        }
                    }
                    foreach (var waiter in waiters) waiter?.TrySetResult();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Waiters keep waiting (their sync times out if the database stays away); retry soon.
                    ClusterLog.RegistrationFailed(_logger, ex);
                    lock (_gate) _dirty.UnionWith(users);
                    await Task.Delay(TimeSpan.FromMilliseconds(500), _clock, stopping).ConfigureAwait(false);
                    _wake.Writer.TryWrite(true);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private async Task WriteConnectionsAsync(string[] users, int[] counts, CancellationToken ct)
    {
        await using var connection = await DataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
        // The share lock waits for any event-creating transaction in flight and holds the next one
        // off until this commits: see the class summary.
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT pos FROM stream WHERE id = 1 FOR SHARE"));
        batch.BatchCommands.Add(PgCommands.BatchCommand(
            """
            INSERT INTO connections (user_id, node_id, sockets, expires_at)
            SELECT u, $3, n, now() + make_interval(secs => $4) FROM unnest($1::text[], $2::int[]) AS x(u, n) WHERE n > 0
            ON CONFLICT (user_id, node_id) DO UPDATE SET sockets = excluded.sockets, expires_at = excluded.expires_at
            """, users, counts, NodeId, Ttl));
        batch.BatchCommands.Add(PgCommands.BatchCommand(
            "DELETE FROM connections WHERE node_id = $3 AND user_id IN (SELECT u FROM unnest($1::text[], $2::int[]) AS x(u, n) WHERE n = 0)",
            users, counts, NodeId));
        batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
        await batch.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Renews this node's rows and returns the other live nodes.</summary>
    internal async Task<HashSet<string>> HeartbeatAsync()
    {
        await using var connection = await DataSource.OpenConnectionAsync().ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(PgCommands.BatchCommand(
            """
            INSERT INTO nodes (node_id, started_at, expires_at) VALUES ($1, now(), now() + make_interval(secs => $2))
            ON CONFLICT (node_id) DO UPDATE SET expires_at = excluded.expires_at
            """, NodeId, Ttl));
        batch.BatchCommands.Add(PgCommands.BatchCommand(
            "UPDATE connections SET expires_at = now() + make_interval(secs => $2) WHERE node_id = $1", NodeId, Ttl));
        if (++_heartbeats % 30 == 1)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM connections WHERE expires_at < now() - interval '1 minute'"));
            batch.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM nodes WHERE expires_at < now() - interval '1 minute'"));
        }
        batch.BatchCommands.Add(PgCommands.BatchCommand("SELECT node_id FROM nodes WHERE expires_at > now() AND node_id <> $1", NodeId));
        var live = new HashSet<string>();
        await using var reader = await batch.ExecuteReaderAsync().ConfigureAwait(false);
        while (await reader.ReadAsync().ConfigureAwait(false)) live.Add(reader.GetString(0));
        return live;
    }

    /// <summary>Takes this node out: its rows go, and the others hear it left.</summary>
    internal async Task LeaveAsync()
    {
        await using var connection = await DataSource.OpenConnectionAsync().ConfigureAwait(false);
        await connection.ExecuteAsync("DELETE FROM connections WHERE node_id = $1", NodeId).ConfigureAwait(false);
        await connection.ExecuteAsync("DELETE FROM nodes WHERE node_id = $1", NodeId).ConfigureAwait(false);
        await connection.ExecuteAsync("SELECT pg_notify($1, $2)", AllChannel, "x:" + NodeId).ConfigureAwait(false);
    }

    /// <summary>Marks every local user for re-registration (after the rows may have expired).</summary>
    internal void MarkAllDirty()
    {
        lock (_gate)
        {
            foreach (var user in _local.Keys) _dirty.Add(user);
        }
        _wake.Writer.TryWrite(true);
    }

    // ---- other nodes' users (presence, typing) --------------------------------------------------

    public bool IsOnlineElsewhere(string userId) => _elsewhere.ContainsKey(userId);

    /// <summary>The other nodes holding sockets of the user.</summary>
    internal string[] NodesOf(string userId) => _elsewhere.TryGetValue(userId, out var nodes) ? nodes : [];

    public void PresenceChangedHere(string userId, bool online, long lastSeen) =>
        _ = NotifyAsync(AllChannel, $"p:{NodeId}:{(online ? 1 : 0)}:{lastSeen}:{userId}", toNode: false);

    /// <summary>Applies another node's presence notice.</summary>
    internal void ApplyPresence(string nodeId, string userId, bool online, long lastSeen)
    {
        if (nodeId == NodeId) return;
        bool flipped;
        lock (_gate)
        {
            var before = NodesOf(userId);
            var after = online
                ? (before.Contains(nodeId) ? before : [.. before, nodeId])
                : before.Where(n => n != nodeId).ToArray();
            if (after.Length == 0) _elsewhere.TryRemove(userId, out _);
            else _elsewhere[userId] = after;
            flipped = (before.Length == 0) != (after.Length == 0);
        }
        if (flipped) ElsewhereChanged?.Invoke(userId, online, lastSeen);
    }

    /// <summary>Forgets a node that left or stopped heartbeating.</summary>
    internal void DropNode(string nodeId)
    {
        var now = _clock.NowMs();
        foreach (var (userId, nodes) in _elsewhere)
        {
            if (nodes.Contains(nodeId)) ApplyPresence(nodeId, userId, false, now);
        }
    }

    internal IEnumerable<string> KnownNodes() => _elsewhere.Values.SelectMany(n => n).Distinct().ToList();

    /// <summary>Loads who is online on the other nodes from the connection rows (on start, and after
    /// the listener reconnects, when notices may have been missed).</summary>
    internal async Task LoadElsewhereAsync()
    {
        var rows = await _db.ReadConnectionAsync(c => c.QueryAsync(r => (User: r.GetString(0), Node: r.GetString(1)),
            "SELECT user_id, node_id FROM connections WHERE node_id <> $1 AND sockets > 0 AND expires_at > now()", NodeId)).ConfigureAwait(false);
        var loaded = rows.GroupBy(r => r.User).ToDictionary(g => g.Key, g => g.Select(r => r.Node).Distinct().ToArray());
        var now = _clock.NowMs();
        foreach (var (userId, nodes) in _elsewhere)
        {
            foreach (var nodeId in nodes.Where(n => !loaded.TryGetValue(userId, out var l) || !l.Contains(n)).ToList())
            {
                ApplyPresence(nodeId, userId, false, now);
            }
        }
        foreach (var (userId, nodes) in loaded)
        {
            foreach (var nodeId in nodes) ApplyPresence(nodeId, userId, true, now);
        }
    }

    /// <summary>Sends a notification; <paramref name="toNode"/> means <paramref name="target"/> is a node id.</summary>
    internal async Task NotifyAsync(string target, string payload, bool toNode)
    {
        try
        {
            await using var command = DataSource.CreateCommand(toNode ? "SELECT pg_notify('parley_' || md5($1), $2)" : "SELECT pg_notify($1, $2)");
            command.Parameters.Add(new NpgsqlParameter { Value = target });
            command.Parameters.Add(new NpgsqlParameter { Value = payload });
            await command.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Ephemeral (typing, presence): the next change or a chat list fetch corrects it.
            ClusterLog.NotifyFailed(_logger, ex);
        }
    }
}
