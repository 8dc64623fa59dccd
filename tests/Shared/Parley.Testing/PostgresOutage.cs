using Npgsql;

namespace Parley.Testing;

/// <summary>A PostgreSQL database whose server can be refused at will: it belongs to a role of its
/// own, so an outage (no connections for that role, and its open ones ended) leaves every other
/// test's database and the administrator's connection alone.</summary>
public sealed class PostgresOutage : IAsyncDisposable
{
    private readonly string _role;
    private readonly string _database;

    private PostgresOutage(string role, string database, string connectionString)
    {
        _role = role;
        _database = database;
        ConnectionString = connectionString;
    }

    /// <summary>The connection string the server under test uses (the role of its own).</summary>
    public string ConnectionString { get; }

    /// <summary>Settings that put a test server on this database.</summary>
    public Dictionary<string, string?> Settings => new()
    {
        ["Parley:Storage:Provider"] = "Postgres",
        ["Parley:Storage:ConnectionString"] = ConnectionString,
    };

    public static async Task<PostgresOutage> CreateAsync()
    {
        var role = "parley_outage_" + Guid.NewGuid().ToString("N")[..12];
        var database = "parley_test_" + Guid.NewGuid().ToString("N");
        await AdminAsync($"CREATE ROLE {role} LOGIN");
        await AdminAsync($"CREATE DATABASE {database} OWNER {role}");
        var connection = new NpgsqlConnectionStringBuilder(TestPostgres.AdminConnectionString) { Database = database, Username = role, Password = null }.ToString();
        return new PostgresOutage(role, database, connection);
    }

    /// <summary>From now on the database refuses the server: new connections and the open ones.</summary>
    public async Task BeginAsync()
    {
        await AdminAsync($"ALTER ROLE {_role} CONNECTION LIMIT 0");
        await AdminAsync($"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '{_role}'");
    }

    /// <summary>The database answers the server again.</summary>
    public Task EndAsync() => AdminAsync($"ALTER ROLE {_role} CONNECTION LIMIT -1");

    public async ValueTask DisposeAsync()
    {
        await AdminAsync($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)");
        await AdminAsync($"DROP ROLE IF EXISTS {_role}");
    }

    private static async Task AdminAsync(string sql)
    {
        await using var admin = new NpgsqlConnection(TestPostgres.AdminConnectionString);
        await admin.OpenAsync();
        await using var command = new NpgsqlCommand(sql, admin);
        await command.ExecuteNonQueryAsync();
    }
}
