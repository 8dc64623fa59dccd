using Parley.Server.Realtime.Bus;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Cluster;

/// <summary>A node whose lookup of where its commits' recipients are fails still announces them,
/// to every node: otherwise the others would learn of them only from its next commit.</summary>
public abstract class BusLookupFailureTests : NodesOnOwnDatabase
{
    [ClusterFact]
    public async Task Commits_reach_the_other_nodes_while_looking_up_their_recipients_fails()
    {
        await using var one = await StartNodeAsync("node-one");
        await using var two = await StartNodeAsync("node-two");
        var ann = await ApiClient.CreateUserAsync(one.Server, "Ann");
        var bob = await ApiClient.CreateUserAsync(two.Server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        await using var bobSocket = await bob.ConnectAsync(two.Server, await bob.CurrentCursorAsync());
        await ann.SendTextAsync(chatId, "while lookups work");
        await bobSocket.WaitForMessageAsync(chatId, "while lookups work");

        // Node two's claims become unreadable: every lookup node one makes fails from now on.
        await RedisAdmin.SpoilKeyAsync($"{Cluster}:{BusChannels.RedisClaims("node-two")}");
        await ann.SendTextAsync(chatId, "while lookups fail");
        await bobSocket.WaitForMessageAsync(chatId, "while lookups fail");
        await one.WaitForOutputAsync("Locating users on the other nodes failed");
    }
}

public sealed class BusLookupFailureOnPostgres : BusLookupFailureTests, IRequiresRedis
{
    protected override ClusterBus Bus => ClusterBus.Redis;
}

public sealed class BusLookupFailureOnDynamoDb : BusLookupFailureTests, IRequiresDynamoDb
{
    protected override ClusterBus Bus => ClusterBus.Redis;
    protected override ClusterStore Store => ClusterStore.DynamoDb;
}
