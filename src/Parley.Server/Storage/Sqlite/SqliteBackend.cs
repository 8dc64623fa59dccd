namespace Parley.Server.Storage.Sqlite;

/// <summary>The embedded backend: one SQLite file under the data directory (the default).</summary>
internal static class SqliteBackend
{
    public const string Name = "Sqlite";

    public static void Register(IServiceCollection services)
    {
        services.AddSingleton<SqliteDatabase>();
        services.AddStore<SqliteStore>();
    }
}
