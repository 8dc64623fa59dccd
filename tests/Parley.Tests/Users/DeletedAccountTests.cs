using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Users;

/// <summary>A deleted account keeps its id (old chats and messages point at it), but is answered
/// as an unknown user wherever someone would start something new with it: a chat, a room, a group,
/// a block, a message.</summary>
public sealed class DeletedAccountTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    private static async Task DeleteAsync(TestUser user) =>
        (await user.Api.DeleteAsync("/users/me")).AssertStatus(HttpStatusCode.NoContent, "DELETE /users/me");

    [Fact]
    public async Task A_deleted_account_gets_no_new_chat_or_room_and_is_answered_as_an_unknown_user()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var gone = await ApiClient.CreateUserAsync(Server, "Gone");
        var goneToo = await ApiClient.CreateUserAsync(Server, "Gone Too");
        var existing = await ann.OpenChatWithAsync(gone);
        await DeleteAsync(gone);
        await DeleteAsync(goneToo);

        var unknown = (await ann.Api.PostAsync("/chats", new { participantId = Guid.NewGuid().ToString() })).AssertError(HttpStatusCode.NotFound);
        // Neither with a chat already there nor without one.
        Assert.Equal(unknown, (await ann.Api.PostAsync("/chats", new { participantId = gone.Id })).AssertError(HttpStatusCode.NotFound));
        Assert.Equal(unknown, (await ann.Api.PostAsync("/chats", new { participantId = goneToo.Id })).AssertError(HttpStatusCode.NotFound));
        Assert.Equal(unknown, (await ann.Api.PostAsync("/chat/rooms", new { participants = new[] { ann.Id, gone.Id } })).AssertError(HttpStatusCode.NotFound));
        Assert.Equal(unknown, (await ann.Api.PostAsync("/chat/rooms", new { participants = new[] { ann.Id, goneToo.Id } })).AssertError(HttpStatusCode.NotFound));

        // Only the chat that existed before is there, still readable.
        Assert.Equal([existing], (await ann.ChatListAsync()).Select(c => c.Str("id")!).ToList());
        await ann.ChatAsync(existing);
    }

    [Fact]
    public async Task Sending_into_a_chat_with_a_deleted_account_is_refused_and_the_history_stays_readable()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var gone = await ApiClient.CreateUserAsync(Server, "Gone");
        var chatId = await ann.OpenChatWithAsync(gone);
        await ann.SendTextAsync(chatId, "hello Gone");
        await gone.SendTextAsync(chatId, "hello Ann");
        await DeleteAsync(gone);

        var refused = await ann.Api.PostAsync($"/chats/{chatId}/messages", new { content = "are you there?" });
        var sentence = refused.AssertError(HttpStatusCode.NotFound);
        Assert.Contains("deleted", sentence, StringComparison.OrdinalIgnoreCase);
        // The chat id with the two user ids the other way round, and the rooms route, say the same.
        Assert.Equal(sentence, (await ann.Api.PostAsync($"/chats/chat_{gone.Id}_{ann.Id}/messages", new { content = "hello?" })).AssertError(HttpStatusCode.NotFound));
        Assert.Equal(sentence, (await ann.Api.PostAsync("/chat/messages", new { roomId = chatId, content = "in the room?" })).AssertError(HttpStatusCode.NotFound));

        await using var annSocket = await ann.ConnectAsync(Server);
        await annSocket.SendAsync(new { action = "sendMessage", chatId, content = "over the socket", clientMessageId = "to-gone" });
        var error = await annSocket.WaitForErrorAsync();
        Assert.Equal("to-gone", error.Str("clientMessageId"));
        Assert.Equal(sentence, error.Str("error"));
        await annSocket.ExpectNothingAsync(f => f.Type == "ack", TimeSpan.Zero, "an ack for a message to a deleted account");

        // Nothing was stored; the history is still there, the deleted sender shown as such.
        var history = await ann.HistoryAsync(chatId);
        Assert.Equal(["hello Ann", "hello Gone"], history.Select(m => m.Str("content")!).ToList());
        Assert.Equal("Deleted account", history[0].Str("senderName"));
        Assert.Equal("Ann", history[1].Str("senderName"));
        var participant = (await ann.ChatAsync(chatId)).GetProperty("participants").EnumerateArray().Single();
        Assert.Equal("Deleted account", participant.Str("name"));
    }

    [Fact]
    public async Task A_chat_id_naming_a_deleted_account_is_not_found_for_someone_outside_it()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var carl = await ApiClient.CreateUserAsync(Server, "Carl");
        var gone = await ApiClient.CreateUserAsync(Server, "Gone");
        await ann.OpenChatWithAsync(gone);
        await DeleteAsync(gone);

        var unknown = (await carl.Api.PostAsync($"/chats/{ChatHelpers.DirectChatId(carl.Id, Guid.NewGuid().ToString())}/messages", new { content = "hi" }))
            .AssertError(HttpStatusCode.NotFound);
        Assert.Equal(unknown, (await carl.Api.PostAsync($"/chats/{ChatHelpers.DirectChatId(carl.Id, gone.Id)}/messages", new { content = "hi" }))
            .AssertError(HttpStatusCode.NotFound));
        Assert.Equal(unknown, (await carl.Api.PostAsync($"/chats/{ChatHelpers.DirectChatId(ann.Id, gone.Id)}/messages", new { content = "hi" }))
            .AssertError(HttpStatusCode.NotFound));
        Assert.Empty(await carl.ChatListAsync());
    }

    [Fact]
    public async Task Sending_over_the_socket_to_a_deleted_recipient_gets_the_unknown_recipient_error_and_creates_nothing()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var gone = await ApiClient.CreateUserAsync(Server, "Gone");
        await DeleteAsync(gone);
        await using var annSocket = await ann.ConnectAsync(Server);

        await annSocket.SendAsync(new { action = "sendMessage", recipientId = Guid.NewGuid().ToString(), content = "anyone?", clientMessageId = "ghost" });
        var unknown = await annSocket.WaitForErrorAsync();
        await annSocket.SendAsync(new { action = "sendMessage", recipientId = gone.Id, content = "anyone?", clientMessageId = "gone" });
        var error = await annSocket.WaitForAsync(f => f.Type == "error" && f.Str("clientMessageId") == "gone", what: "the error for the deleted recipient");

        Assert.Equal(unknown.Str("code"), error.Str("code"));
        Assert.Equal(unknown.Str("error"), error.Str("error"));
        await annSocket.ExpectNothingAsync(f => f.Type is "ack" or "chat", TimeSpan.Zero, "an ack or a chat for a deleted recipient");
        Assert.Empty(await ann.ChatListAsync());
    }

    [Fact]
    public async Task A_deleted_account_cannot_be_put_in_a_new_or_existing_group()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var gone = await ApiClient.CreateUserAsync(Server, "Gone");
        var groupId = await ann.CreateGroupAsync("Before", bob);
        await DeleteAsync(gone);

        var unknownId = Guid.NewGuid().ToString();
        var unknown = await ann.Api.PostAsync("/groups", new { name = "x", memberIds = new[] { unknownId } });
        var unknownSentence = unknown.AssertError(unknown.Status);
        Assert.True(unknown.Status is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"got {(int)unknown.Status} {unknown.Json}");

        var created = await ann.Api.PostAsync("/groups", new { name = "x", memberIds = new[] { gone.Id } });
        Assert.Equal(unknownSentence.Replace(unknownId, gone.Id), created.AssertError(unknown.Status));
        var mixed = await ann.Api.PostAsync("/groups", new { name = "x", memberIds = new[] { bob.Id, gone.Id } });
        Assert.Equal(unknownSentence.Replace(unknownId, gone.Id), mixed.AssertError(unknown.Status));
        var added = await ann.Api.PostAsync($"/groups/{groupId}/members", new { memberIds = new[] { gone.Id } });
        Assert.Equal(unknownSentence.Replace(unknownId, gone.Id), added.AssertError(unknown.Status));

        // No group was made, and the existing one has its members only.
        Assert.Equal([groupId], (await ann.ChatListAsync()).Select(c => c.Str("id")!).ToList());
        Assert.Equal(new[] { ann.Id, bob.Id }.Order(StringComparer.Ordinal), (await ann.ChatAsync(groupId)).Strings("members").Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_deleted_account_cannot_be_blocked_but_can_be_unblocked()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var gone = await ApiClient.CreateUserAsync(Server, "Gone");
        var blockedBefore = await ApiClient.CreateUserAsync(Server, "Blocked Before");
        (await ann.Api.PostAsync($"/users/{blockedBefore.Id}/block", null)).AssertStatus(HttpStatusCode.NoContent, "block before the deletion");
        await DeleteAsync(gone);
        await DeleteAsync(blockedBefore);

        var unknown = (await ann.Api.PostAsync($"/users/{Guid.NewGuid()}/block", null)).AssertError(HttpStatusCode.NotFound);
        Assert.Equal(unknown, (await ann.Api.PostAsync($"/users/{gone.Id}/block", null)).AssertError(HttpStatusCode.NotFound));

        (await ann.Api.DeleteAsync($"/users/{gone.Id}/block")).AssertStatus(HttpStatusCode.NoContent, "unblock a deleted account");
        (await ann.Api.DeleteAsync($"/users/{blockedBefore.Id}/block")).AssertStatus(HttpStatusCode.NoContent, "unblock an account blocked before its deletion");
    }
}
