using Npgsql;
using Parley.Server.Configuration;

namespace Parley.Server.Realtime.Bus;

/// <summary>
/// The bus over PostgreSQL LISTEN/NOTIFY, on a database of its own choosing (the store's by
/// default, whatever the store is). Each node listens on <c>parley_&lt;md5(node id)&gt;</c> and on
/// <c>parley_all</c> over one dedicated connection, and registers in <c>bus_nodes</c>; its claims
/// are rows of <c>bus_claims</c>. Messages go out as autocommit <c>pg_notify</c> calls, many per
/// round trip, never inside a store transaction, so they never hold a store commit back.
/// </summary>
internal sealed class PostgresBus : RemoteBus
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly string _channel;
    private NpgsqlConnection? _listener;
    private Task? _listenLoop;

    public PostgresBus(string nodeId, string connectionString, ClusterOptions options, TimeProvider clock, ILogger<PostgresBus> logger)
        : base(nodeId, options, clock, logger)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        if (string.IsNullOrEmpty(builder.ConnectionStringBuilder.ApplicationName)) builder.ConnectionStringBuilder.ApplicationName = "parley-bus";
        _dataSource = builder.Build();
        _channel = BusChannels.PgNode(nodeId);
    }

    public override string Name => "Postgres";

    protected override async Task ConnectAsync(CancellationToken ct)
    {
        await using (var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false))
        {
            // Nodes that start together must not race to create the tables.
            await ExecuteAsync(connection,
                $"""
                BEGIN;
                SELECT pg_advisory_xact_lock(hashtext('parley_bus_schema'));
                CREATE TABLE IF NOT EXISTS {BusChannels.PgNodesTable} (
                    node_id text PRIMARY KEY,
                    expires_at timestamptz NOT NULL);
                CREATE TABLE IF NOT EXISTS {BusChannels.PgClaimsTable} (
                    user_id text NOT NULL,
                    node_id text NOT NULL,
                    expires_at timestamptz NOT NULL,
                    PRIMARY KEY (user_id, node_id));
                CREATE INDEX IF NOT EXISTS {BusChannels.PgClaimsTable}_node ON {BusChannels.PgClaimsTable} (node_id);
                COMMIT;
                """).ConfigureAwait(false);
            await ExecuteAsync(connection, $"DELETE FROM {BusChannels.PgClaimsTable} WHERE node_id = $1", NodeId).ConfigureAwait(false);
        }
        await ListenAsync(ct).ConfigureAwait(false);
        _listenLoop = Task.Run(ListenLoopAsync, CancellationToken.None);
    }

    private async Task ListenAsync(CancellationToken ct)
    {
        var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        connection.Notification += (_, e) => Dispatch(e.Payload);
        await ExecuteAsync(connection, "SELECT set_config('application_name', $1, false)", BusChannels.PgListenerName(NodeId)).ConfigureAwait(false);
        await ExecuteAsync(connection, $"LISTEN \"{_channel}\"").ConfigureAwait(false);
        await ExecuteAsync(connection, $"LISTEN \"{BusChannels.PgAll}\"").ConfigureAwait(false);
        _listener = connection;
    }

    private async Task ListenLoopAsync()
    {
        while (!Stopping.IsCancellationRequested)
        {
            try
            {
                // Notifications are raised from inside WaitAsync, one at a time, in arrival order.
                if (!await _listener!.WaitAsync(TimeSpan.FromSeconds(5), Stopping).ConfigureAwait(false))
                {
                    await ExecuteAsync(_listener, "SELECT 1").ConfigureAwait(false); // a dead connection shows itself here
                }
            }
            catch (OperationCanceledException) when (Stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                BusLog.ConnectionFailed(Logger, ex, Name);
                await ReconnectAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task ReconnectAsync()
    {
        if (_listener is not null) await _listener.DisposeAsync().ConfigureAwait(false);
        for (var delay = 250; !Stopping.IsCancellationRequested; delay = Math.Min(delay * 2, 5000))
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(delay), Clock, Stopping).ConfigureAwait(false);
                await ListenAsync(Stopping).ConfigureAwait(false);
                OnReconnected();
                return;
            }
            catch (OperationCanceledException) when (Stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                BusLog.ConnectionFailed(Logger, ex, Name);
            }
        }
    }

    protected override async Task PublishAsync(IReadOnlyList<Outgoing> batch)
    {
        var channels = new string[batch.Count];
        var payloads = new string[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            channels[i] = batch[i].Node is { } node ? BusChannels.PgNode(node) : BusChannels.PgAll;
            payloads[i] = batch[i].Wire(NodeId);
        }
        await using var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
        // WITH ORDINALITY keeps the queue's order.
        await ExecuteAsync(connection,
            "SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS x(c, p, n) ORDER BY n",
            channels, payloads).ConfigureAwait(false);
    }

    protected override async Task WriteClaimsAsync(string[] users, bool[] held)
    {
        await using var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
        batch.BatchCommands.Add(Command(
            $"""
            INSERT INTO {BusChannels.PgClaimsTable} (user_id, node_id, expires_at)
            SELECT u, $3, now() + make_interval(secs => $4) FROM unnest($1::text[], $2::bool[]) AS x(u, h) WHERE h
            ON CONFLICT (user_id, node_id) DO UPDATE SET expires_at = excluded.expires_at
            """, users, held, NodeId, Ttl.TotalSeconds));
        batch.BatchCommands.Add(Command(
            $"DELETE FROM {BusChannels.PgClaimsTable} WHERE node_id = $3 AND user_id IN (SELECT u FROM unnest($1::text[], $2::bool[]) AS x(u, h) WHERE NOT h)",
            users, held, NodeId));
        batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
        await batch.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    private int _heartbeats;

    protected override async Task<HashSet<string>> HeartbeatAsync()
    {
        await using var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(Command(
            $"""
            INSERT INTO {BusChannels.PgNodesTable} (node_id, expires_at) VALUES ($1, now() + make_interval(secs => $2))
            ON CONFLICT (node_id) DO UPDATE SET expires_at = excluded.expires_at
            """, NodeId, Ttl.TotalSeconds));
        batch.BatchCommands.Add(Command(
            $"UPDATE {BusChannels.PgClaimsTable} SET expires_at = now() + make_interval(secs => $2) WHERE node_id = $1", NodeId, Ttl.TotalSeconds));
        if (++_heartbeats % 30 == 1)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand($"DELETE FROM {BusChannels.PgClaimsTable} WHERE expires_at < now() - interval '1 minute'"));
            batch.BatchCommands.Add(new NpgsqlBatchCommand($"DELETE FROM {BusChannels.PgNodesTable} WHERE expires_at < now() - interval '1 minute'"));
        }
        batch.BatchCommands.Add(Command($"SELECT node_id FROM {BusChannels.PgNodesTable} WHERE expires_at > now() AND node_id <> $1", NodeId));
        var live = new HashSet<string>();
        await using var reader = await batch.ExecuteReaderAsync().ConfigureAwait(false);
        while (await reader.ReadAsync().ConfigureAwait(false)) live.Add(reader.GetString(0));
        return live;
    }

    protected override async Task LeaveAsync()
    {
        await using var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(Command($"DELETE FROM {BusChannels.PgClaimsTable} WHERE node_id = $1", NodeId));
        batch.BatchCommands.Add(Command($"DELETE FROM {BusChannels.PgNodesTable} WHERE node_id = $1", NodeId));
        batch.BatchCommands.Add(Command("SELECT pg_notify($1, $2)", BusChannels.PgAll, BusChannels.Encode(BusChannels.Leaving, NodeId, "")));
        await batch.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    protected override async Task<IReadOnlyDictionary<string, string[]>> LocateCoreAsync(IReadOnlyCollection<string> userIds)
    {
        await using var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
        await using var command = Command(connection,
            $"""
            SELECT n.node_id, coalesce(array_agg(c.user_id) FILTER (WHERE c.user_id IS NOT NULL), ARRAY[]::text[])
            FROM {BusChannels.PgNodesTable} n
            LEFT JOIN {BusChannels.PgClaimsTable} c ON c.node_id = n.node_id AND c.user_id = ANY($1) AND c.expires_at > now()
            WHERE n.node_id <> $2 AND n.expires_at > now()
            GROUP BY n.node_id
            """, userIds as string[] ?? [.. userIds], NodeId);
        var located = new Dictionary<string, string[]>();
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        while (await reader.ReadAsync().ConfigureAwait(false)) located[reader.GetString(0)] = reader.GetFieldValue<string[]>(1);
        return located;
    }

    protected override async Task<IReadOnlyList<(string NodeId, string UserId)>> ClaimsElsewhereCoreAsync()
    {
        await using var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
        await using var command = Command(connection,
            $"SELECT node_id, user_id FROM {BusChannels.PgClaimsTable} WHERE node_id <> $1 AND expires_at > now()", NodeId);
        var claims = new List<(string, string)>();
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        while (await reader.ReadAsync().ConfigureAwait(false)) claims.Add((reader.GetString(0), reader.GetString(1)));
        return claims;
    }

    public override async ValueTask DisposeAsync()
    {
        if (_listenLoop is not null) await _listenLoop.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_listener is not null) await _listener.DisposeAsync().ConfigureAwait(false);
        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }

    private static NpgsqlBatchCommand Command(string sql, params object[] args)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var arg in args) command.Parameters.Add(new NpgsqlParameter { Value = arg });
        return command;
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, params object[] args)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (var arg in args) command.Parameters.Add(new NpgsqlParameter { Value = arg });
        return command;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, params object[] args)
    {
        await using var command = Command(connection, sql, args);
        await command.ExecuteNonQueryAsync().ConfigureAwait(false);
    }
}
