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
}
