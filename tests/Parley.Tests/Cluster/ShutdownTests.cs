using System.Net.WebSockets;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Cluster;

/// <summary>A node stopped the ordinary way (SIGTERM) says goodbye: its sockets are closed with
/// 1001, its last messages go out over the bus, it leaves, and only then is the store closed, with
/// nothing logged about disposed objects.</summary>
public abstract class ShutdownTests : NodesOnOwnDatabase
{

    [ClusterFact]
    public async Task A_node_stopped_with_sigterm_closes_its_sockets_with_1001_leaves_the_bus_and_logs_no_disposed_objects()
    {
        await using var stays = await StartNodeAsync("stays");
        await using var stops = await StartNodeAsync("stops");
        var ann = await ApiClient.CreateUserAsync(stays.Server, "Ann");
        var bob = await ApiClient.CreateUserAsync(stops.Server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        await using var annSocket = await ann.ConnectAsync(stays.Server, name: "ann on the node that stays");
        var bobSocket = await bob.ConnectAsync(stops.Server, name: "bob on the node that stops");
        await using var bobTyping = await bob.ConnectAsync(stops.Server, name: "bob's second device");
        await annSocket.WaitForAsync(f => f.IsPresenceOf(bob.Id, true), what: "Bob online");
        // Traffic right up to the stop: a message each way and typing.
        await ann.SendTextAsync(chatId, "are you there?");
        await bobSocket.WaitForMessageAsync(chatId, "are you there?");
        await bobTyping.SendAsync(new { action = "typing", chatId, isTyping = true });
        await annSocket.WaitForTypeAsync("typing", f => f.Str("userId") == bob.Id);
        var before = stops.Output.Length;

        Assert.Equal(0, await stops.StopAsync());

        await bobSocket.WaitForEndAsync();
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, bobSocket.CloseStatus);
        await bobSocket.DisposeAsync();
        // The node that stays hears it go: Bob is offline there.
        await annSocket.WaitForAsync(f => f.IsPresenceOf(bob.Id, false), what: "Bob offline");
        var log = stops.Output[before..];
        Assert.DoesNotContain("ObjectDisposedException", log);
        Assert.DoesNotContain("fail:", log);
        Assert.DoesNotContain("warn:", log);
        Assert.Contains("stopped: sockets closed, bus drained", log);
    }
}

public sealed class ShutdownOnPostgresBus : ShutdownTests
{
    protected override ClusterBus Bus => ClusterBus.Postgres;
}

public sealed class ShutdownOnRedisBus : ShutdownTests, IRequiresRedis
{
    protected override ClusterBus Bus => ClusterBus.Redis;
}

public sealed class ShutdownOnDynamoDb : ShutdownTests, IRequiresDynamoDb
{
    protected override ClusterBus Bus => ClusterBus.Redis;
    protected override ClusterStore Store => ClusterStore.DynamoDb;
}
