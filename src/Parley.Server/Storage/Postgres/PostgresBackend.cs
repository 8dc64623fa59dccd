namespace Parley.Server.Storage.Postgres;

/// <summary>The shared backend: one PostgreSQL database that every node of a cluster uses.</summary>
internal static class PostgresBackend
{
    public const string Name = "Postgres";

    public static void Register(IServiceCollection services)
    {
        services.AddSingleton<PostgresDatabase>();
        services.AddStore<PostgresStore>();
        // What a cluster bus reads back from a store every node shares.
        services.AddSingleton<IClusterEventSource>(sp => sp.GetRequiredService<PostgresStore>());
        services.AddSingleton<IClusterEventReader>(sp => sp.GetRequiredService<PostgresStore>());
    }
}
