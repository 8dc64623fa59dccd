using System.Net;
using System.Text.Json;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Chats;

public sealed class DirectChatTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    [Fact]
    public async Task Creating_a_chat_answers_201_then_200_for_the_same_pair_with_the_ordinal_chat_id()
    {
        var alice = await ApiClient.CreateUserAsync(Server, "Alice");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var expectedId = ChatHelpers.DirectChatId(alice.Id, bob.Id);

        var created = await alice.Api.PostAsync("/chats", new { participantId = bob.Id });
        created.AssertStatus(HttpStatusCode.Created, "first POST /chats");
        Assert.Equal(expectedId, created.Json.Str("id"));
        Assert.False(created.Json.Bool("isGroup"));

        var again = await alice.Api.PostAsync("/chats", new { participantId = bob.Id });
        again.AssertStatus(HttpStatusCode.OK, "second POST /chats by the same user");
        Assert.Equal(expectedId, again.Json.Str("id"));

        var fromOtherSide = await bob.Api.PostAsync("/chats", new { participantId = alice.Id });
        fromOtherSide.AssertStatus(HttpStatusCode.OK, "POST /chats from the other participant");
        Assert.Equal(expectedId, fromOtherSide.Json.Str("id"));

        // Only one chat exists for the pair, on both sides.
        Assert.Single(await alice.ChatListAsync(), c => c.Str("id") == expectedId);
        Assert.Single(await bob.ChatListAsync(), c => c.Str("id") == expectedId);
    }

    [Fact]
    public async Task The_other_participant_learns_about_a_new_chat_live_and_through_sync()
    {
        var alice = await ApiClient.CreateUserAsync(Server, "Alice");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var bobCursor = await bob.CurrentCursorAsync();
        await using var bobSocket = await bob.ConnectAsync(Server);

        var chatId = await alice.OpenChatWithAsync(bob);
        var frame = await bobSocket.WaitForAsync(f => f.Type == "chat" && f.Str("id") == chatId, what: "the chat frame");
        Assert.False(frame.Data.Bool("isGroup"));
        Assert.NotNull(frame.Cursor);
        Assert.Contains(frame.Data.GetProperty("participants").EnumerateArray(), p => p.Str("id") == alice.Id);

        var sync = await bob.SyncAllAsync(bobCursor);
        Assert.Contains(sync.Events, e => e.Str("type") == "chat" && e.GetProperty("data").Str("id") == chatId);

        // Opening it again is not news.
        await alice.OpenChatWithAsync(bob);
        await bobSocket.ExpectNothingAsync(f => f.Type == "chat", what: "a second chat frame for the same chat");
    }

    [Fact]
    public async Task A_chat_summary_lists_the_other_participant_and_both_members_and_starts_empty()
    {
        var alice = await ApiClient.CreateUserAsync(Server, "Alice Liddell");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob Builder");
        var chatId = await alice.OpenChatWithAsync(bob);

        var summary = await bob.ChatAsync(chatId);
        Assert.Equal(chatId, summary.Str("id"));
        Assert.False(summary.Bool("isGroup"));
        // participants: the other member only (front ends title the chat with participants[0]).
        var participants = summary.GetProperty("participants").EnumerateArray().ToList();
        var aliceEntry = Assert.Single(participants);
        Assert.Equal(alice.Id, aliceEntry.Str("id"));
        Assert.Equal(new[] { alice.Id, bob.Id }.Order(StringComparer.Ordinal), summary.Strings("members").Order(StringComparer.Ordinal));
        Assert.Equal(bob.Id, Assert.Single((await alice.ChatAsync(chatId)).GetProperty("participants").EnumerateArray()).Str("id"));
        Assert.Equal("Alice Liddell", aliceEntry.Str("name"));
        Assert.Equal(alice.Email, aliceEntry.Str("email"));
        Assert.Equal(JsonValueKind.Null, summary.GetProperty("lastMessage").ValueKind);
        Assert.Equal(0, summary.Long("unreadCount"));
    }

    [Fact]
    public async Task Creating_a_chat_with_an_unknown_user_is_refused()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var response = await alice.Api.PostAsync("/chats", new { participantId = Guid.NewGuid().ToString() });
        Assert.True(response.Status is HttpStatusCode.NotFound or HttpStatusCode.BadRequest, $"got {(int)response.Status} {response.Json}");
        Assert.NotNull(response.Error);
        Assert.Empty(await alice.ChatListAsync());
    }

    [Fact]
    public async Task Creating_a_chat_without_a_participant_is_a_bad_request()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var response = await alice.Api.PostAsync("/chats", new { });
        response.AssertStatus(HttpStatusCode.BadRequest, "POST /chats {}");
        Assert.NotNull(response.Error);
    }

    [Fact]
    public async Task Chat_endpoints_need_a_token()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        var anonymous = Server.Api();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/chats")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"/chats/{chatId}/messages")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync($"/chats/{chatId}/messages", new { content = "hi" })).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/sync")).Status);
        Assert.Empty(await alice.HistoryAsync(chatId));
    }
}
