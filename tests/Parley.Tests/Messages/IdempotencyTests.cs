using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Messages;

public sealed class IdempotencyTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    [Fact]
    public async Task A_rest_retry_with_the_same_clientMessageId_returns_the_original_and_stores_nothing_new()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        await using var bobSocket = await bob.ConnectAsync(Server);

        var first = await alice.SendTextAsync(chatId, "only once", "retry-1");
        var retry = await alice.Api.PostAsync($"/chats/{chatId}/messages", new { content = "only once", clientMessageId = "retry-1" });
        Assert.True(retry.Status is HttpStatusCode.OK or HttpStatusCode.Created, $"retry answered {(int)retry.Status} {retry.Json}");
        Assert.Equal(first.Str("id"), retry.Json.Str("id"));
        Assert.Equal(first.Long("seq"), retry.Json.Long("seq"));
        Assert.Equal(first.Long("timestamp"), retry.Json.Long("timestamp"));

        var history = await bob.HistoryAsync(chatId);
        Assert.Equal(first.Str("id"), Assert.Single(history).Str("id"));
        Assert.Equal(1, (await bob.ChatAsync(chatId)).Long("unreadCount"));

        // The next message still gets the next seq: the retry used none.
        Assert.Equal(2, (await alice.SendTextAsync(chatId, "next")).Long("seq"));

        // The recipient was told about the message once.
        await bobSocket.WaitForMessageAsync(chatId, "next");
        Assert.Single(bobSocket.AllFrames, f => f.Type == "message" && f.MessageId == first.Str("id"));
    }

    [Fact]
    public async Task A_rest_retry_after_the_recipient_read_the_original_shows_it_read()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        var first = await alice.SendTextAsync(chatId, "read before the retry", "retry-read");
        Assert.Equal("sent", first.Str("status"));
        (await bob.Api.PutAsync($"/messages/{first.Str("id")}/status", new { status = "read" })).AssertStatus(HttpStatusCode.OK, "Bob reads");

        var retry = await alice.Api.PostAsync($"/chats/{chatId}/messages", new { content = "read before the retry", clientMessageId = "retry-read" });
        retry.AssertStatus(HttpStatusCode.Created, "the retry");
        Assert.Equal((first.Str("id"), "read"), (retry.Json.Str("id"), retry.Json.Str("status")));
        var rooms = await alice.Api.PostAsync("/chat/messages", new { roomId = chatId, content = "read before the retry", clientMessageId = "retry-read" });
        rooms.AssertStatus(HttpStatusCode.Created, "the retry through the rooms route");
        Assert.Equal((first.Str("id"), "read"), (rooms.Json.Str("id"), rooms.Json.Str("status")));
    }

    [Fact]
    public async Task A_rest_send_retried_over_the_websocket_is_acked_with_the_original_message()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        await using var bobSocket = await bob.ConnectAsync(Server);

        var first = await alice.SendTextAsync(chatId, "sent over rest", "dup-rest-ws");
        await bobSocket.WaitForMessageAsync(chatId, "sent over rest");

        await using var aliceSocket = await alice.ConnectAsync(Server);
        await aliceSocket.SendAsync(new { action = "sendMessage", chatId, content = "sent over rest", clientMessageId = "dup-rest-ws" });
        var ack = await aliceSocket.WaitForAckAsync("dup-rest-ws");
        Assert.Equal(first.Str("id"), ack.Str("messageId"));
        Assert.Equal(first.Long("seq"), ack.Data.Long("seq"));
        Assert.Equal(chatId, ack.Str("chatId"));

        Assert.Single(await alice.HistoryAsync(chatId));
        await bobSocket.ExpectNothingAsync(f => f.Type == "message" && f.Str("chatId") == chatId, what: "the duplicate delivered again");
    }

    [Fact]
    public async Task A_websocket_send_retried_after_a_reconnect_is_acked_with_the_original_message()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);

        string messageId;
        long seq;
        await using (var first = await alice.ConnectAsync(Server, name: "alice-1"))
        {
            await first.SendAsync(new { action = "sendMessage", chatId, content = "survives reconnect", clientMessageId = "dup-ws" });
            var ack = await first.WaitForAckAsync("dup-ws");
            messageId = ack.Str("messageId")!;
            seq = ack.Data.Long("seq");
            Assert.Equal(1, seq);
        }

        await using var second = await alice.ConnectAsync(Server, name: "alice-2");
        await second.SendAsync(new { action = "sendMessage", chatId, content = "survives reconnect", clientMessageId = "dup-ws" });
        var retryAck = await second.WaitForAckAsync("dup-ws");
        Assert.Equal(messageId, retryAck.Str("messageId"));
        Assert.Equal(seq, retryAck.Data.Long("seq"));

        // And once more over REST, much later in the client's life.
        var rest = await alice.Api.PostAsync($"/chats/{chatId}/messages", new { content = "survives reconnect", clientMessageId = "dup-ws" });
        Assert.True(rest.Status is HttpStatusCode.OK or HttpStatusCode.Created, $"REST retry answered {(int)rest.Status} {rest.Json}");
        Assert.Equal(messageId, rest.Json.Str("id"));

        var history = await bob.HistoryAsync(chatId);
        Assert.Equal(messageId, Assert.Single(history).Str("id"));
        Assert.Equal(1, (await bob.ChatAsync(chatId)).Long("unreadCount"));
    }

    [Fact]
    public async Task The_same_clientMessageId_from_another_sender_or_in_another_chat_is_a_new_message()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var carol = await ApiClient.CreateUserAsync(Server);
        var withBob = await alice.OpenChatWithAsync(bob);
        var withCarol = await alice.OpenChatWithAsync(carol);

        var fromAlice = await alice.SendTextAsync(withBob, "from alice", "shared-id");
        var fromBob = await bob.SendTextAsync(withBob, "from bob", "shared-id");
        var otherChat = await alice.SendTextAsync(withCarol, "to carol", "shared-id");

        Assert.NotEqual(fromAlice.Str("id"), fromBob.Str("id"));
        Assert.Equal("from bob", fromBob.Str("content"));
        Assert.Equal(2, fromBob.Long("seq"));
        Assert.Equal(withCarol, otherChat.Str("chatId"));
        Assert.Equal(1, otherChat.Long("seq"));
        Assert.Equal(["from bob", "from alice"], (await alice.HistoryAsync(withBob)).Select(m => m.Field("content")).ToArray());
        Assert.Equal(["to carol"], (await carol.HistoryAsync(withCarol)).Select(m => m.Field("content")).ToArray());
    }

    [Fact]
    public async Task Concurrent_retries_of_one_send_store_one_message()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);

        var attempts = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            alice.Api.PostAsync($"/chats/{chatId}/messages", new { content = "racing", clientMessageId = "race-1" })));
        Assert.All(attempts, a => Assert.True(a.Status is HttpStatusCode.OK or HttpStatusCode.Created, $"{(int)a.Status} {a.Json}"));
        Assert.Single(attempts.Select(a => a.Json.Str("id")).Distinct());
        Assert.Single(await bob.HistoryAsync(chatId));
    }
}
