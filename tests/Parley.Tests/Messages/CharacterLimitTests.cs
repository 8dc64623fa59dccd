using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Messages;

/// <summary>The 4,096-character limit on message text counts characters as a person (or a client
/// in most languages) does: an emoji, two UTF-16 units, is one character. The same over REST, the
/// WebSocket and edits; quotes are cut by characters too, never inside an emoji.</summary>
public sealed class CharacterLimitTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private const string TooLong = "content must be at most 4096 characters.";

    private ParleyServer Server => shared.Server;

    [Theory]
    [InlineData("x")]
    [InlineData(Texts.Emoji)]
    public async Task Sending_4096_characters_over_REST_is_accepted_and_4097_are_refused(string character)
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);

        var tooLong = await alice.Api.PostAsync($"/chats/{chatId}/messages", new { content = Texts.Repeat(character, 4097) });
        Assert.Equal(TooLong, tooLong.AssertError(HttpStatusCode.BadRequest));

        var longest = Texts.Repeat(character, 4096);
        Assert.Equal(longest, (await alice.SendTextAsync(chatId, longest)).Str("content"));
        Assert.Equal(longest, Assert.Single(await bob.HistoryAsync(chatId)).Str("content"));
    }

    [Theory]
    [InlineData("x")]
    [InlineData(Texts.Emoji)]
    public async Task Sending_4096_characters_over_the_WebSocket_is_accepted_and_4097_get_a_bad_request_frame(string character)
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        await using var socket = await alice.ConnectAsync(Server);

        await socket.SendAsync(new { action = "sendMessage", chatId, content = Texts.Repeat(character, 4097), clientMessageId = "too-long" });
        var error = await socket.WaitForErrorAsync();
        Assert.Equal("too-long", error.Str("clientMessageId"));
        Assert.Equal("bad_request", error.Str("code"));
        Assert.Equal(TooLong, error.Str("error"));

        var longest = Texts.Repeat(character, 4096);
        await socket.SendAsync(new { action = "sendMessage", chatId, content = longest, clientMessageId = "just-fits" });
        await socket.WaitForAckAsync("just-fits");
        Assert.Equal(longest, Assert.Single(await bob.HistoryAsync(chatId)).Str("content"));
    }

    [Theory]
    [InlineData("x")]
    [InlineData(Texts.Emoji)]
    public async Task Editing_to_4096_characters_is_accepted_and_to_4097_is_refused(string character)
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        var id = (await alice.SendTextAsync(chatId, "draft")).Str("id");

        var tooLong = await alice.Api.PatchAsync($"/messages/{id}", new { content = Texts.Repeat(character, 4097) });
        Assert.Equal(TooLong, tooLong.AssertError(HttpStatusCode.BadRequest));
        Assert.Equal("draft", Assert.Single(await bob.HistoryAsync(chatId)).Str("content"));

        var longest = Texts.Repeat(character, 4096);
        var edited = await alice.Api.PatchAsync($"/messages/{id}", new { content = longest });
        edited.AssertStatus(HttpStatusCode.OK, "PATCH a message to 4,096 characters");
        Assert.Equal(longest, edited.Json.Str("content"));
    }

    [Fact]
    public async Task Letters_and_emoji_together_count_one_character_each()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);

        // 4,097 UTF-16 units but 4,096 characters.
        var longest = new string('x', 4095) + Texts.Emoji;
        Assert.Equal(longest, (await alice.SendTextAsync(chatId, longest)).Str("content"));
        var tooLong = await alice.Api.PostAsync($"/chats/{chatId}/messages", new { content = new string('x', 4096) + Texts.Emoji });
        Assert.Equal(TooLong, tooLong.AssertError(HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task A_reply_quotes_the_first_100_characters_of_emoji_and_never_half_of_one()
    {
        var alice = await ApiClient.CreateUserAsync(Server);
        var bob = await ApiClient.CreateUserAsync(Server);
        var chatId = await alice.OpenChatWithAsync(bob);
        var original = (await alice.SendTextAsync(chatId, "x" + Texts.Repeat(Texts.Emoji, 150))).Str("id");

        var reply = await bob.Api.PostAsync($"/chats/{chatId}/messages", new { content = "ha", replyTo = original });
        reply.AssertStatus(HttpStatusCode.Created, "POST a reply");
        Assert.Equal("x" + Texts.Repeat(Texts.Emoji, 99), reply.Json.GetProperty("quote").Str("content"));

        // An edit of the quoted message is quoted the same way.
        const string other = "🎉";
        (await alice.Api.PatchAsync($"/messages/{original}", new { content = Texts.Repeat(other, 150) })).AssertStatus(HttpStatusCode.OK, "PATCH the quoted message");
        var stored = (await bob.HistoryAsync(chatId)).Single(m => m.Str("id") == reply.Json.Str("id"));
        Assert.Equal(Texts.Repeat(other, 100), stored.GetProperty("quote").Str("content"));
    }
}
