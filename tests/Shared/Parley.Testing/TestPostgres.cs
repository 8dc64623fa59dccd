using Npgsql;

namespace Parley.Testing;

/// <summary>The PostgreSQL the suites use: <c>PARLEY_TEST_PG</c> is a connection string whose role
/// may create databases (./test.sh starts a throwaway cluster and sets it). With
/// <c>PARLEY_TEST_STORE=postgres</c> (<see cref="TestBackend"/>) every test server gets a database
/// of its own, <c>parley_test_{guid}</c>, dropped when it is disposed; store and cluster tests make
/// their own databases here on any backend.</summary>
public static class TestPostgres
{
    /// <summary>Whether test servers run on PostgreSQL.</summary>
    public static bool Enabled => TestBackend.Store == TestStore.Postgres;

    /// <summary>The admin connection string, or null when none is configured.</summary>
    public static string? AdminConnectionString =>
        Environment.GetEnvironmentVariable("PARLEY_TEST_PG") is { Length: > 0 } value ? value : null;

    /// <summary>Why a test that needs PostgreSQL is skipped, or null when it runs. Under CI=true it
    /// always runs: an absent PostgreSQL is a failure there, not a skip.</summary>
    public static string? SkipReason =>
        AdminConnectionString is not null || string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase)
            ? null
            : "PostgreSQL is not configured: set PARLEY_TEST_PG to a connection string allowed to create databases (./test.sh starts a throwaway cluster and sets it).";

    private const string MarkerFile = "postgres-database";

    /// <summary>The connection string of the database that belongs to a data directory, created on first use.</summary>
    public static async Task<string> DatabaseForAsync(string dataDirectory)
    {
        var marker = Path.Combine(dataDirectory, MarkerFile);
        string name;
        if (File.Exists(marker))
        {
            name = (await File.ReadAllTextAsync(marker)).Trim();
        }
        else
        {
            name = await CreateDatabaseAsync();
            await File.WriteAllTextAsync(marker, name);
        }
        return ConnectionStringFor(name);
    }

    /// <summary>The name of the database that belongs to a test server's data directory.</summary>
    public static string DatabaseOf(string dataDirectory) => File.ReadAllText(Path.Combine(dataDirectory, MarkerFile)).Trim();

    public static string ConnectionStringFor(string database) =>
        new NpgsqlConnectionStringBuilder(Admin()) { Database = database }.ToString();

    /// <summary>Creates an empty database and returns its name.</summary>
    public static async Task<string> CreateDatabaseAsync()
    {
        var name = "parley_test_" + Guid.NewGuid().ToString("N");
        await using var connection = new NpgsqlConnection(Admin());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
        return name;
    }

    public static async Task DropDatabaseAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(Admin());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }

    public static async Task DropDatabaseOfAsync(string dataDirectory)
    {
        var marker = Path.Combine(dataDirectory, MarkerFile);
        if (!File.Exists(marker)) return;
        try
        {
            await DropDatabaseAsync((await File.ReadAllTextAsync(marker)).Trim());
        }
        catch (NpgsqlException)
        {
            // Best effort: a throwaway cluster is removed whole at the end of the run.
        }
    }

    private static string Admin() => AdminConnectionString
        ?? throw new InvalidOperationException("PARLEY_TEST_STORE=postgres needs PARLEY_TEST_PG, a connection string allowed to create databases.");
}
