using Parley.Testing;

namespace Parley.Tests.Cluster;

/// <summary>Tests that start and stop node processes themselves, each test on a PostgreSQL database
/// of its own (created before it, dropped after it), or on DynamoDB tables of its own, and on the
/// bus the subclass names.</summary>
public abstract class NodesOnOwnDatabase : IAsyncLifetime
{
    protected abstract ClusterBus Bus { get; }
    protected virtual ClusterStore Store => ClusterStore.Postgres;

    protected string? Database { get; private set; }
    protected string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        if (ClusterSkip.Reason(Store, Bus) is not null) return;
        if (Store == ClusterStore.DynamoDb)
        {
            ConnectionString = TestDynamo.NewPrefix();
            return;
        }
        Database = await TestPostgres.CreateDatabaseAsync();
        ConnectionString = TestPostgres.ConnectionStringFor(Database);
    }

    /// <summary>Starts a node on this test's database (or tables) and bus.</summary>
    protected Task<NodeProcess> StartNodeAsync(string nodeId, IReadOnlyDictionary<string, string>? settings = null) =>
        NodeProcess.StartAsync(ConnectionString, nodeId, Bus, Cluster, Store, settings);

    /// <summary>The cluster's name on a shared Redis (its channel and key prefix).</summary>
    protected string Cluster => Database ?? ConnectionString;

    public async Task DisposeAsync()
    {
        if (Database is not null) await TestPostgres.DropDatabaseAsync(Database);
    }
}
