using System.Diagnostics;
using System.Globalization;
using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Cluster;

/// <summary>A limit holds for the whole cluster, not for each node apart.</summary>
public abstract class ClusterLimitTests : NodesOnOwnDatabase
{
    private const int PerSecond = 2;

    [ClusterFact]
    public async Task A_user_on_two_nodes_has_one_message_allowance_between_them()
    {
        var settings = new Dictionary<string, string> { ["Parley__Limits__MessagesPerSecond"] = PerSecond.ToString(CultureInfo.InvariantCulture) };
        await using var one = await StartNodeAsync("one", settings);
        await using var two = await StartNodeAsync("two", settings);
        var sender = await ApiClient.CreateUserAsync(one.Server, "Sender");
        var watcher = await ApiClient.CreateUserAsync(one.Server, "Watcher");
        var chatId = await sender.OpenChatWithAsync(watcher);
        await using var watching = await watcher.ConnectAsync(one.Server, await watcher.CurrentCursorAsync());
        // The sender's phone is on node two; node one knows it once the watcher there hears the sender come online.
        await using var phone = await sender.ConnectAsync(two.Server, await sender.CurrentCursorAsync(), "sender on two");
        await watching.WaitForAsync(f => f.IsPresenceOf(sender.Id, true), TimeSpan.FromSeconds(15), what: "the sender online on node two");

        var clock = Stopwatch.StartNew();
        var accepted = 0;
        for (var i = 0; i < 4 * PerSecond; i++)
        {
            var answer = await sender.Api.PostAsync($"/chats/{chatId}/messages", new { content = "quick " + i });
            if (answer.Status == HttpStatusCode.Created) accepted++;
            else answer.AssertError(HttpStatusCode.TooManyRequests);
        }
        var started = (int)clock.Elapsed.TotalSeconds + 1;

        // Node one lets this user through at half the rate, the other half being node two's: a
        // message costs two of the bucket's tokens (a burst of 2 × PerSecond, PerSecond more in each
        // second started). On its own, node one would have let the whole burst through at once.
        Assert.InRange(accepted, PerSecond, (2 * PerSecond + PerSecond * started) / 2);
    }

    [ClusterFact]
    public async Task A_users_sockets_on_every_node_count_toward_one_cap()
    {
        var settings = new Dictionary<string, string> { ["Parley__Limits__SocketsPerUser"] = "3" };
        await using var one = await StartNodeAsync("one", settings);
        await using var two = await StartNodeAsync("two", settings);
        var roamer = await ApiClient.CreateUserAsync(one.Server, "Roamer");
        await using var firstOnTwo = await roamer.ConnectAsync(two.Server, name: "roamer 1 on two");
        var secondOnTwo = await roamer.ConnectAsync(two.Server, name: "roamer 2 on two");
        await using var onOne = await roamer.ConnectAsync(one.Server, name: "roamer 3 on one");

        // A fourth is refused on either node once it has heard of the others' sockets.
        await ClusterWait.WaitUntilAsync(() => WsClient.RefusedAsync(one.Server, roamer.AccessToken), "node one refuses a fourth socket");
        await ClusterWait.WaitUntilAsync(() => WsClient.RefusedAsync(two.Server, roamer.AccessToken), "node two refuses a fourth socket");

        // A socket closed on node two frees its place on node one.
        await secondOnTwo.CloseAsync();
        await secondOnTwo.DisposeAsync();
        await ClusterWait.WaitUntilAsync(async () => !await WsClient.RefusedAsync(one.Server, roamer.AccessToken), "node one opens a socket in the freed place");
    }

    [ClusterFact]
    public async Task Sockets_from_one_address_on_every_node_count_toward_one_cap()
    {
        // Every client of the test comes from 127.0.0.1.
        var settings = new Dictionary<string, string> { ["Parley__Limits__SocketsPerIp"] = "4" };
        await using var one = await StartNodeAsync("one", settings);
        await using var two = await StartNodeAsync("two", settings);
        var users = new List<TestUser>();
        for (var i = 0; i < 5; i++) users.Add(await ApiClient.CreateUserAsync(one.Server, "Neighbour " + i));
        await using var firstOnOne = await users[0].ConnectAsync(one.Server, name: "neighbour 0 on one");
        await using var secondOnOne = await users[1].ConnectAsync(one.Server, name: "neighbour 1 on one");
        await using var firstOnTwo = await users[2].ConnectAsync(two.Server, name: "neighbour 2 on two");
        var secondOnTwo = await users[3].ConnectAsync(two.Server, name: "neighbour 3 on two");

        // A fifth user from the address is refused on either node once it has heard of the other's sockets.
        await ClusterWait.WaitUntilAsync(() => WsClient.RefusedAsync(one.Server, users[4].AccessToken), "node one refuses a fifth socket from the address");
        await ClusterWait.WaitUntilAsync(() => WsClient.RefusedAsync(two.Server, users[4].AccessToken), "node two refuses a fifth socket from the address");

        // A socket closed on node two frees its place on node one.
        await secondOnTwo.CloseAsync();
        await secondOnTwo.DisposeAsync();
        await ClusterWait.WaitUntilAsync(async () => !await WsClient.RefusedAsync(one.Server, users[4].AccessToken), "node one opens a socket in the freed place");
    }
}

public sealed class ClusterLimitsOnPostgresBus : ClusterLimitTests
{
    protected override ClusterBus Bus => ClusterBus.Postgres;
}

public sealed class ClusterLimitsOnRedisBus : ClusterLimitTests, IRequiresRedis
{
    protected override ClusterBus Bus => ClusterBus.Redis;
}
