using Parley.Testing;
using Parley.Tests.Infrastructure;
using Parley.Tests.Storage;

namespace Parley.Tests.Cluster;

/// <summary>Two clusters on one Redis server, each named by its connection's <c>channelPrefix</c>,
/// whose nodes have the same ids (as two environments on one ElastiCache would): neither may read,
/// clear or remove the other's registrations and claims.</summary>
public sealed class SharedRedisTests : IAsyncLifetime, IRequiresRedis
{
    private string? _ours;
    private string? _theirs;

    public async Task InitializeAsync()
    {
        if (ClusterSkip.Reason(ClusterStore.Postgres, ClusterBus.Redis) is not null) return;
        _ours = await TestPostgres.CreateDatabaseAsync();
        _theirs = await TestPostgres.CreateDatabaseAsync();
    }

    public async Task DisposeAsync()
    {
        if (_ours is not null) await TestPostgres.DropDatabaseAsync(_ours);
        if (_theirs is not null) await TestPostgres.DropDatabaseAsync(_theirs);
    }

    [ClusterFact]
    public async Task A_node_of_another_cluster_with_the_same_id_starting_and_leaving_leaves_this_clusters_delivery_alone()
    {
        var ours = TestPostgres.ConnectionStringFor(_ours!);
        await using var one = await NodeProcess.StartAsync(ours, "node-one", ClusterBus.Redis, _ours);
        await using var two = await NodeProcess.StartAsync(ours, "node-two", ClusterBus.Redis, _ours);
        var ann = await ApiClient.CreateUserAsync(one.Server, "Ann");
        var bob = await ApiClient.CreateUserAsync(two.Server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        await using var bobSocket = await bob.ConnectAsync(two.Server, await bob.CurrentCursorAsync());
        await ann.SendTextAsync(chatId, "before the other cluster");
        await bobSocket.WaitForMessageAsync(chatId, "before the other cluster");

        // The other cluster's node-two clears its own claims when it starts and removes its
        // registration when it stops; under its own prefix, never this cluster's.
        var theirs = TestPostgres.ConnectionStringFor(_theirs!);
        await using (var other = await NodeProcess.StartAsync(theirs, "node-two", ClusterBus.Redis, _theirs))
        {
            await ann.SendTextAsync(chatId, "while the other cluster runs");
            await bobSocket.WaitForMessageAsync(chatId, "while the other cluster runs");
            Assert.Equal(0, await other.StopAsync());
        }
        await ann.SendTextAsync(chatId, "after the other cluster left");
        await bobSocket.WaitForMessageAsync(chatId, "after the other cluster left");
        Assert.True(await ClusterWait.OnlineAsync(ann, chatId, bob.Id));
    }
}
