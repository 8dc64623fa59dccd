using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Users;

public sealed class BlockingTests
{
    [Fact]
    public async Task A_blocked_user_cannot_message_the_blocker_until_unblocked()
    {
        await using var server = await ParleyServer.StartAsync();
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        await bob.SendTextAsync(chatId, "before the block");

        (await ann.Api.PostAsync($"/users/{bob.Id}/block", null)).AssertStatus(HttpStatusCode.NoContent, "block");

        var refused = await bob.Api.PostAsync($"/chats/{chatId}/messages", new { content = "can you hear me?" });
        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.False(string.IsNullOrWhiteSpace(refused.Error));

        await using var bobSocket = await bob.ConnectAsync(server);
        await bobSocket.SendAsync(new { action = "sendMessage", recipientId = ann.Id, content = "over the socket", clientMessageId = "b1" });
        var error = await bobSocket.WaitForErrorAsync();
        Assert.Equal("blocked", error.Str("code"));

        // The blocker can still write, and nothing Bob tried was stored.
        await ann.SendTextAsync(chatId, "I can still write");
        Assert.Equal(["I can still write", "before the block"], (await ann.HistoryAsync(chatId)).Select(m => m.Str("content")!).ToList());

        (await ann.Api.DeleteAsync($"/users/{bob.Id}/block")).AssertStatus(HttpStatusCode.NoContent, "unblock");
        await bob.SendTextAsync(chatId, "after the unblock");
    }

    [Fact]
    public async Task A_blocked_user_cannot_start_a_chat_with_the_blocker_in_any_way()
    {
        await using var server = await ParleyServer.StartAsync();
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var eve = await ApiClient.CreateUserAsync(server, "Eve");
        (await ann.Api.PostAsync($"/users/{eve.Id}/block", null)).AssertStatus(HttpStatusCode.NoContent, "block");

        Assert.Equal(HttpStatusCode.Forbidden, (await eve.Api.PostAsync("/chats", new { participantId = ann.Id })).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await eve.Api.PostAsync("/chat/rooms", new { participants = new[] { eve.Id, ann.Id } })).Status);
        var direct = ChatHelpers.DirectChatId(ann.Id, eve.Id);
        Assert.Equal(HttpStatusCode.Forbidden, (await eve.Api.PostAsync($"/chats/{direct}/messages", new { content = "hello?" })).Status);
        await using (var eveSocket = await eve.ConnectAsync(server))
        {
            await eveSocket.SendAsync(new { action = "sendMessage", recipientId = ann.Id, content = "over the socket", clientMessageId = "e1" });
            Assert.Equal("blocked", (await eveSocket.WaitForErrorAsync()).Str("code"));
        }
        // No chat appeared on either side.
        foreach (var user in new[] { ann, eve })
        {
            var chats = await user.Api.GetAsync("/chats");
            chats.AssertStatus(HttpStatusCode.OK, "GET /chats");
            Assert.Empty(chats.Json.EnumerateArray());
        }

        // Ann may still start one, and once it exists Eve sees it as it is (and still cannot write).
        var chatId = await ann.OpenChatWithAsync(eve);
        Assert.Equal(chatId, direct);
        Assert.Equal(HttpStatusCode.OK, (await eve.Api.PostAsync("/chats", new { participantId = ann.Id })).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await eve.Api.PostAsync($"/chats/{chatId}/messages", new { content = "hello?" })).Status);
    }

    [Fact]
    public async Task A_blocked_user_does_not_see_the_blockers_presence()
    {
        await using var server = await ParleyServer.StartAsync();
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        (await ann.Api.PostAsync($"/users/{bob.Id}/block", null)).AssertStatus(HttpStatusCode.NoContent, "block");

        await using var bobSocket = await bob.ConnectAsync(server);
        await using var annSocket = await ann.ConnectAsync(server);
        await bobSocket.ExpectNothingAsync(f => f.Type == "presence" && f.Str("userId") == ann.Id, what: "Ann's presence");

        var users = await bob.Api.GetAsync("/users?search=Ann");
        var annAsSeenByBob = users.Json.EnumerateArray().Single(u => u.Str("userId") == ann.Id);
        Assert.False(annAsSeenByBob.GetProperty("online").GetBoolean());
        var participant = (await bob.ChatAsync(chatId)).GetProperty("participants").EnumerateArray().Single(p => p.Str("id") == ann.Id);
        Assert.False(participant.GetProperty("online").GetBoolean());

        // Nor does Ann, who blocked, see Bob's: a block hides presence both ways.
        var bobAsSeenByAnn = (await ann.ChatAsync(chatId)).GetProperty("participants").EnumerateArray().Single(p => p.Str("id") == bob.Id);
        Assert.False(bobAsSeenByAnn.GetProperty("online").GetBoolean());
        Assert.Equal(0, bobAsSeenByAnn.GetProperty("lastSeen").GetInt64());
        await annSocket.ExpectNothingAsync(f => f.IsPresenceOf(bob.Id, true), TimeSpan.Zero, what: "Bob online");
    }

    [Fact]
    public async Task Blocking_yourself_or_an_unknown_user_is_refused()
    {
        await using var server = await ParleyServer.StartAsync();
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        Assert.Equal(HttpStatusCode.BadRequest, (await ann.Api.PostAsync($"/users/{ann.Id}/block", null)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await ann.Api.PostAsync($"/users/{Guid.NewGuid()}/block", null)).Status);
    }
}
