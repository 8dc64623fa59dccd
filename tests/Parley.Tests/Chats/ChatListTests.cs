using System.Net;
using System.Text.Json;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Chats;

public sealed class ChatListTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    [Fact]
    public async Task The_chat_list_is_ordered_by_last_activity_and_carries_the_last_message()
    {
        var alice = await ApiClient.CreateUserAsync(Server, "Alice");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var carol = await ApiClient.CreateUserAsync(Server, "Carol");
        var dave = await ApiClient.CreateUserAsync(Server, "Dave");
        var withBob = await alice.OpenChatWithAsync(bob);
        var withCarol = await alice.OpenChatWithAsync(carol);
        var withDave = await alice.OpenChatWithAsync(dave);

        // Activity a few milliseconds apart, so "most recent first" has one right answer.
        await alice.SendTextAsync(withBob, "to bob 1");
        await Task.Delay(20);
        await alice.SendTextAsync(withCarol, "to carol");
        await Task.Delay(20);
        await dave.SendTextAsync(withDave, "from dave");

        var list = await alice.ChatListAsync();
        Assert.Equal([withDave, withCarol, withBob], list.Select(c => c.Str("id")!).ToArray());
        Assert.Equal("from dave", list[0].GetProperty("lastMessage").Str("content"));
        Assert.Equal(dave.Id, list[0].GetProperty("lastMessage").Str("senderId"));
        Assert.Equal("to carol", list[1].GetProperty("lastMessage").Str("content"));

        await Task.Delay(20);
        var latest = await bob.SendTextAsync(withBob, "bob answers");

        list = await alice.ChatListAsync();
        Assert.Equal([withBob, withDave, withCarol], list.Select(c => c.Str("id")!).ToArray());
        var top = list[0];
        Assert.Equal("bob answers", top.GetProperty("lastMessage").Str("content"));
        Assert.Equal(latest.Str("id"), top.GetProperty("lastMessage").Str("id"));
        Assert.Equal(latest.Long("timestamp"), top.Long("lastMessageTime"));

        // Bob sees only his own chat with Alice.
        Assert.Equal([withBob], (await bob.ChatListAsync()).Select(c => c.Str("id")!).ToArray());
    }

    [Fact]
    public async Task Unread_counts_follow_sends_and_reads_exactly()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);

        var first = await alice.SendTextAsync(chatId, "one");
        var second = await alice.SendTextAsync(chatId, "two");
        await alice.SendTextAsync(chatId, "three");

        Assert.Equal(3, await UnreadInListAsync(bob, chatId));
        Assert.Equal(3, (await bob.ChatAsync(chatId)).Long("unreadCount"));
        Assert.Equal(0, await UnreadInListAsync(alice, chatId));

        // Sending does not move your own read mark, and your own messages never count.
        await bob.SendTextAsync(chatId, "bob writes back");
        Assert.Equal(3, (await bob.ChatAsync(chatId)).Long("unreadCount"));
        Assert.Equal(1, (await alice.ChatAsync(chatId)).Long("unreadCount"));

        // Fetching history is not reading.
        await bob.HistoryAsync(chatId);
        Assert.Equal(3, (await bob.ChatAsync(chatId)).Long("unreadCount"));

        // Reading up to the second message leaves the third unread.
        (await bob.Api.PostAsync($"/chats/{chatId}/read", new { messageId = second.Str("id") }))
            .AssertStatus(HttpStatusCode.NoContent, "POST read up to the second message");
        Assert.Equal(1, (await bob.ChatAsync(chatId)).Long("unreadCount"));
        Assert.Equal(1, await UnreadInListAsync(bob, chatId));

        // Reading an older message does not move the mark back.
        (await bob.Api.PostAsync($"/chats/{chatId}/read", new { messageId = first.Str("id") }))
            .AssertStatus(HttpStatusCode.NoContent, "POST read up to the first message");
        Assert.Equal(1, (await bob.ChatAsync(chatId)).Long("unreadCount"));

        // A read without a message id reads everything.
        (await bob.Api.PostAsync($"/chats/{chatId}/read", new { })).AssertStatus(HttpStatusCode.NoContent, "POST read all");
        Assert.Equal(0, (await bob.ChatAsync(chatId)).Long("unreadCount"));
        Assert.Equal(0, await UnreadInListAsync(bob, chatId));

        await alice.SendTextAsync(chatId, "four");
        Assert.Equal(1, (await bob.ChatAsync(chatId)).Long("unreadCount"));
        Assert.Equal(1, (await alice.ChatAsync(chatId)).Long("unreadCount"));
    }

    [Fact]
    public async Task Marking_a_message_read_by_status_also_clears_the_unread_count_up_to_it()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        await alice.SendTextAsync(chatId, "one");
        var second = await alice.SendTextAsync(chatId, "two");
        await alice.SendTextAsync(chatId, "three");

        (await bob.Api.PutAsync($"/messages/{second.Str("id")}/status", new { status = "delivered" }))
            .AssertStatus(HttpStatusCode.OK, "PUT delivered");
        Assert.Equal(3, (await bob.ChatAsync(chatId)).Long("unreadCount"));

        (await bob.Api.PutAsync($"/messages/{second.Str("id")}/status", new { status = "read" }))
            .AssertStatus(HttpStatusCode.OK, "PUT read");
        Assert.Equal(1, (await bob.ChatAsync(chatId)).Long("unreadCount"));
    }

    [Fact]
    public async Task Reading_up_to_a_message_of_another_chat_does_not_move_this_chats_read_mark()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var carol = await ApiClient.CreateUserAsync(Server);
        var withAlice = await bob.OpenChatWithAsync(alice);
        var withCarol = await bob.OpenChatWithAsync(carol);
        for (var i = 0; i < 3; i++) await alice.SendTextAsync(withAlice, $"a{i}");
        JsonElement carolsFifth = default;
        for (var i = 0; i < 5; i++) carolsFifth = await carol.SendTextAsync(withCarol, $"c{i}");

        var response = await bob.Api.PostAsync($"/chats/{withAlice}/read", new { messageId = carolsFifth.Str("id") });
        Assert.True(response.Status is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"got {(int)response.Status} {response.Json}");
        Assert.Equal(3, (await bob.ChatAsync(withAlice)).Long("unreadCount"));
        Assert.Equal(5, (await bob.ChatAsync(withCarol)).Long("unreadCount"));

        await using var bobSocket = await bob.ConnectAsync(Server);
        await bobSocket.SendAsync(new { action = "markRead", chatId = withAlice, messageId = carolsFifth.Str("id") });
        await bobSocket.WaitForErrorAsync();
        Assert.Equal(3, (await bob.ChatAsync(withAlice)).Long("unreadCount"));
        Assert.Equal(5, (await bob.ChatAsync(withCarol)).Long("unreadCount"));
        var receipts = await alice.Api.GetAsync($"/messages/{(await alice.HistoryAsync(withAlice))[0].Str("id")}/receipts");
        Assert.Equal("sent", receipts.Json.EnumerateArray().Single().Str("status"));
    }

    [Fact]
    public async Task Unread_counts_stay_exact_when_sends_and_reads_race()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        var first = await alice.SendTextAsync(chatId, "m0");

        // Alice sends 59 more while Bob keeps reading "everything" and his own messages interleave.
        var sends = Task.WhenAll(Enumerable.Range(1, 59).Select(i => alice.SendTextAsync(chatId, $"m{i}")));
        var bobWrites = Task.WhenAll(Enumerable.Range(0, 10).Select(i => bob.SendTextAsync(chatId, $"bob{i}")));
        var reads = Task.Run(async () =>
        {
            for (var i = 0; i < 10; i++) (await bob.Api.PostAsync($"/chats/{chatId}/read", new { })).AssertStatus(HttpStatusCode.NoContent, "read all");
        });
        await Task.WhenAll(sends, bobWrites, reads);

        // Whatever the interleaving, a final read to a known message leaves exactly what came after it from Alice.
        var history = await bob.MessagesOldestFirstAsync(chatId);
        var mark = history.Where(m => m.Str("senderId") == alice.Id).ElementAt(29);
        (await bob.Api.PostAsync($"/chats/{chatId}/read", new { messageId = mark.Str("id") })).AssertStatus(HttpStatusCode.NoContent, "read to the 30th");
        var expected = history.Count(m => m.Str("senderId") == alice.Id && m.Long("seq") > mark.Long("seq"));
        var unread = (await bob.ChatAsync(chatId)).Long("unreadCount");
        // The earlier "read all" calls may already have moved the mark further; it never goes back.
        Assert.InRange(unread, 0, expected);

        (await bob.Api.PostAsync($"/chats/{chatId}/read", new { })).AssertStatus(HttpStatusCode.NoContent, "read all at the end");
        Assert.Equal(0, (await bob.ChatAsync(chatId)).Long("unreadCount"));
        await alice.SendTextAsync(chatId, "one more");
        Assert.Equal(1, (await bob.ChatAsync(chatId)).Long("unreadCount"));
        Assert.Equal(10, (await alice.ChatAsync(chatId)).Long("unreadCount"));
        Assert.Equal(first.Str("id"), history[0].Str("id"));
    }

    private static async Task<long> UnreadInListAsync(TestUser user, string chatId) =>
        (await user.ChatListAsync()).Single(c => c.Str("id") == chatId).Long("unreadCount");
}
