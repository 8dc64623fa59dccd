using Parley.Server.Configuration;
using Parley.Server.Realtime.Cluster;
using Parley.Server.Storage.Postgres;
using Parley.Server.Storage.Sqlite;

namespace Parley.Server.Storage;

public static class StorageSetup
{
    public static IServiceCollection AddParleyStorage(this IServiceCollection services, ParleyOptions options)
    {
        services.AddSingleton<EventStream>();
        services.AddSingleton<IEventPublisher>(sp => sp.GetRequiredService<EventStream>());
        switch (options.Storage.Provider.ToLowerInvariant())
        {
            case "sqlite":
                services.AddSingleton<SqliteDatabase>();
                services.AddSingleton<SqliteStore>();
                services.AddSingleton<IParleyStore>(sp => sp.GetRequiredService<SqliteStore>());
                break;
            case "postgres":
                services.AddSingleton<PostgresDatabase>();
                services.AddSingleton<PostgresStore>();
                services.AddSingleton<IParleyStore>(sp => sp.GetRequiredService<PostgresStore>());
                break;
            default:
                throw new InvalidOperationException($"Unknown Parley:Storage:Provider '{options.Storage.Provider}'. Use Sqlite or Postgres.");
        }
        services.AddHostedService<StoreStartup>();
        // After StoreStartup: the cluster starts on a migrated database.
        if (options.Storage.Provider.Equals("postgres", StringComparison.OrdinalIgnoreCase)) services.AddParleyCluster();
        return services;
    }
}

/// <summary>Opens and migrates the store and loads the signing and VAPID keys before the server takes requests.</summary>
internal sealed class StoreStartup(IParleyStore store, Auth.TokenService tokens, Push.VapidKeys vapid) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.InitializeAsync(cancellationToken);
        await tokens.InitializeAsync();
        await vapid.InitializeAsync();
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
