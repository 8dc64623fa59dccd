using Parley.Testing;
using Parley.Tests.Storage;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Parley.Tests.Cluster;

/// <summary>The bus a cluster test's nodes talk over.</summary>
public enum ClusterBus { Postgres, Redis }

/// <summary>What a cluster test's nodes share as their store; <see cref="Sqlite"/> is a node alone
/// on a file of its own, for tests of one server in a process of its own.</summary>
public enum ClusterStore { Postgres, DynamoDb, Sqlite }

/// <summary>Why a cluster test on a store and bus is skipped, or null when it runs.</summary>
public static class ClusterSkip
{
    public static string? Reason(ClusterStore store, ClusterBus bus) =>
        store switch { ClusterStore.DynamoDb => TestDynamo.SkipReason, ClusterStore.Postgres => TestPostgres.SkipReason, _ => null }
        ?? (bus == ClusterBus.Redis ? TestRedis.SkipReason : null);
}

/// <summary>The Redis the Redis-bus tests use: <c>PARLEY_TEST_REDIS</c> is its address (./test.sh
/// starts a throwaway <c>redis-server</c> and sets it).</summary>
public static class TestRedis
{
    public static string? Address => Environment.GetEnvironmentVariable("PARLEY_TEST_REDIS") is { Length: > 0 } value ? value : null;

    /// <summary>Why a Redis-bus test is skipped, or null when it runs (always under CI=true: an
    /// absent Redis is a failure there).</summary>
    public static string? SkipReason =>
        Address is not null || string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase)
            ? null
            : "Redis is not configured: set PARLEY_TEST_REDIS to host:port of a redis-server (./test.sh starts one).";

    /// <summary>A connection setting for one cluster: its own channel and key prefix, so clusters of
    /// different tests sharing the server never hear each other.</summary>
    public static string ConnectionFor(string cluster) =>
        $"{Address ?? "127.0.0.1:6379"},channelPrefix={cluster}:";

    /// <summary>The name a node of <paramref name="cluster"/> gives its Redis connections (the
    /// server's default: <c>parley-</c>, the cluster's prefix, the node id).</summary>
    public static string ClientName(string cluster, string nodeId) => $"parley-{cluster}:{nodeId}";
}

/// <summary>Marks a cluster suite subclass whose nodes talk over Redis.</summary>
public interface IRequiresRedis;

/// <summary>Marks a cluster suite subclass whose nodes share DynamoDB tables (and talk over Redis).</summary>
public interface IRequiresDynamoDb : IRequiresRedis;

/// <summary>A fact of an abstract cluster suite: each sealed subclass runs it on its store and bus,
/// skipped (outside CI) when its store (PostgreSQL or DynamoDB), or Redis for a Redis subclass, is
/// not configured.</summary>
[XunitTestCaseDiscoverer("Parley.Tests.Cluster.ClusterFactDiscoverer", "Parley.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class ClusterFactAttribute : FactAttribute;

public sealed class ClusterFactDiscoverer(IMessageSink diagnosticMessageSink) : FactDiscoverer(diagnosticMessageSink)
{
    public override IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        var type = testMethod.TestClass.Class.ToRuntimeType();
        var reason = ClusterSkip.Reason(typeof(IRequiresDynamoDb).IsAssignableFrom(type) ? ClusterStore.DynamoDb : ClusterStore.Postgres,
            typeof(IRequiresRedis).IsAssignableFrom(type) ? ClusterBus.Redis : ClusterBus.Postgres);
        if (reason is not null)
        {
            return [new XunitSkippedDataRowTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(),
                discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, reason)];
        }
        return base.Discover(discoveryOptions, testMethod, factAttribute);
    }
}

/// <summary>What a test does to the Redis server behind a cluster's back.</summary>
public static class RedisAdmin
{
    /// <summary>Puts a string where the bus keeps a set, so every command on it fails (WRONGTYPE).</summary>
    public static async Task SpoilKeyAsync(string key)
    {
        await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(TestRedis.Address!);
        await redis.GetDatabase().StringSetAsync(key, "not a set");
    }

    /// <summary>Kills every connection a client opened under <paramref name="clientName"/>; returns how many.</summary>
    public static async Task<int> KillClientsAsync(string clientName)
    {
        await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(TestRedis.Address + ",allowAdmin=true");
        var server = redis.GetServer(redis.GetEndPoints()[0]);
        var killed = 0;
        foreach (var client in await server.ClientListAsync())
        {
            if (client.Name == clientName)
            {
                await server.ClientKillAsync(client.Id, null, null, true);
                killed++;
            }
        }
        Assert.True(killed > 0, $"no Redis connection named {clientName}");
        return killed;
    }
}
