using System.Net;
using System.Text.Json;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Messages;

/// <summary>"Deleted for me" hides a message from every copy the caller reads (history and search
/// have their own tests): the chat summary's last message and unread count, /sync replays and the
/// export; the other members still see it.</summary>
public sealed class DeleteForMeTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    [Fact]
    public async Task The_chat_summary_shows_the_newest_message_still_shown_and_counts_no_hidden_one_as_unread()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        await ann.SendTextAsync(chatId, "first");
        var second = (await ann.SendTextAsync(chatId, "second, hidden by Bob")).Str("id")!;

        (await bob.Api.DeleteAsync($"/messages/{second}?for=me")).AssertStatus(HttpStatusCode.NoContent, "delete for me");

        var summary = await bob.ChatAsync(chatId);
        Assert.Equal("first", summary.GetProperty("lastMessage").Str("content"));
        Assert.Equal(1, summary.Long("unreadCount"));
        var listed = (await bob.ChatListAsync()).Single(c => c.Str("id") == chatId);
        Assert.Equal("first", listed.GetProperty("lastMessage").Str("content"));
        Assert.Equal(1, listed.Long("unreadCount"));
        // Ann still sees her message last.
        Assert.Equal("second, hidden by Bob", (await ann.ChatAsync(chatId)).GetProperty("lastMessage").Str("content"));

        // Once Bob hid every message, the chat shows none.
        var first = (await bob.HistoryAsync(chatId)).Single().Str("id")!;
        (await bob.Api.DeleteAsync($"/messages/{first}?for=me")).AssertStatus(HttpStatusCode.NoContent, "delete the other for me");
        summary = await bob.ChatAsync(chatId);
        Assert.Equal(JsonValueKind.Null, summary.GetProperty("lastMessage").ValueKind);
        Assert.Equal(0, summary.Long("unreadCount"));
    }

    [Fact]
    public async Task Sync_replays_and_the_export_leave_out_a_message_the_caller_hid()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var annStart = await ann.CurrentCursorAsync();
        var bobStart = await bob.CurrentCursorAsync();
        var chatId = await ann.OpenChatWithAsync(bob);
        var fromAnn = (await ann.SendTextAsync(chatId, "Ann words Bob hid")).Str("id")!;
        var fromBob = (await bob.SendTextAsync(chatId, "Bob words Bob hid")).Str("id")!;
        (await ann.Api.PatchAsync($"/messages/{fromAnn}", new { content = "Ann words, edited, Bob hid" })).AssertStatus(HttpStatusCode.OK, "edit");

        (await bob.Api.DeleteAsync($"/messages/{fromAnn}?for=me")).AssertStatus(HttpStatusCode.NoContent, "hide Ann's");
        (await bob.Api.DeleteAsync($"/messages/{fromBob}?for=me")).AssertStatus(HttpStatusCode.NoContent, "hide his own");

        var bobEvents = JsonSerializer.Serialize((await bob.SyncAllAsync(bobStart)).Events);
        Assert.DoesNotContain("Bob hid", bobEvents);
        Assert.Contains(chatId, bobEvents); // the chat event still comes
        await using (var socket = await bob.ConnectAsync(Server, since: bobStart))
        {
            await socket.WaitForTypeAsync("chat");
            await socket.SendAsync(new { action = "ping" });
            await socket.WaitForTypeAsync("pong");
            Assert.DoesNotContain(socket.AllFrames, f => f.Text.Contains("Bob hid"));
        }
        var bobExport = (await bob.Api.GetAsync("/users/me/export")).Json.GetRawText();
        Assert.DoesNotContain("Bob hid", bobExport);

        // Ann hid nothing: her replay and her export keep them.
        var annEvents = JsonSerializer.Serialize((await ann.SyncAllAsync(annStart)).Events);
        Assert.Contains("Ann words, edited, Bob hid", annEvents);
        Assert.Contains("Bob words Bob hid", annEvents);
        Assert.Contains("Ann words, edited, Bob hid", (await ann.Api.GetAsync("/users/me/export")).Json.GetRawText());
    }

    [Fact]
    public async Task A_hidden_messages_info_is_not_found_for_the_one_who_hid_it_only()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        var id = (await ann.SendTextAsync(chatId, "info of this")).Str("id")!;
        (await bob.Api.DeleteAsync($"/messages/{id}?for=me")).AssertStatus(HttpStatusCode.NoContent, "Bob hides it");

        (await bob.Api.GetAsync($"/messages/{id}/receipts")).AssertError(HttpStatusCode.NotFound);
        var forAnn = await ann.Api.GetAsync($"/messages/{id}/receipts");
        forAnn.AssertStatus(HttpStatusCode.OK, "Ann's message info");
        Assert.Equal(bob.Id, Assert.Single(forAnn.Json.EnumerateArray()).Str("userId"));
    }
}
