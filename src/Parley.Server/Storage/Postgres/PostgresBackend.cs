using Parley.Server.Realtime.Cluster;

namespace Parley.Server.Storage.Postgres;

/// <summary>The shared backend: one PostgreSQL database that every node of a cluster uses.</summary>
internal static class PostgresBackend
{
    public const string Name = "Postgres";

    public static void Register(IServiceCollection services)
    {
        services.AddSingleton<PostgresDatabase>();
        services.AddStore<PostgresStore>();
        // After the store: the cluster starts on a migrated database.
        services.AddParleyCluster();
    }
}
