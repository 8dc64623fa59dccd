using System.Net;
using Parley.Tests.Infrastructure;

namespace Parley.Tests.Groups;

/// <summary>A member's history starts when they (last) joined: what was sent before, or while they
/// were out, reaches them by no other route either: not its edits (live or from /sync), nor a quote
/// in a reply of theirs.</summary>
public sealed class RejoinedMemberTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ParleyServer Server => shared.Server;

    [Fact]
    public async Task A_member_added_again_gets_no_edit_of_what_was_sent_before_they_rejoined_live_or_from_sync()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var groupId = await ann.CreateGroupAsync("Revolving door", bob);
        var whileIn = (await ann.SendTextAsync(groupId, "while bob is in")).Str("id")!;
        (await ann.Api.DeleteAsync($"/groups/{groupId}/members/{bob.Id}")).AssertStatus(HttpStatusCode.OK, "remove bob");
        var whileOut = (await ann.SendTextAsync(groupId, "while bob is out")).Str("id")!;
        (await ann.Api.PostAsync($"/groups/{groupId}/members", new { memberIds = new[] { bob.Id } })).AssertStatus(HttpStatusCode.OK, "add bob back");
        var cursor = await bob.CurrentCursorAsync();
        await using var socket = await bob.ConnectAsync(Server);

        (await ann.Api.PatchAsync($"/messages/{whileOut}", new { content = "edited while out text" })).AssertStatus(HttpStatusCode.OK, "edit the one sent while out");
        (await ann.Api.PatchAsync($"/messages/{whileIn}", new { content = "edited while in text" })).AssertStatus(HttpStatusCode.OK, "edit the one of the first membership");
        (await ann.Api.DeleteAsync($"/messages/{whileOut}?for=everyone")).AssertStatus(HttpStatusCode.NoContent, "delete the one sent while out");
        var after = await ann.SendTextAsync(groupId, "bob is back");

        // The message after them comes, so anything sent before it would have come first.
        await socket.WaitForMessageAsync(groupId, "bob is back");
        Assert.DoesNotContain(socket.AllFrames, f => f.Type == "messageUpdated");
        var synced = (await bob.SyncAllAsync(cursor)).Events;
        Assert.DoesNotContain(synced, e => e.Str("type") == "messageUpdated");
        Assert.Contains(synced, e => e.Str("type") == "message" && e.GetProperty("data").Str("id") == after.Str("id"));
        // Ann, a member all along, got them.
        Assert.Equal(3, (await ann.SyncAllAsync(cursor)).Events.Count(e => e.Str("type") == "messageUpdated"));
    }

    [Fact]
    public async Task A_member_cannot_quote_a_message_sent_before_they_joined()
    {
        var ann = await ApiClient.CreateUserAsync(Server, "Ann");
        var bob = await ApiClient.CreateUserAsync(Server, "Bob");
        var cat = await ApiClient.CreateUserAsync(Server, "Cat");
        var groupId = await ann.CreateGroupAsync("Revolving door", bob);
        var whileIn = (await ann.SendTextAsync(groupId, "while bob is in")).Str("id")!;
        (await ann.Api.DeleteAsync($"/groups/{groupId}/members/{bob.Id}")).AssertStatus(HttpStatusCode.OK, "remove bob");
        var whileOut = (await ann.SendTextAsync(groupId, "while bob is out")).Str("id")!;
        (await ann.Api.PostAsync($"/groups/{groupId}/members", new { memberIds = new[] { bob.Id, cat.Id } })).AssertStatus(HttpStatusCode.OK, "add bob back and cat");

        foreach (var (who, quoted) in new[] { (bob, whileOut), (bob, whileIn), (cat, whileOut) })
        {
            var reply = await who.Api.PostAsync($"/chats/{groupId}/messages", new { content = "what was that?", replyTo = quoted });
            reply.AssertStatus(HttpStatusCode.BadRequest, $"{who.Name} quotes a message sent before they joined");
            Assert.Equal("replyTo does not name a message in this chat.", reply.Error);
        }
        await using var socket = await cat.ConnectAsync(Server);
        await socket.SendAsync(new { action = "sendMessage", chatId = groupId, content = "and over the socket?", replyTo = whileOut, clientMessageId = "c-quote" });
        Assert.Equal("bad_request", (await socket.WaitForErrorAsync()).Str("code"));

        Assert.DoesNotContain(await bob.HistoryAsync(groupId), m => m.TryGetProperty("quote", out _));
        // A message sent since they joined they quote as before.
        var now = (await ann.SendTextAsync(groupId, "welcome back")).Str("id")!;
        var fine = await bob.Api.PostAsync($"/chats/{groupId}/messages", new { content = "thanks", replyTo = now });
        fine.AssertStatus(HttpStatusCode.Created, "quote a message sent since");
        Assert.Equal("welcome back", fine.Json.GetProperty("quote").Str("content"));
    }
}
