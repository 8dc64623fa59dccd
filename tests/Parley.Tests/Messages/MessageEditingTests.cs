using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Messages;

public sealed class MessageEditingTests
{
    [Fact]
    public async Task The_sender_edits_a_message_and_every_member_gets_messageUpdated_live_and_from_sync()
    {
        await using var server = await ParleyServer.StartAsync();
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        var original = await ann.SendTextAsync(chatId, "helo");
        var cursor = await bob.CurrentCursorAsync();
        await using var bobSocket = await bob.ConnectAsync(server);

        var edited = await ann.Api.PatchAsync($"/messages/{original.Str("id")}", new { content = "hello" });
        edited.AssertStatus(HttpStatusCode.OK, "PATCH message");
        Assert.Equal("hello", edited.Json.Str("content"));
        Assert.True(edited.Json.GetProperty("editedAt").GetInt64() > 0);

        var live = await bobSocket.WaitForAsync(f => f.Type == "messageUpdated", what: "messageUpdated");
        Assert.Equal(original.Str("id"), live.Str("id"));
        Assert.Equal("hello", live.Str("content"));

        var synced = await bob.SyncAllAsync(cursor);
        var update = Assert.Single(synced.Events, e => e.Str("type") == "messageUpdated");
        Assert.Equal("hello", update.GetProperty("data").Str("content"));
        Assert.Equal("hello", (await bob.HistoryAsync(chatId)).Single().Str("content"));
    }

    [Fact]
    public async Task Only_the_sender_may_edit_or_delete_for_everyone_and_outsiders_get_404()
    {
        await using var server = await ParleyServer.StartAsync();
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var eve = await ApiClient.CreateUserAsync(server, "Eve");
        var chatId = await ann.OpenChatWithAsync(bob);
        var id = (await ann.SendTextAsync(chatId, "mine")).Str("id");

        Assert.Equal(HttpStatusCode.Forbidden, (await bob.Api.PatchAsync($"/messages/{id}", new { content = "yours?" })).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await bob.Api.DeleteAsync($"/messages/{id}?for=everyone")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await eve.Api.PatchAsync($"/messages/{id}", new { content = "x" })).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await eve.Api.DeleteAsync($"/messages/{id}?for=me")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await ann.Api.PatchAsync($"/messages/{id}", new { content = "" })).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await ann.Api.DeleteAsync($"/messages/{id}?for=nobody")).Status);
        Assert.Equal("mine", (await bob.HistoryAsync(chatId)).Single().Str("content"));
    }

    [Fact]
    public async Task Delete_for_everyone_empties_the_content_for_all_and_delete_for_me_hides_it_for_the_caller_only()
    {
        await using var server = await ParleyServer.StartAsync();
        var ann = await ApiClient.CreateUserAsync(server, "Ann");
        var bob = await ApiClient.CreateUserAsync(server, "Bob");
        var chatId = await ann.OpenChatWithAsync(bob);
        var first = (await ann.SendTextAsync(chatId, "oops")).Str("id");
        var second = (await ann.SendTextAsync(chatId, "keep me")).Str("id");

        (await ann.Api.DeleteAsync($"/messages/{first}?for=everyone")).AssertStatus(HttpStatusCode.NoContent, "delete for everyone");
        var gone = (await bob.HistoryAsync(chatId)).Single(m => m.Str("id") == first);
        Assert.True(gone.GetProperty("deleted").GetBoolean());
        Assert.Null(gone.Str("content"));
        Assert.Equal(HttpStatusCode.Conflict, (await ann.Api.PatchAsync($"/messages/{first}", new { content = "back" })).Status);

        (await bob.Api.DeleteAsync($"/messages/{second}?for=me")).AssertStatus(HttpStatusCode.NoContent, "delete for me");
        Assert.DoesNotContain(await bob.HistoryAsync(chatId), m => m.Str("id") == second);
        Assert.Contains(await ann.HistoryAsync(chatId), m => m.Str("id") == second);
    }
}
