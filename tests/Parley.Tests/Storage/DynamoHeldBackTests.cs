using System.Globalization;
using System.Net.WebSockets;
using Amazon.DynamoDBv2.Model;
using Parley.Server.Storage.DynamoDb;
using Parley.Testing;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Storage;

/// <summary>
/// A node that died just after storing an event leaves it beyond its writer's settled mark until
/// the writer's lease runs out: sync holds it back, and everything after it. A socket resuming then
/// must not go live (its live frames would move its cursor past the held event): it gets what can be
/// given and is asked to come back, and once the writer is settled it gets the rest, nothing lost.
/// </summary>
public sealed class DynamoHeldBackTests : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "parley-tests", Guid.NewGuid().ToString("N"));
    private ParleyServer? _server;

    public async Task InitializeAsync()
    {
        if (TestDynamo.SkipReason is not null) return;
        var settings = TestDynamo.Settings(await TestDynamo.PrefixForAsync(_dataDirectory));
        _server = await ParleyServer.StartAsync(settings, _dataDirectory);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { /* best effort */ }
    }

    [DynamoFact]
    public async Task A_socket_whose_backlog_a_dead_writer_holds_back_ends_before_going_live_and_resumes_with_nothing_lost()
    {
        var server = _server!;
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        var since = await bob.CurrentCursorAsync();

        // Writer 60 of another node: leased, settled nowhere, and it stored a receipt for Bob a
        // moment ago before it died (a 1:1 chat keeps it on the reader's membership, Ann's).
        const int DeadWriter = 60;
        var heldPos = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / 10 - 1_000_000;
        await ServerDynamo.PutAsync(server, DynamoTables.Records, Lease(DeadWriter, settled: 0));
        var membershipKey = new Dictionary<string, AttributeValue> { ["chatId"] = new() { S = chatId }, ["userId"] = new() { S = ann.Id } };
        var membership = (await ServerDynamo.GetAsync(server, DynamoTables.ChatMembers, membershipKey))!;
        membership["readReceipt"] = new AttributeValue { S = $$"""{"chatId":"{{chatId}}","messageId":"m-old","userId":"{{ann.Id}}","status":"read","timestamp":1}""" };
        membership["readReceiptPos"] = new AttributeValue { N = heldPos.ToString(CultureInfo.InvariantCulture) };
        membership["readReceiptWriter"] = new AttributeValue { N = DeadWriter.ToString(CultureInfo.InvariantCulture) };
        await ServerDynamo.PutAsync(server, DynamoTables.ChatMembers, membership);
        await ann.SendTextAsync(chatId, "after the held receipt");

        await using (var held = await WsClient.ConnectAsync(server, bob.AccessToken, since, handshake: false, name: "bob while held"))
        {
            await held.WaitForEndAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, held.CloseStatus);
            Assert.DoesNotContain(held.AllFrames, f => f.Type is "message" or "status");
        }
        Assert.DoesNotContain((await bob.SyncAllAsync(since)).Events, e => e.Str("type") == "message");

        // The writer's holder settled it (as its lease running out would): everything comes, in order.
        await ServerDynamo.PutAsync(server, DynamoTables.Records, Lease(DeadWriter, settled: heldPos));
        await using var resumed = await WsClient.ConnectAsync(server, bob.AccessToken, since, name: "bob once settled");
        await resumed.WaitForMessageAsync(chatId, "after the held receipt");
        await ann.SendTextAsync(chatId, "live");
        await resumed.WaitForMessageAsync(chatId, "live");
        var frames = resumed.AllFrames.Where(f => f.Type is "message" or "status").Select(f => f.Type == "status" ? "status" : f.Str("content")).ToList();
        Assert.Equal(["status", "after the held receipt", "live"], frames);
    }

    private static Dictionary<string, AttributeValue> Lease(int writer, long settled) => new()
    {
        ["pk"] = new AttributeValue { S = DynamoWriters.Partition },
        ["sk"] = new AttributeValue { S = writer.ToString("D3", CultureInfo.InvariantCulture) },
        ["holder"] = new AttributeValue { S = "a node that died" },
        ["leaseUntil"] = new AttributeValue { N = DateTimeOffset.UtcNow.AddSeconds(30).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) },
        ["settled"] = new AttributeValue { N = settled.ToString(CultureInfo.InvariantCulture) },
    };
}
