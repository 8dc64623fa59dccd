using System.Globalization;
using System.Net.WebSockets;
using Microsoft.Extensions.Options;
using Npgsql;
using Parley.Server.Configuration;
using Parley.Server.Storage.Postgres;

namespace Parley.Server.Realtime.Cluster;

/// <summary>
/// Runs this node's part of the cluster: before the server takes requests it claims its channel,
/// starts listening, and hooks the ordered delivery into the store's commits; then it keeps a
/// dedicated LISTEN connection (reconnecting and catching up if it drops), heartbeats the node's
/// rows, and writes socket registrations. If the database stays away longer than the rows live,
/// it closes this node's sockets: other nodes no longer route to it, and clients resume elsewhere
/// (or here, later) from the store.
/// </summary>
internal sealed class ClusterService(
    ClusterNode node, ClusterDelivery delivery, PostgresDatabase db, Presence presence, LocalFanOut fanOut,
    ConnectionRegistry registry, Auth.SessionRevocations revocations, IOptions<ParleyOptions> options, TimeProvider clock,
    ILogger<ClusterService> logger)
    : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _loops = [];
    private NpgsqlConnection? _listener;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await node.StartAsync(cancellationToken);
        node.ElsewhereChanged += presence.RemoteChanged;
        delivery.Lost += CloseAll;
        revocations.Revoked += AnnounceRevocation;
        db.Observer = delivery;
        db.BeforeSync = node.WaitRegisteredAsync;
        var position = await ListenAsync(cancellationToken);
        delivery.Start(position);
        await node.LoadElsewhereAsync();
        ClusterLog.Listening(logger, node.NodeId, node.Channel, position);
        _loops.Add(Task.Run(() => ListenLoopAsync(_stopping.Token), CancellationToken.None));
        _loops.Add(Task.Run(() => HeartbeatLoopAsync(_stopping.Token), CancellationToken.None));
        _loops.Add(Task.Run(() => node.RunRegistrationsAsync(_stopping.Token), CancellationToken.None));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        revocations.Revoked -= AnnounceRevocation;
        await _stopping.CancelAsync();
        try
        {
            await Task.WhenAll(_loops).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
        {
            // Shutting down regardless.
        }
        if (_listener is not null) await _listener.DisposeAsync();
        try
        {
            await node.LeaveAsync();
        }
        catch (NpgsqlException)
        {
            // The rows expire on their own.
        }
    }

    /// <summary>Opens the LISTEN connection and returns the committed position read after LISTEN took effect.</summary>
    private async Task<long> ListenAsync(CancellationToken ct)
    {
        var connection = await db.DataSource.OpenConnectionAsync(ct);
        connection.Notification += (_, e) => OnNotification(e.Channel, e.Payload);
        // Named, so an operator (or a test) can tell this connection from the pool's.
        await connection.ExecuteAsync("SELECT set_config('application_name', $1, false)", "parley-listener " + node.NodeId);
        await connection.ExecuteAsync($"LISTEN \"{node.Channel}\"");
        await connection.ExecuteAsync($"LISTEN \"{ClusterNode.AllChannel}\"");
        var position = await connection.ScalarAsync("SELECT pos FROM stream WHERE id = 1");
        _listener = connection;
        return position;
    }

    private async Task ListenLoopAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                // Notifications are raised from inside WaitAsync, one at a time, in commit order.
                if (!await _listener!.WaitAsync(TimeSpan.FromSeconds(5), stopping))
                {
                    await _listener.ExecuteAsync("SELECT 1"); // a dead connection shows itself here
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                ClusterLog.ListenerFailed(logger, ex);
                await ReconnectAsync(stopping);
            }
        }
    }

    private async Task ReconnectAsync(CancellationToken stopping)
    {
        if (_listener is not null) await _listener.DisposeAsync();
        for (var delay = 250; !stopping.IsCancellationRequested; delay = Math.Min(delay * 2, 5000))
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(delay), clock, stopping);
                var position = await ListenAsync(stopping);
                delivery.CatchUp(position);
                await node.LoadElsewhereAsync();
                return;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                ClusterLog.ListenerFailed(logger, ex);
            }
        }
    }

    private void OnNotification(string channel, string payload)
    {
        if (channel == ClusterNode.AllChannel)
        {
            var parts = payload.Split(':', 5);
            if (parts[0] == "p" && parts.Length == 5 && long.TryParse(parts[3], CultureInfo.InvariantCulture, out var lastSeen))
            {
                node.ApplyPresence(parts[1], parts[4], parts[2] == "1", lastSeen);
            }
            else if (parts[0] == "x" && parts.Length == 2 && parts[1] != node.NodeId)
            {
                node.DropNode(parts[1]);
            }
            else if (parts[0] == "r" && parts.Length == 5 && parts[1] != node.NodeId && long.TryParse(parts[4], CultureInfo.InvariantCulture, out var revokedAt))
            {
                // A session (or all of a user's) ended on another node: refuse its access tokens
                // here too from now on, and close its sockets.
                var sessionId = parts[3].Length == 0 ? null : parts[3];
                revocations.Apply(new Storage.SessionRevocation(parts[2], sessionId, revokedAt));
                EphemeralEvents.CloseSessionSockets(registry, parts[2], sessionId);
            }
            return;
        }
        if (payload.StartsWith("t:", StringComparison.Ordinal))
        {
            if (ClusterRelay.Parse(payload) is var (users, frame)) fanOut.BroadcastLocal(users, frame);
            return;
        }
        delivery.OnNotification(payload);
    }

    private void AnnounceRevocation(string userId, string? sessionId, long revokedAt) =>
        _ = node.NotifyAsync(ClusterNode.AllChannel, $"r:{node.NodeId}:{userId}:{sessionId}:{revokedAt.ToString(CultureInfo.InvariantCulture)}", toNode: false);

    private async Task HeartbeatLoopAsync(CancellationToken stopping)
    {
        var settings = options.Value.Cluster;
        var lastOk = clock.GetUtcNow();
        var lost = false;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, settings.HeartbeatSeconds)), clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping))
            {
                try
                {
                    var live = await node.HeartbeatAsync();
                    lastOk = clock.GetUtcNow();
                    if (lost)
                    {
                        // Back after an outage: the rows may have expired, so claim every local user again.
                        lost = false;
                        node.MarkAllDirty();
                    }
                    foreach (var gone in node.KnownNodes().Where(n => !live.Contains(n)))
                    {
                        ClusterLog.NodeGone(logger, gone);
                        node.DropNode(gone);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    ClusterLog.HeartbeatFailed(logger, ex);
                    if (!lost && clock.GetUtcNow() - lastOk > TimeSpan.FromSeconds(settings.ConnectionTtlSeconds - settings.HeartbeatSeconds))
                    {
                        lost = true;
                        CloseAll("the database did not answer heartbeats");
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private void CloseAll(string reason)
    {
        var users = node.LocalUsers();
        ClusterLog.ClosingAll(logger, users.Length, reason);
        foreach (var userId in users)
        {
            foreach (var connection in registry.For(userId)) connection.Close(WebSocketCloseStatus.EndpointUnavailable, "Reconnect and resume");
        }
    }
}

public static class ClusterSetup
{
    /// <summary>Cross-node delivery over PostgreSQL LISTEN/NOTIFY (the Postgres provider).</summary>
    public static IServiceCollection AddParleyCluster(this IServiceCollection services)
    {
        services.AddSingleton<ClusterNode>();
        services.AddSingleton<IPresenceCluster>(sp => sp.GetRequiredService<ClusterNode>());
        services.AddSingleton<ClusterRelay>();
        services.AddSingleton<IClusterRelay>(sp => sp.GetRequiredService<ClusterRelay>());
        services.AddSingleton<ClusterDelivery>();
        services.AddHostedService<ClusterService>();
        return services;
    }
}
