using System.Net;
using System.Text.Json;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Chats;

public sealed class ChatSettingsTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    [Fact]
    public async Task Each_member_keeps_their_own_mute_previews_pin_and_archive_and_the_chat_list_shows_them()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);

        var defaults = await ann.Api.GetAsync($"/chats/{chatId}/settings");
        defaults.AssertStatus(HttpStatusCode.OK, "GET settings");
        Assert.Equal(chatId, defaults.Json.Str("chatId"));
        Assert.False(defaults.Json.Bool("muted"));
        Assert.Equal(JsonValueKind.Null, defaults.Json.GetProperty("mutedUntil").ValueKind);
        Assert.True(defaults.Json.Bool("previews"));
        Assert.False(defaults.Json.Bool("pinned"));
        Assert.False(defaults.Json.Bool("archived"));
        Assert.Equal(0, defaults.Json.Long("disappearAfterSeconds"));

        // Ann's other device hears about her change; Bob's settings stay as they were.
        await using var annPhone = await ann.ConnectAsync(Server);
        var put = await ann.Api.PutAsync($"/chats/{chatId}/settings", new { muted = true, previews = false, pinned = true, archived = true });
        put.AssertStatus(HttpStatusCode.OK, "PUT settings");
        Assert.True(put.Json.Bool("muted"));
        Assert.Equal(JsonValueKind.Null, put.Json.GetProperty("mutedUntil").ValueKind);
        Assert.False(put.Json.Bool("previews"));
        Assert.True(put.Json.Bool("pinned"));
        Assert.True(put.Json.Bool("archived"));
        var frame = await annPhone.WaitForAsync(f => f.Type == "chat" && f.Data.TryGetProperty("settings", out var s) && s.Bool("pinned"),
            what: "a chat frame with the new settings");
        Assert.True(frame.Data.GetProperty("settings").Bool("archived"));

        var again = await ann.Api.GetAsync($"/chats/{chatId}/settings");
        Assert.True(again.Json.Bool("muted"));
        Assert.True(again.Json.Bool("pinned"));
        var summary = (await ann.ChatListAsync()).Single(c => c.Str("id") == chatId).GetProperty("settings");
        Assert.True(summary.Bool("muted"));
        Assert.True(summary.Bool("archived"));
        Assert.False(summary.Bool("previews"));
        var bobs = (await bob.ChatAsync(chatId)).GetProperty("settings");
        Assert.False(bobs.Bool("muted"));
        Assert.False(bobs.Bool("pinned"));

        // A partial change leaves the rest; a mute until a time reports that time.
        var until = DateTimeOffset.UtcNow.AddHours(8).ToUnixTimeMilliseconds();
        var timed = await ann.Api.PutAsync($"/chats/{chatId}/settings", new { muted = until });
        timed.AssertStatus(HttpStatusCode.OK, "PUT muted until");
        Assert.True(timed.Json.Bool("muted"));
        Assert.Equal(until, timed.Json.Long("mutedUntil"));
        Assert.True(timed.Json.Bool("pinned"));
        var unmuted = await ann.Api.PutAsync($"/chats/{chatId}/settings", new { muted = false, archived = false });
        Assert.False(unmuted.Json.Bool("muted"));
        Assert.False(unmuted.Json.Bool("archived"));
        Assert.True(unmuted.Json.Bool("pinned"));
    }

    [Theory]
    [InlineData("""{"muted":"yes"}""", "muted")]
    [InlineData("""{"muted":1000}""", "muted")]
    [InlineData("""{"previews":1}""", "previews")]
    [InlineData("""{"pinned":"true"}""", "pinned")]
    [InlineData("""{"archived":null}""", "archived")]
    [InlineData("""{"disappearAfterSeconds":3600}""", "disappearAfterSeconds")]
    [InlineData("""{"disappearAfterSeconds":"86400"}""", "disappearAfterSeconds")]
    [InlineData("""[true]""", "object")]
    public async Task Bad_settings_are_refused_with_a_sentence(string body, string named)
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        var response = await ann.Api.PutAsync($"/chats/{chatId}/settings", body);
        response.AssertStatus(HttpStatusCode.BadRequest, "PUT " + body);
        Assert.Contains(named, response.Error);
        var unchanged = await ann.Api.GetAsync($"/chats/{chatId}/settings");
        Assert.Equal(0, unchanged.Json.Long("disappearAfterSeconds"));
    }

    [Fact]
    public async Task Outsiders_get_404_for_a_chats_settings()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var eve = await ApiClient.CreateUserAsync(Server, "Eve");
        var chatId = await ann.OpenChatWithAsync(bob);
        (await eve.Api.GetAsync($"/chats/{chatId}/settings")).AssertStatus(HttpStatusCode.NotFound, "outsider GET");
        (await eve.Api.PutAsync($"/chats/{chatId}/settings", new { muted = true })).AssertStatus(HttpStatusCode.NotFound, "outsider PUT");
        (await eve.Api.PutAsync($"/chats/{chatId}/settings", new { disappearAfterSeconds = 86400 })).AssertStatus(HttpStatusCode.NotFound, "outsider timer");
        (await eve.Api.GetAsync("/chats/chat_nope/settings")).AssertStatus(HttpStatusCode.NotFound, "unknown chat");
        Assert.Equal(0, (await ann.Api.GetAsync($"/chats/{chatId}/settings")).Json.Long("disappearAfterSeconds"));
    }

    [Fact]
    public async Task Group_admins_set_disappearing_messages_for_everyone_with_a_system_message_and_members_cannot()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var groupId = await ann.CreateGroupAsync("Team", bob);

        var refused = await bob.Api.PutAsync($"/chats/{groupId}/settings", new { disappearAfterSeconds = 86400 });
        refused.AssertStatus(HttpStatusCode.Forbidden, "member sets the timer");
        Assert.NotNull(refused.Error);

        await using var bobSocket = await bob.ConnectAsync(Server);
        var set = await ann.Api.PutAsync($"/chats/{groupId}/settings", new { disappearAfterSeconds = 604800 });
        set.AssertStatus(HttpStatusCode.OK, "admin sets the timer");
        Assert.Equal(604800, set.Json.Long("disappearAfterSeconds"));
        var announced = await bobSocket.WaitForAsync(f => f.Type == "message" && f.Str("systemAction") == "disappearing_messages",
            what: "the system message");
        Assert.Contains("7 days", announced.Str("content"));
        Assert.Contains("Ann", announced.Str("content"));
        Assert.Equal(604800, (await bob.ChatAsync(groupId)).GetProperty("settings").Long("disappearAfterSeconds"));

        // Setting the same value again says nothing new; turning it off is announced.
        (await ann.Api.PutAsync($"/chats/{groupId}/settings", new { disappearAfterSeconds = 604800 })).AssertStatus(HttpStatusCode.OK, "same again");
        (await ann.Api.PutAsync($"/chats/{groupId}/settings", new { disappearAfterSeconds = (int?)null })).AssertStatus(HttpStatusCode.OK, "off");
        var system = (await bob.HistoryAsync(groupId)).Where(m => m.Str("systemAction") == "disappearing_messages").ToList();
        Assert.Equal(2, system.Count);
        Assert.Contains("turned off", system[0].Str("content"));
        Assert.Equal(0, (await bob.ChatAsync(groupId)).GetProperty("settings").Long("disappearAfterSeconds"));
        // Bob, a plain member, may still change his own settings.
        (await bob.Api.PutAsync($"/chats/{groupId}/settings", new { muted = true })).AssertStatus(HttpStatusCode.OK, "member mutes");
    }

    [Fact]
    public async Task Either_side_of_a_direct_chat_sets_disappearing_messages()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        (await bob.Api.PutAsync($"/chats/{chatId}/settings", new { disappearAfterSeconds = 7776000 })).AssertStatus(HttpStatusCode.OK, "bob sets");
        Assert.Equal(7776000, (await ann.Api.GetAsync($"/chats/{chatId}/settings")).Json.Long("disappearAfterSeconds"));
        var last = (await ann.ChatAsync(chatId)).GetProperty("lastMessage");
        Assert.Equal("disappearing_messages", last.Str("systemAction"));
        Assert.Contains("90 days", last.Str("content"));
    }
}
