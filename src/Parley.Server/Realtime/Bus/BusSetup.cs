using Microsoft.Extensions.Options;
using Parley.Server.Configuration;
using Parley.Server.Realtime.Cluster;

namespace Parley.Server.Realtime.Bus;

public static class BusSetup
{
    /// <summary>The bus named by <c>Parley:Cluster:Bus</c> (in memory when absent) and, with a bus
    /// between nodes, the cluster logic over it.</summary>
    public static IServiceCollection AddParleyBus(this IServiceCollection services, ParleyOptions options)
    {
        var nodeId = string.IsNullOrWhiteSpace(options.NodeId) ? Guid.NewGuid().ToString("N") : options.NodeId.Trim();
        if (nodeId.Contains(BusChannels.Separator, StringComparison.Ordinal)) throw new InvalidOperationException("Parley:NodeId must not contain control characters.");
        var cluster = options.Cluster;
        switch (cluster.Bus?.Trim().ToLowerInvariant())
        {
            case null or "" or "inmemory" or "none":
                services.AddSingleton<IClusterBus>(new InMemoryBus(nodeId));
                return services;
            case "postgres":
                if (string.Equals(options.Storage.Provider.Trim(), Storage.DynamoDb.DynamoDbBackend.Name, StringComparison.OrdinalIgnoreCase))
                {
                    // Over DynamoDB the bus carries the events themselves; a NOTIFY holds 8000 bytes.
                    throw new InvalidOperationException("A DynamoDB store needs the Redis bus (Parley:Cluster:Bus=Redis): the Postgres bus cannot carry its events.");
                }
                var connection = string.IsNullOrWhiteSpace(cluster.PostgresConnection) ? options.Storage.ConnectionString : cluster.PostgresConnection;
                if (string.IsNullOrWhiteSpace(connection))
                {
                    throw new InvalidOperationException("The Postgres bus needs Parley:Cluster:PostgresConnection (or a Postgres store's Parley:Storage:ConnectionString).");
                }
                services.AddSingleton<RemoteBus>(sp => new PostgresBus(nodeId, connection, sp.GetRequiredService<IOptions<ParleyOptions>>().Value.Cluster,
                    sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<PostgresBus>>()));
                break;
            case "redis":
                if (string.IsNullOrWhiteSpace(cluster.RedisConnection))
                {
                    throw new InvalidOperationException("The Redis bus needs Parley:Cluster:RedisConnection (for example localhost:6379).");
                }
                services.AddSingleton<RemoteBus>(sp => new RedisBus(nodeId, cluster.RedisConnection, sp.GetRequiredService<IOptions<ParleyOptions>>().Value.Cluster,
                    sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<RedisBus>>()));
                break;
            default:
                throw new InvalidOperationException($"Unknown Parley:Cluster:Bus '{cluster.Bus}'. Use Postgres or Redis, or leave it out for one node.");
        }
        services.AddSingleton<IClusterBus>(sp => sp.GetRequiredService<RemoteBus>());
        services.AddSingleton<ClusterPresence>();
        services.AddSingleton<IPresenceCluster>(sp => sp.GetRequiredService<ClusterPresence>());
        services.AddSingleton<ClusterRelay>();
        services.AddSingleton<IClusterRelay>(sp => sp.GetRequiredService<ClusterRelay>());
        services.AddSingleton<ClusterDelivery>();
        services.AddHostedService<ClusterService>();
        return services;
    }
}
