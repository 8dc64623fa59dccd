using Parley.Testing;

namespace Parley.Tests.Cluster;

/// <summary>Tests that start and stop node processes themselves, each test on a PostgreSQL database
/// of its own (created before it, dropped after it) and on the bus the subclass names.</summary>
public abstract class NodesOnOwnDatabase : IAsyncLifetime
{
    protected abstract ClusterBus Bus { get; }

    protected string? Database { get; private set; }
    protected string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        if (TestPostgres.SkipReason is not null || (Bus == ClusterBus.Redis && TestRedis.SkipReason is not null)) return;
        Database = await TestPostgres.CreateDatabaseAsync();
        ConnectionString = TestPostgres.ConnectionStringFor(Database);
    }

    public async Task DisposeAsync()
    {
        if (Database is not null) await TestPostgres.DropDatabaseAsync(Database);
    }
}
