using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Configuration;
using Parley.Server.Realtime.Bus;

namespace Parley.Tests.Cluster;

/// <summary>A bus that cannot work with the store is refused at start, with a sentence that says why.</summary>
public sealed class BusSettingsTests
{
    [Fact]
    public void The_postgres_bus_over_a_dynamodb_store_is_refused_and_the_redis_bus_named()
    {
        var options = new ParleyOptions();
        options.Storage.Provider = "DynamoDb";
        options.Cluster.Bus = "Postgres";
        options.Cluster.PostgresConnection = "Host=127.0.0.1;Database=unused";
        var refused = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddParleyBus(options));
        Assert.Contains("Parley:Cluster:Bus=Redis", refused.Message);
    }

    [Fact]
    public void The_redis_bus_over_a_dynamodb_store_is_taken()
    {
        var options = new ParleyOptions();
        options.Storage.Provider = "DynamoDb";
        options.Cluster.Bus = "Redis";
        options.Cluster.RedisConnection = "127.0.0.1:6379";
        var services = new ServiceCollection().AddParleyBus(options);
        Assert.Contains(services, s => s.ServiceType == typeof(IClusterBus));
    }
}
