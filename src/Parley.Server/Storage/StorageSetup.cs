using Microsoft.Extensions.DependencyInjection.Extensions;
using Parley.Server.Common;
using Parley.Server.Configuration;
using Parley.Server.Storage.DynamoDb;
using Parley.Server.Storage.Postgres;
using Parley.Server.Storage.Sqlite;

namespace Parley.Server.Storage;

public static class StorageSetup
{
    /// <summary>The backends by their <c>Parley:Storage:Provider</c> name. Each registers itself from
    /// its own folder; a new backend adds one line here.</summary>
    private static readonly Dictionary<string, Action<IServiceCollection>> Backends = new(StringComparer.OrdinalIgnoreCase)
    {
        [SqliteBackend.Name] = SqliteBackend.Register,
        [PostgresBackend.Name] = PostgresBackend.Register,
        [DynamoDbBackend.Name] = DynamoDbBackend.Register,
    };

    public static IServiceCollection AddParleyStorage(this IServiceCollection services, ParleyOptions options)
    {
        services.AddSingleton<EventStream>();
        services.AddSingleton<IEventPublisher>(sp => sp.GetRequiredService<EventStream>());
        // TryAdd: a test host may bring its own slices (smaller ones, or a stop half way).
        services.TryAddSingleton<SenderScrubSlices>();
        if (!Backends.TryGetValue(options.Storage.Provider, out var register))
        {
            throw new InvalidOperationException(
                $"Unknown Parley:Storage:Provider '{options.Storage.Provider}'. Use {string.Join(", ", Backends.Keys)}.");
        }
        // First of the hosted services: whatever a backend starts (a cluster node) starts on a migrated store.
        services.AddHostedService<StoreStartup>();
        register(services);
        return services;
    }

    /// <summary>Registers a backend's store as the whole <see cref="IParleyStore"/> and as each part
    /// consumers depend on, all the same instance.</summary>
    internal static void AddStore<TStore>(this IServiceCollection services) where TStore : class, IParleyStore
    {
        services.AddSingleton<TStore>();
        services.AddSingleton<IParleyStore>(sp => sp.GetRequiredService<TStore>());
        services.AddSingleton<IAccountStore>(sp => sp.GetRequiredService<TStore>());
        services.AddSingleton<IMediaStore>(sp => sp.GetRequiredService<TStore>());
        services.AddSingleton<IChatStore>(sp => sp.GetRequiredService<TStore>());
        services.AddSingleton<IEventLog>(sp => sp.GetRequiredService<TStore>());
        services.AddSingleton<IChatSettingsStore>(sp => sp.GetRequiredService<TStore>());
        services.AddSingleton<IPushStore>(sp => sp.GetRequiredService<TStore>());
        services.AddSingleton<IExportStore>(sp => sp.GetRequiredService<TStore>());
        services.AddSingleton<IExternalIdentityStore>(sp => sp.GetRequiredService<TStore>());
        services.AddSingleton<ISecurityStore>(sp => sp.GetRequiredService<TStore>());
        services.AddSingleton<IMessageSearchStore>(sp => sp.GetRequiredService<TStore>());
        services.AddSingleton<IWsTicketStore>(sp => sp.GetRequiredService<TStore>());
    }
}

/// <summary>Opens and migrates the store, finishes the deletions a stop left under way (so no one
/// reads an old name after a restart either), checks the secrets key, and loads the signing and
/// VAPID keys before the server takes requests.</summary>
internal sealed class StoreStartup(IParleyStore store, Auth.SecretSeal seal, Auth.TokenService tokens, Push.VapidKeys vapid,
    Blobs.BlobDeletions blobDeletions, TimeProvider clock, ILogger<StoreStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.InitializeAsync(cancellationToken);
        var finished = await store.FinishAccountDeletionsAsync(clock.NowMs());
        if (finished.Accounts > 0) StorageLog.SenderScrubsResumed(logger, finished.Accounts);
        await blobDeletions.DeleteAsync(finished.ForgottenMedia, cancellationToken);
        await seal.CheckKeyAsync(store, clock.NowMs());
        await tokens.InitializeAsync();
        await vapid.InitializeAsync();
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
