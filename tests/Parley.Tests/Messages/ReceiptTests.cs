using System.Net;
using System.Text.Json;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Messages;

public sealed class ReceiptTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    private static Func<WsFrame, bool> StatusFrame(string messageId, string userId, string status) => f =>
        f.Type == "status" && f.Str("messageId") == messageId && f.Str("userId") == userId && f.Str("status") == status;

    private static async Task<Dictionary<string, string>> ReceiptsAsync(TestUser user, string messageId)
    {
        var response = await user.Api.GetAsync($"/messages/{messageId}/receipts");
        response.AssertStatus(HttpStatusCode.OK, $"GET /messages/{messageId}/receipts");
        return response.Json.EnumerateArray().ToDictionary(r => r.Str("userId")!, r => r.Str("status")!);
    }

    private static async Task<string> StatusInHistoryAsync(TestUser user, string chatId, string messageId) =>
        (await user.HistoryAsync(chatId)).Single(m => m.Str("id") == messageId).Str("status")!;

    [Fact]
    public async Task Status_updates_travel_to_the_sender_and_never_regress()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        await using var aliceSocket = await alice.ConnectAsync(Server);
        var messageId = (await alice.SendTextAsync(chatId, "did you get this?")).Str("id")!;

        Assert.Equal(new Dictionary<string, string> { [bob.Id] = "sent" }, await ReceiptsAsync(alice, messageId));
        Assert.Equal("sent", await StatusInHistoryAsync(alice, chatId, messageId));

        var delivered = await bob.Api.PutAsync($"/messages/{messageId}/status", new { status = "delivered" });
        delivered.AssertStatus(HttpStatusCode.OK, "PUT delivered");
        Assert.Equal(messageId, delivered.Json.Str("messageId"));
        Assert.Equal("delivered", delivered.Json.Str("status"));
        var frame = await aliceSocket.WaitForAsync(StatusFrame(messageId, bob.Id, "delivered"), what: "status delivered");
        Assert.Equal(chatId, frame.Str("chatId"));
        Assert.True(frame.Data.Long("timestamp") > 0);
        Assert.NotNull(frame.Cursor);
        Assert.Equal("delivered", (await ReceiptsAsync(alice, messageId))[bob.Id]);
        Assert.Equal("delivered", await StatusInHistoryAsync(alice, chatId, messageId));

        (await bob.Api.PutAsync($"/messages/{messageId}/status", new { status = "read" })).AssertStatus(HttpStatusCode.OK, "PUT read");
        await aliceSocket.WaitForAsync(StatusFrame(messageId, bob.Id, "read"), what: "status read");
        Assert.Equal("read", (await ReceiptsAsync(alice, messageId))[bob.Id]);
        Assert.Equal("read", await StatusInHistoryAsync(alice, chatId, messageId));

        // A late "delivered" (another device catching up) does not move it back.
        var late = await bob.Api.PutAsync($"/messages/{messageId}/status", new { status = "delivered" });
        late.AssertStatus(HttpStatusCode.OK, "PUT delivered after read");
        Assert.Equal("read", (await ReceiptsAsync(alice, messageId))[bob.Id]);
        Assert.Equal("read", await StatusInHistoryAsync(alice, chatId, messageId));
        await aliceSocket.ExpectNothingAsync(f => f.Type == "status" && f.Str("status") != "read", what: "a status that goes backwards");
    }

    [Fact]
    public async Task Reading_a_chat_up_to_a_message_reads_everything_before_it_and_tells_the_sender()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        await using var aliceSocket = await alice.ConnectAsync(Server);
        var m1 = (await alice.SendTextAsync(chatId, "one")).Str("id")!;
        var m2 = (await alice.SendTextAsync(chatId, "two")).Str("id")!;
        var m3 = (await alice.SendTextAsync(chatId, "three")).Str("id")!;

        (await bob.Api.PostAsync($"/chats/{chatId}/read", new { messageId = m2 })).AssertStatus(HttpStatusCode.NoContent, "POST read up to m2");
        var frame = await aliceSocket.WaitForAsync(StatusFrame(m2, bob.Id, "read"), what: "status read for m2");
        Assert.Equal(chatId, frame.Str("chatId"));

        Assert.Equal("read", (await ReceiptsAsync(alice, m1))[bob.Id]);
        Assert.Equal("read", (await ReceiptsAsync(alice, m2))[bob.Id]);
        Assert.Equal("sent", (await ReceiptsAsync(alice, m3))[bob.Id]);
        var statuses = (await alice.MessagesOldestFirstAsync(chatId)).Select(m => m.Field("status")).ToArray();
        Assert.Equal(["read", "read", "sent"], statuses);

        // Reading without a message id reads up to the newest.
        (await bob.Api.PostAsync($"/chats/{chatId}/read", new { })).AssertStatus(HttpStatusCode.NoContent, "POST read all");
        await aliceSocket.WaitForAsync(StatusFrame(m3, bob.Id, "read"), what: "status read for m3");
        Assert.Equal("read", (await ReceiptsAsync(alice, m3))[bob.Id]);
    }

    [Fact]
    public async Task UpdateStatus_and_markRead_frames_move_receipts_like_the_rest_calls()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        await using var aliceSocket = await alice.ConnectAsync(Server, name: "alice");
        await using var bobSocket = await bob.ConnectAsync(Server, name: "bob");

        await aliceSocket.SendAsync(new { action = "sendMessage", chatId, content = "first", clientMessageId = "r1" });
        var m1 = (await aliceSocket.WaitForAckAsync("r1")).Str("messageId")!;
        await aliceSocket.SendAsync(new { action = "sendMessage", chatId, content = "second", clientMessageId = "r2" });
        var m2 = (await aliceSocket.WaitForAckAsync("r2")).Str("messageId")!;
        await bobSocket.WaitForMessageAsync(chatId, "second");

        await bobSocket.SendAsync(new { action = "updateStatus", messageId = m2, status = "delivered" });
        await aliceSocket.WaitForAsync(StatusFrame(m2, bob.Id, "delivered"), what: "delivered for m2");
        Assert.Equal("delivered", (await ReceiptsAsync(alice, m1))[bob.Id]);
        Assert.Equal("delivered", (await ReceiptsAsync(alice, m2))[bob.Id]);

        await bobSocket.SendAsync(new { action = "markRead", chatId, messageId = m1 });
        await aliceSocket.WaitForAsync(StatusFrame(m1, bob.Id, "read"), what: "read for m1");
        Assert.Equal("read", (await ReceiptsAsync(alice, m1))[bob.Id]);
        Assert.Equal("delivered", (await ReceiptsAsync(alice, m2))[bob.Id]);
        Assert.Equal(1, (await bob.ChatAsync(chatId)).Long("unreadCount"));

        await bobSocket.SendAsync(new { action = "updateStatus", messageId = m2, status = "read" });
        await aliceSocket.WaitForAsync(StatusFrame(m2, bob.Id, "read"), what: "read for m2");
        Assert.Equal(0, (await bob.ChatAsync(chatId)).Long("unreadCount"));

        // Going back to delivered over the socket changes nothing either.
        await bobSocket.SendAsync(new { action = "updateStatus", messageId = m1, status = "delivered" });
        await bobSocket.AssertAliveAsync();
        Assert.Equal("read", (await ReceiptsAsync(alice, m1))[bob.Id]);
        await aliceSocket.ExpectNothingAsync(f => f.Type == "status" && f.Str("status") == "delivered" && f.Str("messageId") == m1,
            what: "a delivered status after read");

        // Status frames go to the sender, not back to the reader.
        await bobSocket.ExpectNothingAsync(f => f.Type == "status", TimeSpan.Zero, "a status frame about his own reading");
    }

    [Fact]
    public async Task In_a_group_the_senders_status_is_the_least_advanced_over_the_other_members()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var carol = await ApiClient.CreateUserAsync(Server);
        var groupId = await alice.CreateGroupAsync("Book club", bob, carol);
        await using var aliceSocket = await alice.ConnectAsync(Server);
        var messageId = (await alice.SendTextAsync(groupId, "chapter 3 tonight")).Str("id")!;

        var receipts = await ReceiptsAsync(alice, messageId);
        Assert.Equal(new Dictionary<string, string> { [bob.Id] = "sent", [carol.Id] = "sent" }, receipts);

        (await bob.Api.PostAsync($"/chats/{groupId}/read", new { messageId })).AssertStatus(HttpStatusCode.NoContent, "bob reads");
        await aliceSocket.WaitForAsync(StatusFrame(messageId, bob.Id, "read"), what: "bob's read");
        Assert.Equal(new Dictionary<string, string> { [bob.Id] = "read", [carol.Id] = "sent" }, await ReceiptsAsync(alice, messageId));
        Assert.Equal("sent", await StatusInHistoryAsync(alice, groupId, messageId));

        (await carol.Api.PutAsync($"/messages/{messageId}/status", new { status = "delivered" })).AssertStatus(HttpStatusCode.OK, "carol delivered");
        await aliceSocket.WaitForAsync(StatusFrame(messageId, carol.Id, "delivered"), what: "carol's delivered");
        Assert.Equal("delivered", await StatusInHistoryAsync(alice, groupId, messageId));

        (await carol.Api.PutAsync($"/messages/{messageId}/status", new { status = "read" })).AssertStatus(HttpStatusCode.OK, "carol read");
        await aliceSocket.WaitForAsync(StatusFrame(messageId, carol.Id, "read"), what: "carol's read");
        Assert.Equal("read", await StatusInHistoryAsync(alice, groupId, messageId));
        Assert.Equal(new Dictionary<string, string> { [bob.Id] = "read", [carol.Id] = "read" }, await ReceiptsAsync(alice, messageId));
    }

    [Fact]
    public async Task Reading_past_several_senders_messages_tells_each_of_those_senders()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var carol = await ApiClient.CreateUserAsync(Server);
        var groupId = await alice.CreateGroupAsync("Many senders", bob, carol);
        await using var aliceSocket = await alice.ConnectAsync(Server, name: "alice");
        await using var bobSocket = await bob.ConnectAsync(Server, name: "bob");
        var fromAlice = (await alice.SendTextAsync(groupId, "alice speaks")).Str("id")!;
        var fromBob = (await bob.SendTextAsync(groupId, "bob answers")).Str("id")!;

        // Carol reads up to Bob's message, which is past Alice's too.
        (await carol.Api.PostAsync($"/chats/{groupId}/read", new { messageId = fromBob })).AssertStatus(HttpStatusCode.NoContent, "carol reads");
        await bobSocket.WaitForAsync(StatusFrame(fromBob, carol.Id, "read"), what: "carol's read of bob's message");
        await aliceSocket.WaitForAsync(f => f.Type == "status" && f.Str("userId") == carol.Id && f.Str("status") == "read" && f.Str("chatId") == groupId,
            what: "carol's read reaching alice, whose message she read past");
        Assert.Equal("read", (await ReceiptsAsync(alice, fromAlice))[carol.Id]);
        Assert.Equal("read", (await ReceiptsAsync(bob, fromBob))[carol.Id]);
        // Bob has not read Alice's message by writing after it.
        Assert.Equal("sent", (await ReceiptsAsync(alice, fromAlice))[bob.Id]);
    }

    [Fact]
    public async Task A_sender_who_was_offline_finds_the_read_receipt_in_sync()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        var messageId = (await alice.SendTextAsync(chatId, "read me later")).Str("id")!;
        var cursor = await alice.CurrentCursorAsync();

        (await bob.Api.PostAsync($"/chats/{chatId}/read", new { messageId })).AssertStatus(HttpStatusCode.NoContent, "bob reads");

        var sync = await alice.SyncAllAsync(cursor);
        var status = Assert.Single(sync.Events, e => e.Str("type") == "status");
        var data = status.GetProperty("data");
        Assert.Equal(chatId, data.Str("chatId"));
        Assert.Equal(messageId, data.Str("messageId"));
        Assert.Equal(bob.Id, data.Str("userId"));
        Assert.Equal("read", data.Str("status"));
        Assert.NotEqual(JsonValueKind.Undefined, status.GetProperty("cursor").ValueKind);

        // The same event arrives when resuming the socket from that cursor.
        await using var socket = await WsClient.ConnectAsync(Server, alice.AccessToken, since: cursor);
        await socket.WaitForAsync(StatusFrame(messageId, bob.Id, "read"), what: "the missed status on resume");
    }

    [Theory]
    [InlineData("sent")]
    [InlineData("seen")]
    [InlineData("")]
    public async Task A_status_other_than_delivered_or_read_is_a_bad_request(string status)
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        var messageId = (await alice.SendTextAsync(chatId, "hi")).Str("id")!;
        var response = await bob.Api.PutAsync($"/messages/{messageId}/status", new { status });
        response.AssertStatus(HttpStatusCode.BadRequest, $"PUT status '{status}'");
        Assert.NotNull(response.Error);
        Assert.Equal("sent", (await ReceiptsAsync(alice, messageId))[bob.Id]);
    }
}
