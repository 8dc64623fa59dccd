using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Compatibility;

/// <summary>Clients of the replaced backends build a 1:1 chat id themselves, in whichever order:
/// every route and frame that takes a chat id accepts both, and answers with the canonical one.</summary>
public sealed class EitherOrderChatIdTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    private static string Swapped(string a, string b) =>
        string.CompareOrdinal(a, b) < 0 ? $"chat_{b}_{a}" : $"chat_{a}_{b}";

    [Fact]
    public async Task The_first_message_to_a_new_contact_over_a_client_built_id_creates_the_chat_either_order()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var ben = await ApiClient.CreateUserAsync(Server, "Ben");
        var canonical = ChatHelpers.DirectChatId(ann.Id, ben.Id);
        await using var annSocket = await ann.ConnectAsync(Server);
        await using var benSocket = await ben.ConnectAsync(Server);

        // No chat exists yet; Ann's client names it chat_{sender}_{recipient} in the non-canonical order.
        await annSocket.SendAsync(new { action = "sendMessage", chatId = Swapped(ann.Id, ben.Id), content = "first!", clientMessageId = "e1" });
        var ack = await annSocket.WaitForAckAsync("e1");
        Assert.Equal(canonical, ack.Str("chatId"));
        var received = await benSocket.WaitForMessageAsync(canonical, "first!");
        Assert.Equal(canonical, received.Str("chatId"));

        // REST paths take either order too, and answer with the canonical id.
        var swapped = Swapped(ann.Id, ben.Id);
        var summary = await ben.Api.GetAsync($"/chats/{swapped}");
        summary.AssertStatus(HttpStatusCode.OK, "GET /chats/{swapped id}");
        Assert.Equal(canonical, summary.Json.Str("id"));
        var sent = await ben.Api.PostAsync($"/chats/{swapped}/messages", new { content = "welcome" });
        sent.AssertStatus(HttpStatusCode.Created, "POST /chats/{swapped id}/messages");
        Assert.Equal(canonical, sent.Json.Str("chatId"));
        var history = await ann.Api.GetAsync($"/chats/{swapped}/messages");
        Assert.Equal(["welcome", "first!"], history.Json.GetProperty("messages").EnumerateArray().Select(m => m.Field("content")).ToArray());
        (await ann.Api.PostAsync($"/chats/{swapped}/read", null)).AssertStatus(HttpStatusCode.NoContent, "POST /chats/{swapped id}/read");
        Assert.Equal(0, (await ann.ChatAsync(canonical)).Long("unreadCount"));
        var rooms = await ann.Api.GetAsync($"/chat/messages?roomId={swapped}");
        rooms.AssertStatus(HttpStatusCode.OK, "GET /chat/messages?roomId={swapped id}");

        // Frames: typing and markRead with the swapped id.
        await benSocket.SendAsync(new { action = "typing", chatId = swapped, isTyping = true });
        var typing = await annSocket.WaitForTypeAsync("typing");
        Assert.Equal(canonical, typing.Str("chatId"));
        await benSocket.SendAsync(new { action = "markRead", chatId = swapped });
        await annSocket.WaitForAsync(f => f.Type == "status" && f.Str("chatId") == canonical && f.Str("status") == "read", what: "read status");

        // One chat for the pair, whatever the order used.
        Assert.Single(await ann.ChatListAsync());
    }

    [Fact]
    public async Task A_swapped_id_of_someone_elses_chat_is_still_not_found()
    {
        var ann = await ApiClient.CreateUserAsync(Server);
        var ben = await ApiClient.CreateUserAsync(Server);
        var eve = await ApiClient.CreateUserAsync(Server);
        await ann.SendTextAsync(await ann.OpenChatWithAsync(ben), "secret");
        var swapped = Swapped(ann.Id, ben.Id);
        (await eve.Api.GetAsync($"/chats/{swapped}/messages")).AssertStatus(HttpStatusCode.NotFound, "GET another pair's chat");
        (await eve.Api.PostAsync($"/chats/{swapped}/messages", new { content = "hi" })).AssertStatus(HttpStatusCode.NotFound, "POST to another pair's chat");
        // A client-built id naming the caller and an unknown user is not a chat.
        var ghost = $"chat_{eve.Id}_{Guid.NewGuid()}";
        (await eve.Api.PostAsync($"/chats/{ghost}/messages", new { content = "hi" })).AssertStatus(HttpStatusCode.NotFound, "POST to a chat with nobody");
        Assert.Empty(await eve.ChatListAsync());
    }
}
